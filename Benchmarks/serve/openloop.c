// An open-loop HTTP/1.1 load generator for `allot serve` (docs/benchmarks.md, "Live decisions"):
// POST /v1/decide with 10 candidates (as decide.lua), a new user per request, at a FIXED rate,
// over keep-alive connections on loopback. wrk measures latency at saturation only and Debian
// has no wrk2, hence this.
//
// Request k is due at t0 + k / RATE. It is sent on an idle connection when due (or, when all
// connections are busy, as soon as one is free), and its latency runs from when it was DUE to
// when its whole response has arrived: a server that falls behind is charged for the wait of the
// requests queued behind it (no "coordinated omission", as in wrk2). A timerfd wakes the loop at
// each due time (microsecond resolution), so the generator does not spin.
//
//   cc -O2 -o openloop Benchmarks/serve/openloop.c
//   ./openloop PORT RATE SECONDS [CONNECTIONS] [PATH]
//
// Prints one line: requests sent and answered, the answered rate, non-200 answers, and the
// latency percentiles p50 p90 p99 p99.9 max in milliseconds, and the generator's own CPU time
// per request.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    int busy;
    double due;  // the in-flight request's due time
    char buf[65536];
    size_t have;
} Conn;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static char candidates[2048];
static const char *path = "/v1/decide";
static long sent = 0;

static void send_request(Conn *c, double due) {
    char body[4096], req[5120];
    int n = snprintf(body, sizeof body, "{\"user_id\":\"o%d-%ld\",\"candidates\":[%s]}", (int)getpid(), sent, candidates);
    int m = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     path, n, body);
    ssize_t off = 0;
    while (off < m) {  // a request of ~800 bytes fits the socket buffer of an idle connection
        ssize_t w = write(c->fd, req + off, m - off);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            die("write");
        }
        off += w;
    }
    c->busy = 1;
    c->due = due;
    c->have = 0;
    sent++;
}

// The length of a complete response at the start of c->buf, or 0 if it has not all arrived.
static size_t complete(Conn *c, int *status) {
    char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = end - c->buf + 4;
    long length = 0;
    for (char *p = c->buf; p < end; p++) {
        if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) length = strtol(p + 15, NULL, 10);
    }
    if (c->have < head + (size_t)length) return 0;
    *status = atoi(c->buf + 9);
    return head + length;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT RATE SECONDS [CONNECTIONS] [PATH]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[2]), seconds = atof(argv[3]);
    int nconn = argc > 4 ? atoi(argv[4]) : 32;
    if (argc > 5) path = argv[5];
    size_t off = 0;
    for (int k = 1; k <= 10; k++)
        off += snprintf(candidates + off, sizeof candidates - off, "%s{\"coupon_id\":\"c%d\",\"uplift\":%d.5,\"cost\":%d.25,\"channel\":\"push\"}",
                        k > 1 ? "," : "", k, 20 + k, 1 + k % 4);

    int ep = epoll_create1(0);
    Conn *conns = calloc(nconn, sizeof(Conn));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    for (int i = 0; i < nconn; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = (unsigned)-1};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    long total = (long)(rate * seconds);
    double *lat = malloc(sizeof(double) * (total + 1));
    long answered = 0, bad = 0, next = 0;  // next: the index of the next request to send
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now() + 0.01;
    double deadline = t0 + seconds + 5;  // at most 5 s to answer the last requests
    while (answered < total && now() < deadline) {
        // Send every request that is due, on idle connections.
        double t = now();
        for (int i = 0; i < nconn && next < total && t0 + next / rate <= t; i++) {
            if (!conns[i].busy) {
                send_request(&conns[i], t0 + next / rate);
                next++;
            }
        }
        int idle = 0;
        for (int i = 0; i < nconn && !idle; i++) idle = !conns[i].busy;
        if (next < total && idle) {  // else the next answer frees a connection (no spinning)
            double due = t0 + next / rate;
            struct itimerspec its = {0};
            its.it_value.tv_sec = (time_t)due;
            its.it_value.tv_nsec = (long)((due - (time_t)due) * 1e9);
            if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        } else {
            struct itimerspec off = {0};
            timerfd_settime(tfd, 0, &off, NULL);
        }
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        for (int e = 0; e < n; e++) {
            unsigned id = evs[e].data.u32;
            if (id == (unsigned)-1) {
                unsigned long long x;
                (void)!read(tfd, &x, sizeof x);
                continue;
            }
            Conn *c = &conns[id];
            ssize_t got = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
            if (got <= 0) {
                fprintf(stderr, "connection %u closed\n", id);
                return 2;
            }
            c->have += got;
            int status;
            size_t len = complete(c, &status);
            if (len) {
                double done = now();
                lat[answered++] = (done - c->due) * 1e3;
                if (status != 200) bad++;
                c->busy = 0;
                c->have = 0;
                // A queued request that is already due goes out on this connection at once.
                if (next < total && t0 + next / rate <= done) {
                    send_request(c, t0 + next / rate);
                    next++;
                }
            }
        }
    }
    double elapsed = now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6 +
                 (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
    qsort(lat, answered, sizeof(double), cmp);
#define P(q) (answered ? lat[(long)((q) * (answered - 1))] : 0)
    printf("sent %ld answered %ld rate %.0f/s non200 %ld p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f ms generator %.1f us/request\n",
           sent, answered, answered / elapsed, bad, P(0.5), P(0.9), P(0.99), P(0.999), answered ? lat[answered - 1] : 0,
           answered ? cpu / answered * 1e6 : 0);
    return answered < total ? 1 : 0;
}
