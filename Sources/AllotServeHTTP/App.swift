import AllotCore
import AllotServe
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Prometheus

/// The HTTP face of a `LiveService` (docs/serve.md): thin, all rules are in AllotServe.
public struct ServeHTTP: Sendable {
    public let service: LiveService
    public let registry: PrometheusCollectorRegistry
    public let bodyLimit: Int
    let decisions: Counter
    let refused: Counter
    let latency: DurationHistogram

    /// Which parser reads a decision request: the server's (`RequestParser`), or Foundation's
    /// `JSONSerialization` for the benchmark that compares them (docs/benchmarks.md).
    public enum Parser: String, Sendable, CaseIterable {
        case schema
        case foundation
    }
    public let parser: Parser

    public init(service: LiveService, bodyLimit: Int = 1 << 20, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                parser: Parser = .schema) {
        self.parser = parser
        self.service = service
        self.bodyLimit = bodyLimit
        self.registry = registry
        decisions = registry.makeCounter(name: "allot_decisions_total", help: "Decisions answered.")
        refused = registry.makeCounter(name: "allot_bad_requests_total", help: "Requests refused with a 400.")
        latency = registry.makeDurationHistogram(
            name: "allot_decide_seconds",
            buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                      .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(50)],
            help: "Time to decide one request (parsing, decision, journal), in the server.")
    }

    /// The routes: POST /v1/decide, /v1/decide-batch, /v1/snapshot; GET /health, /metrics,
    /// /v1/multipliers.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/decide") { request, _ -> Response in
            try await self.answer(request) { body in
                let r = self.parser == .schema ? try DecideRequest.parse(bytes: body) : try DecideRequest.parseWithFoundation(Data(body))
                let text = try self.service.decide(r)
                self.decisions.increment()
                return text
            }
        }
        router.post("/v1/decide-batch") { request, _ -> Response in
            try await self.answer(request) { body in
                let rs = try DecideRequest.parseBatch(bytes: body)
                let text = try self.service.decideBatch(rs)
                self.decisions.increment(by: Int64(rs.count))
                return text
            }
        }
        router.post("/v1/snapshot") { request, _ -> Response in
            try await self.answer(request) { body in
                let snapshot: Snapshot
                do { snapshot = try Snapshot.parse(Data(body), file: "snapshot") } catch let e as InputError { throw DecisionError(e.description) }
                self.service.reload(snapshot)
                return "{\"snapshot\":\"\(snapshot.version)\"}"
            }
        }
        router.get("/health") { _, _ -> Response in
            Self.json(.ok, "{\"status\":\"ok\",\"snapshot\":\"\(self.service.snapshotVersion)\"}")
        }
        router.get("/v1/multipliers") { _, _ -> Response in
            let m = self.service.engine.multipliers(at: self.service.clock())
            let body: [String: Any] = ["budgets": m.budgets, "coupons": m.coupons, "snapshot": self.service.snapshotVersion]
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            return Self.json(.ok, String(decoding: data, as: UTF8.self))
        }
        router.get("/metrics") { _, _ -> Response in
            self.updateGauges()
            var out: [UInt8] = []
            self.registry.emit(into: &out)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: out)))
        }
        return router
    }

    func updateGauges() {
        let state = service.engine.currentState
        let snapshot = service.engine.currentSnapshot
        let m = service.engine.multipliers(at: service.clock())
        for b in snapshot.budgets {
            registry.makeGauge(name: "allot_spend", labels: [("budget", b.name)]).set(state.spend[b.name, default: 0])
            registry.makeGauge(name: "allot_limit", labels: [("budget", b.name)]).set(b.limit)
            registry.makeGauge(name: "allot_multiplier", labels: [("budget", b.name)]).set(m.budgets[b.name] ?? 0)
        }
        for (c, v) in m.coupons.sorted(by: { $0.key < $1.key }) {
            registry.makeGauge(name: "allot_coupon_multiplier", labels: [("coupon", c)]).set(v)
        }
        registry.makeGauge(name: "allot_assignments").set(Double(state.assignments))
    }

    /// Collects the body (up to the limit) and answers with `body`'s JSON over its bytes, or a
    /// 400 with the one-line error.
    func answer(_ request: Request, _ body: (UnsafeRawBufferPointer) throws -> String) async throws -> Response {
        let start = ContinuousClock.now
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: bodyLimit)
        } catch {
            refused.increment()
            return Self.json(.badRequest, DecideRequest.error("the body is over the limit of \(bodyLimit) bytes"))
        }
        do {
            let text = try buffer.withUnsafeReadableBytes { try body($0) }
            latency.record(ContinuousClock.now - start)
            var out = ByteBuffer()
            out.reserveCapacity(text.utf8.count + 1)
            out.writeString(text)
            out.writeInteger(UInt8(ascii: "\n"))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out))
        } catch let e as DecisionError {
            refused.increment()
            return Self.json(.badRequest, DecideRequest.error(e.message))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The benchmark's reference (docs/benchmarks.md): a bare handler that parses the same JSON
    /// body with the same parser (`RequestParser`) and echoes it (the body's own bytes), with no
    /// decision, journal or metrics.
    ///
    /// It once wrote the parsed request back as JSON (`DecideRequest.echo`): printing its 20
    /// numbers in shortest form cost more than a decision and its journal line (78,000 against
    /// 47,000 instructions a request), so the "bare" reference was slower than the server.
    public static func echoRouter(bodyLimit: Int) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/decide") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: bodyLimit)
            do {
                _ = try buffer.withUnsafeReadableBytes { try DecideRequest.parse(bytes: $0) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
            } catch let e as DecisionError {
                return json(.badRequest, DecideRequest.error(e.message))
            }
        }
        return router
    }

    /// Makes NIO's event loops (Hummingbird's) Swift Concurrency's global executor, so that a
    /// request's handler runs on the loop that read it, with no hop to another thread and back
    /// (docs/benchmarks.md, "Live decisions"). Call once, from the main thread, before any task
    /// starts; false when it could not be installed (the server then runs as it would without).
    /// - Parameter threads: the number of event loops (threads); nil: one per core.
    @discardableResult
    public static func runHandlersOnTheEventLoops(threads: Int? = nil) -> Bool {
        if let threads { NIOSingletons.groupLoopCountSuggestion = threads }
        return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// The application, template-style: the router on `host:port` over HTTP/1.1, each
    /// connection's task on its channel's event loop (`EventLoopExecutor`), graceful shutdown
    /// on SIGTERM and SIGINT when run with `runService()`.
    public func buildApplication(host: String, port: Int, logger: Logger? = nil, echo: Bool = false,
                                 onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let log = logger ?? Logger(label: "allot-serve") { ServerLogHandler(label: $0) }
        let group = MultiThreadedEventLoopGroup.singleton
        return Application(router: echo ? Self.echoRouter(bodyLimit: bodyLimit) : buildRouter(), server: .http1OnTheChannelsLoop(group: group),
                           configuration: .init(address: .hostname(host, port: port), serverName: "allot"),
                           onServerRunning: { await onServerRunning($0.localAddress?.port ?? port) }, eventLoopGroupProvider: .shared(group), logger: log)
    }
}
