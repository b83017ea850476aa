import AllotTestSupport
import Foundation
import Testing

private let scores = """
    user_id,coupon_id,uplift,cost
    u1,c1,10,4
    u1,c2,6,2
    u2,c1,8,5
    u2,c2,1,1

    """

private func temporaries(_ dir: TemporaryDirectory) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix(".allot-tmp") }
}

/// Regression tests of issue 11 (docs/reliability.md), as a user runs the binary.
@Suite struct ReliabilityCLITests {
    /// Finding 1: numbers of 9.2e16 and more are printed, not a crash; the outputs are written.
    @Test func hugeNumbersDoNotCrash() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "1e17", "--out", "a.csv", "--summary", "sum.json"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("spend 9.00 of 1e+17"))
        #expect(dir.read("a.csv") == "user_id,coupon_id,uplift,cost\nu1,c1,10.0,4.0\nu2,c1,8.0,5.0\n")
        try dir.write("big.csv", "user_id,coupon_id,uplift,cost\n" + (1...20).map { "u\($0),c,5e15,1\n" }.joined())
        let big = try AllotBinary.run(["solve", "big.csv", "--no-budget", "--out", "b.csv"], in: dir.url)
        #expect(big.status == 0, "\(big.stderr)")
        #expect(big.stderr.hasPrefix("dual: objective 1e+17, optimal, 20 assignments to 20 users"))
    }

    /// Finding 2: a symbolic link, a FIFO or a device as --out is refused and left alone.
    @Test func specialDestinationsAreRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("target.csv", "target\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.csv"), withDestinationPath: "target.csv")
        #expect(mkfifo(dir.path("fifo"), 0o644) == 0)
        let link = try AllotBinary.run(["solve", "s.csv", "--budget", "5", "--out", "link.csv"], in: dir.url)
        #expect(link.status == 1)
        #expect(link.stderr == "allot: error: link.csv: cannot write output: it is a symbolic link; Allot replaces only regular files (name the link's target instead)\n")
        #expect(dir.read("target.csv") == "target\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path("link.csv")) == "target.csv")
        // Only against the real device: never write to a /dev/null that something else broke.
        var device = stat()
        try #require(lstat("/dev/null", &device) == 0 && (device.st_mode & S_IFMT) == S_IFCHR, "/dev/null is not a device here")
        for path in ["fifo", "/dev/null"] {
            let r = try AllotBinary.run(["solve", "s.csv", "--budget", "5", "--out", path], in: dir.url)
            #expect(r.status == 1)
            #expect(r.stderr == "allot: error: \(path): cannot write output: it is not a regular file (a device, FIFO or socket); name a regular file, or '-' for standard output\n")
        }
        var st = stat()
        #expect(lstat(dir.path("fifo"), &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
        #expect(try temporaries(dir).isEmpty)
    }

    /// Finding 3: the summary names the allocation's SHA-256 and rows; with the disk full (a
    /// file-size limit) while writing, neither old output is replaced.
    @Test func outputsAreCommittedTogether() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let g = try AllotBinary.run(["generate", "--users", "2000", "--coupons", "3", "--seed", "1", "--out", "s.csv"], in: dir.url)
        #expect(g.status == 0)
        let ok = try AllotBinary.run(["solve", "s.csv", "--budget", "1e6", "--out", "a.csv", "--summary", "sum.json"], in: dir.url)
        #expect(ok.status == 0, "\(ok.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(dir.read("sum.json")!.utf8)) as! [String: Any]
        let allocation = try #require(dir.read("a.csv"))
        #expect(summary["allocation_rows"] as? Int == allocation.split(separator: "\n").count - 1)
        #expect(summary["allocation_sha256"] as? String == (try sha256sum(dir.path("a.csv"))))
        try dir.write("a.csv", "old allocation\n")
        try dir.write("sum.json", "old summary\n")
        // 16 KiB at most per file: the allocation (about 60 KiB) cannot be written.
        let full = try AllotBinary.run(["-c", "ulimit -f 16; exec \"$0\" solve s.csv --budget 1e6 --out a.csv --summary sum.json",
                                        AllotBinary.url.path], in: dir.url, executable: "/bin/sh")
        #expect(full.status == 1)
        #expect(full.stderr == "allot: error: a.csv: cannot write output: File too large\n")
        #expect(dir.read("a.csv") == "old allocation\n")
        #expect(dir.read("sum.json") == "old summary\n")
        #expect(try temporaries(dir).isEmpty)
    }

    /// Finding 4: SIGINT or SIGTERM while the outputs are being committed removes the temporary
    /// files, leaves the old outputs, and the process still dies of the signal.
    @Test(arguments: [SIGINT, SIGTERM])
    func signalsRemoveTemporaryFiles(signal: Int32) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "old allocation\n")
        let process = Process()
        process.executableURL = AllotBinary.url
        process.arguments = ["solve", "s.csv", "--budget", "5", "--out", "a.csv", "--summary", "sum.json"]
        process.currentDirectoryURL = dir.url
        process.environment = ["ALLOT_TEST_PAUSE_BEFORE_RENAME": "30"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for both temporary files, then signal.
        let began = Date()
        while try temporaries(dir).count < 2 && Date().timeIntervalSince(began) < 60 { usleep(20_000) }
        #expect(try temporaries(dir).count == 2)
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == signal)
        #expect(try temporaries(dir).isEmpty)
        #expect(dir.read("a.csv") == "old allocation\n")
        #expect(!dir.exists("sum.json"))
    }

    /// Finding 5: a field holding a line break is escaped in the one-line message.
    @Test func messagesStayOnOneLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", "user_id,coupon_id,uplift,cost\nu1,c1,\"1\r\n2\",1\n")
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "1"], in: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr == "allot: error: s.csv:2:7: '1\\r\\n2' in column 'uplift' is not a number\n")
    }

    /// Finding 6: --json to a standard output that fails (a full device) exits 1.
    @Test func failingStandardOutputExitsOne() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "user_id,coupon_id\nu1,c1\n")
        for args in [["solve", "s.csv", "--budget", "5", "--json"], ["evaluate", "s.csv", "a.csv", "--json"], ["evaluate", "s.csv", "a.csv"]] {
            let r = try AllotBinary.run(args, in: dir.url, stdout: "/dev/full")
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.hasSuffix("allot: error: <stdout>: cannot write output: No space left on device\n"), "\(r.stderr)")
        }
    }

    /// Finding 7: duplicate keys, a gap out of range and a huge max_per_user, each with the
    /// right message.
    @Test(arguments: [
        (["--spec", "dup.json"], 1, "allot: error: dup.json:1:35: key 'limit' repeats within one object\n"),
        (["--spec", "huge.json"], 1, "allot: error: huge.json: 'max_per_user' is 1e+20; it must be at most 2^53 = 9007199254740992 in magnitude\n"),
        (["--budget", "5", "--gap", "nan"], 64, "Error: --gap is nan; it must be a number in [0, 1)\n"),
        (["--budget", "5", "--gap=-0.1"], 64, "Error: --gap is -0.1; it must be a number in [0, 1)\n"),
        (["--budget", "5", "--time-limit", "0"], 64, "Error: --time-limit is 0.0; it must be a finite number of seconds > 0\n"),
        (["--budget", "5", "--threads", "0"], 64, "Error: --threads is 0; it must be a whole number from 1 to 4096\n"),
    ] as [([String], Int32, String)])
    func validation(args: [String], status: Int32, message: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("dup.json", #"{"budgets":[{"name":"b","limit":5,"limit":6}]}"#)
        try dir.write("huge.json", #"{"budgets":[{"limit":5}],"max_per_user":1e20}"#)
        let r = try AllotBinary.run(["solve", "s.csv", "--out", "a.csv"] + args, in: dir.url)
        #expect(r.status == status)
        #expect(r.stderr.hasPrefix(message), "\(r.stderr)")
        #expect(!dir.exists("a.csv"))
    }

    /// Finding 8: an output naming an input or another output is a usage error before any work.
    @Test(arguments: [
        ["solve", "s.csv", "--budget", "5", "--out", "s.csv"],
        ["solve", "s.csv", "--budget", "5", "--out", "./a.csv", "--summary", "a.csv"],
        ["solve", "s.csv", "--spec", "spec.json", "--summary", "spec.json"],
        ["solve", "s.csv", "--budget", "5", "--out", "link.csv"],
        ["export", "s.csv", "--spec", "spec.json", "--out", "spec.json"],
        ["frontier", "s.csv", "--budgets", "1,2", "--csv", "f.csv", "--svg", "./f.csv"],
        ["bench", "--scores", "s.csv", "--budget", "5", "--out", "s.csv"],
    ])
    func overwritingIsAUsageError(args: [String]) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("spec.json", #"{"budgets":[{"limit":5}]}"#)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.csv"), withDestinationPath: "s.csv")
        let r = try AllotBinary.run(args, in: dir.url)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("is the input") || r.stderr.contains("are the same file"), "\(r.stderr)")
        #expect(dir.read("s.csv") == scores)
        #expect(dir.read("spec.json") == #"{"budgets":[{"limit":5}]}"#)
        #expect(!dir.exists("a.csv") && !dir.exists("f.csv"))
    }

    /// Finding 9: no budget anywhere is a usage error unless --no-budget says so.
    @Test func noBudgetNeedsToBeExplicit() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("caps.json", #"{"max_per_user":1}"#)
        let none = try AllotBinary.run(["solve", "s.csv"], in: dir.url)
        #expect(none.status == 64)
        #expect(none.stderr.hasPrefix("Error: no budget: give --budget, budgets in --spec, or --no-budget to allocate without any\n"))
        #expect(none.stdout == "")
        let spec = try AllotBinary.run(["solve", "s.csv", "--spec", "caps.json"], in: dir.url)
        #expect(spec.status == 64)
        #expect(spec.stderr == "allot: error: no budget: give --budget, budgets in --spec, or --no-budget to allocate without any (caps.json names none)\n")
        let both = try AllotBinary.run(["solve", "s.csv", "--budget", "1", "--no-budget"], in: dir.url)
        #expect(both.status == 64)
        let explicit = try AllotBinary.run(["solve", "s.csv", "--no-budget", "--spec", "caps.json"], in: dir.url)
        #expect(explicit.status == 0)
        #expect(explicit.stdout == "user_id,coupon_id,uplift,cost\nu1,c1,10.0,4.0\nu2,c1,8.0,5.0\n")
    }

    /// Finding 14: an allocation that fails verification exits 3 and writes nothing.
    @Test func failedVerificationWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "previous\n")
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "5", "--out", "a.csv", "--summary", "sum.json"], in: dir.url,
                                    environment: ["ALLOT_TEST_BREAK_ALLOCATION": "1"])
        #expect(r.status == 3)
        #expect(r.stderr.hasPrefix("allot: error: the dual allocation fails verification; nothing was written:\n"))
        #expect(r.stderr.contains("budget 'budget': spend 12.0 exceeds limit 5.0"))
        #expect(dir.read("a.csv") == "previous\n")
        #expect(!dir.exists("sum.json"))
        #expect(try temporaries(dir).isEmpty)
    }
}

private func sha256sum(_ path: String) throws -> String {
    let r = try AllotBinary.run([path], executable: "/usr/bin/sha256sum")
    return String(r.stdout.prefix(64))
}
