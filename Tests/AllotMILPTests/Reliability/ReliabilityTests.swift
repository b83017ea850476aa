@testable import AllotMILP
import Allot
import AllotTestSupport
import Foundation
import Testing

/// Regression tests of issue 11 that need no process: option ranges, the spec's validation,
/// messages, the atomic commit, SHA-256, MILP bounds and time limits.
@Suite struct OptionRangeTests {
    @Test func defaultsAreInRange() throws {
        try SolveOptions().validate()
    }

    /// Finding 7: each option out of range throws `InvalidOption` (naming it) instead of trapping.
    static func outOfRange(_ option: String) -> SolveOptions {
        var o = SolveOptions()
        switch option {
        case "dual.gapCheckInterval": o.dual.gapCheckInterval = 0
        case "dual.maxSweeps": o.dual.maxSweeps = 0
        case "dual.relaxation": o.dual.relaxation = 2
        case "dual.sweepTolerance": o.dual.sweepTolerance = .nan
        case "dual.subgradientSteps": o.dual.subgradientSteps = -1
        case "dual.targetGap": o.dual.targetGap = -1e-3
        case "milp.relativeGap": o.milp.relativeGap = .nan
        case "milp.timeLimit": o.milp.timeLimit = 0
        case "timeLimit": o.timeLimit = .infinity
        case "threads": o.threads = 0
        case "polishUsers": o.polishUsers = 0
        default: break
        }
        return o
    }

    @Test(arguments: ["dual.gapCheckInterval", "dual.maxSweeps", "dual.relaxation", "dual.sweepTolerance",
                      "dual.subgradientSteps", "dual.targetGap", "milp.relativeGap", "milp.timeLimit", "timeLimit",
                      "threads", "polishUsers"])
    func outOfRangeThrows(option: String) throws {
        let options = Self.outOfRange(option)
        let problem = RandomProblem().make(seed: 1)
        for name in ["dual", "milp-glpk", "dual+milp", "greedy-marginal"] {
            let method = try #require(MethodRegistry.standard.method(named: name))
            #expect(throws: InvalidOption.self) { try solve(problem, method: method, options: options) }
            #expect(throws: InvalidOption.self) { try method.solve(problem, options: options) }
        }
        do {
            try options.validate()
            Issue.record("\(option) passed")
        } catch let error as InvalidOption {
            #expect(error.option == option)
        }
    }

    @Test func backendsCheckTheirOptions() throws {
        var model = MILPModel()
        model.objective = [1]
        model.columnNames = ["a"]
        for name in backends {
            #expect(throws: InvalidOption(option: "milp.relativeGap", value: "-1.0", requirement: "a number in [0, 1)")) {
                try backend(name).solve(model, options: MILPOptions(relativeGap: -1), start: nil)
            }
        }
    }
}

@Suite struct SpecValidationTests {
    func message(_ json: String) -> String? {
        do {
            _ = try AllocationSpec.parse(InputBytes(name: "spec.json", text: json))
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Finding 7: a key repeated within one object is an error, with its line and column.
    @Test func duplicateKeysAreRefused() {
        #expect(message(#"{"max_per_user":1,"max_per_user":2}"#) == "spec.json:1:19: key 'max_per_user' repeats within one object")
        #expect(message("{\"budgets\":[{\"name\":\"a\",\n \"limit\":1,\"limit\":2}]}") == "spec.json:2:12: key 'limit' repeats within one object")
        // The same key spelled with an escape is the same key.
        #expect(message(#"{"min_roi":1,"min_\u0072oi":2}"#) == "spec.json:1:14: key 'min_roi' repeats within one object")
        // The same key in two objects is fine.
        #expect(message(#"{"budgets":[{"name":"a","limit":1},{"name":"b","limit":2}],"coupon_caps":{"name":1}}"#) == nil)
    }

    /// Finding 7: a huge `max_per_user` is refused for being too large, not for not being whole.
    @Test func hugeCountsAreRefusedForTheRightReason() throws {
        #expect(message(#"{"max_per_user":1e20}"#) == "spec.json: 'max_per_user' is 1e+20; it must be at most 2^53 = 9007199254740992 in magnitude")
        #expect(message(#"{"coupon_caps":{"c":1e300}}"#) == "spec.json: coupon_caps['c'] is 1e+300; it must be at most 2^53 = 9007199254740992 in magnitude")
        #expect(message(#"{"max_per_user":1.5}"#) == "spec.json: 'max_per_user' must be a whole number")
        let spec = try AllocationSpec.parse(InputBytes(name: "spec.json", text: #"{"max_per_user":1e15}"#))
        #expect(spec.maxPerUser == 1_000_000_000_000_000)
    }

    /// Finding 5: messages quoting a field with a line break stay on one line.
    @Test func controlCharactersAreEscaped() {
        let error = InputError(file: "s.csv", line: 2, column: 7, "'1\r\n2\u{7}' in column 'uplift' is not a number")
        #expect(error.description == "s.csv:2:7: '1\\r\\n2\\u{7}' in column 'uplift' is not a number")
        #expect(escapingControlCharacters("tab\there") == "tab\\there")
        #expect(escapingControlCharacters("plain 'ü'") == "plain 'ü'")
    }
}

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Any split of the input into updates gives the one-shot digest (block edges 55, 56, 64).
    @Test func updatesInPiecesAgree() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 128, 200] {
            let data = Array(bytes.prefix(length))
            for cut in [0, 1, 7, 64, length / 2] where cut <= length {
                var h = SHA256()
                h.update(Array(data[..<cut]))
                h.update(Array(data[cut...]))
                #expect(h.finalize() == { var one = SHA256(); one.update(data); return one.finalize() }())
            }
        }
    }
}

@Suite struct AtomicFileTests {
    func temporaries(_ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix(".allot-tmp") }
    }

    /// Finding 3: every temporary file is written before any rename, so a failure in the second
    /// output leaves the first untouched.
    @Test func aFailedCommitReplacesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("a.csv", "old a\n")
        #expect(throws: InputError.self) {
            try AtomicFile.commit([(dir.path("a.csv"), Array("new a\n".utf8)), (dir.path("missing/b.json"), Array("new b\n".utf8))])
        }
        #expect(dir.read("a.csv") == "old a\n")
        #expect(try temporaries(dir).isEmpty)
        try AtomicFile.commit([(dir.path("a.csv"), Array("new a\n".utf8)), (dir.path("b.json"), Array("new b\n".utf8))])
        #expect(dir.read("a.csv") == "new a\n")
        #expect(dir.read("b.json") == "new b\n")
        #expect(try temporaries(dir).isEmpty)
    }

    /// Finding 2: symbolic links, FIFOs and devices are refused, and left as they were.
    @Test func nonRegularDestinationsAreRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("target.csv", "target\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.csv"), withDestinationPath: dir.path("target.csv"))
        #expect(mkfifo(dir.path("fifo"), 0o644) == 0)
        #expect(throws: InputError(file: dir.path("link.csv"), "cannot write output: it is a symbolic link; Allot replaces only regular files (name the link's target instead)")) {
            try AtomicFile.write("new\n", to: dir.path("link.csv"))
        }
        #expect(throws: InputError(file: dir.path("fifo"), "cannot write output: it is not a regular file (a device, FIFO or socket); name a regular file, or '-' for standard output")) {
            try AtomicFile.write("new\n", to: dir.path("fifo"))
        }
        // Only against the real device: never write to a /dev/null that something else broke.
        var device = stat()
        try #require(lstat("/dev/null", &device) == 0 && (device.st_mode & S_IFMT) == S_IFCHR, "/dev/null is not a device here")
        #expect(throws: InputError.self) { try AtomicFile.write("new\n", to: "/dev/null") }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path("link.csv")) == dir.path("target.csv"))
        #expect(dir.read("target.csv") == "target\n")
        var st = stat()
        #expect(lstat(dir.path("fifo"), &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
        #expect(try temporaries(dir).isEmpty)
    }

    @Test func identityResolvesSpellingsAndLinks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("a.csv", "a\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.csv"), withDestinationPath: dir.path("a.csv"))
        #expect(AtomicFile.identity(dir.path("a.csv")) == AtomicFile.identity(dir.url.path + "/./a.csv"))
        #expect(AtomicFile.identity(dir.path("link.csv")) == AtomicFile.identity(dir.path("a.csv")))
        #expect(AtomicFile.identity(dir.path("new.csv")) == AtomicFile.identity(dir.url.path + "/../" + dir.url.lastPathComponent + "/new.csv"))
        #expect(AtomicFile.identity(dir.path("new.csv")) != AtomicFile.identity(dir.path("a.csv")))
        #expect(AtomicFile.identity("-") == nil)
    }
}

@Suite(.serialized) struct TimeLimitAndCertificateTests {
    /// Finding 10: the time limit (not a proof, a gap or a sweep count) ends every method that
    /// takes one, and the method returns a verified allocation. The exact methods get 3 s on an
    /// instance none of them closes in seconds; the dual, which stops by itself on that instance
    /// well within 3 s, gets a limit shorter than any sweep, so that only the deadline can end
    /// its sweeps. (How close to the limit each stops in wall time is a benchmark, not a test:
    /// `Benchmarks/time_limits.py`, docs/benchmarks.md.)
    @Test(arguments: ["milp-glpk", "milp-cbc", "dual+milp", "dual+milp-cbc", "dual"])
    func wholeSolveEndsAtTheLimit(name: String) throws {
        let method = try #require(MethodRegistry.standard.method(named: name))
        let problem = BackendConformanceTests.hardProblem()
        var options = SolveOptions()
        options.timeLimit = name == "dual" ? 1e-9 : 3
        options.milp.relativeGap = 0
        options.dual.targetGap = 0
        options.dual.sweepTolerance = 0
        options.dual.maxSweeps = 100_000
        options.polishUsers = 3_000
        let solution = try solve(problem, method: method, options: options)
        if name == "dual" {
            #expect(solution.notes.contains { $0.hasPrefix("stopped at the time limit") }, "\(solution.notes)")
        } else {
            #expect(solution.status == .feasibleAtLimit, "\(name): \(solution.status)")
        }
        let report = Verifier.verify(problem, solution.allocation)
        #expect(report.isFeasible)
        #expect(abs(report.objective - solution.objective) <= 1e-6 * max(1, abs(report.objective)))
        if let bound = solution.upperBound { #expect(bound >= report.objective - 1e-9 * abs(bound)) }
    }

    /// Issue 25, finding 1: each backend's root relaxation honours the limit. CBC checks its own
    /// limit only between LPs, and glp_intopt's own root LP and presolve never look at it, so on a
    /// model whose root LP outlasts the limit both used to solve the whole root LP and come back
    /// with its bound (minutes on a million columns). Now the limit stops the LP itself (CBC's LP
    /// deadline; GLPK's guard solves the root LP with the time left): no proven bound, and the
    /// start is returned as the best known, feasible.
    @Test(arguments: ["CBC", "GLPK"])
    func rootRelaxationStopsAtTheLimit(backend name: String) throws {
        let mix = RandomProblem(users: 30_000, coupons: 5, couponsPerUser: 5, budgets: 2, maxPerUser: 2)
        let problem = mix.make(seed: 8)
        let formulation = MILPFormulation(problem)
        let dual = DualSolver.solve(problem, options: DualOptions(), threads: 1)
        let start = formulation.point(dual.allocation)
        let backend: any MILPBackend = name == "CBC" ? CBCBackend() : GLPKBackend()
        let result = try backend.solve(formulation.model, options: MILPOptions(timeLimit: 0.01), start: start)
        #expect(result.status == .feasibleAtLimit)
        #expect(result.bestBound == nil, "\(name) finished its root LP despite the limit: bound \(result.bestBound ?? 0)")
        let values = try #require(result.values)
        #expect(Verifier.verify(problem, formulation.allocation(values)).isFeasible)
        #expect(result.objective! >= formulation.model.objectiveValue(start))
    }

    /// Finding 11: "optimal" within a relative gap tolerance says so. Wherever an exact method
    /// reports `optimal` without `gapTolerance`, its value is the proven optimum; with it, the
    /// value is within the tolerance.
    @Test(arguments: ["milp-glpk", "milp-cbc"])
    func optimalWithinToleranceSaysSo(name: String) throws {
        let method = try #require(MethodRegistry.standard.method(named: name))
        let mix = RandomProblem(users: 40, coupons: 5, couponsPerUser: 4, budgets: 2, maxPerUser: 2)
        var flagged = 0
        for seed in 1...6 as ClosedRange<UInt64> {
            let problem = mix.make(seed: seed)
            var exact = SolveOptions()
            exact.milp.relativeGap = 0
            let optimum = try solve(problem, method: MILPMethod(backend: CBCBackend()), options: exact)
            #expect(optimum.status == .optimal && optimum.gapTolerance == nil)
            var loose = SolveOptions()
            loose.milp.relativeGap = 0.05
            loose.dual.maxSweeps = 1   // a weak start, so that the search has work to do
            let solution = try solve(problem, method: method, options: loose)
            #expect(Verifier.verify(problem, solution.allocation).isFeasible)
            guard solution.status == .optimal else { continue }
            if let tolerance = solution.gapTolerance {
                flagged += 1
                #expect(tolerance == 0.05)
                #expect(solution.objective >= optimum.objective * (1 - tolerance) - 1e-9)
            } else {
                #expect(abs(solution.objective - optimum.objective) <= 1e-7 * max(1, optimum.objective),
                        "\(name) seed \(seed): optimal \(solution.objective) vs \(optimum.objective) without a tolerance")
            }
            if let bound = solution.upperBound { #expect(bound >= optimum.objective - 1e-6) }
        }
        _ = flagged
    }
}
