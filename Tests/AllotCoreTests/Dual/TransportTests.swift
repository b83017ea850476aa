@testable import AllotCore
import AllotTestSupport
import Testing

/// A transport that cuts the users into random slices (some empty) for every task and merges
/// the slices' aggregates in a random order (a random binary tree, either side first): what
/// Spark may do with partitions, made as adversarial as a test can.
final class RandomSlices: DualTransport, @unchecked Sendable {
    let engine: DualEngine
    private var rng: SeededGenerator
    private(set) var tasks = 0

    init(_ engine: DualEngine, seed: UInt64) {
        self.engine = engine
        rng = SeededGenerator(seed: seed)
    }

    var model: DualModel { engine.model }

    func run(_ task: DualTask) -> DualAggregate {
        tasks += 1
        let n = engine.users
        let pieces = 1 + rng.nextIndex(below: 9)
        let cuts = ([0, n] + (0..<pieces - 1).map { _ in rng.nextIndex(below: n + 1) }).sorted()
        var parts = zip(cuts, cuts.dropFirst()).map { engine.work(task, users: $0 ..< $1) }
        rng.shuffle(&parts)
        while parts.count > 1 {
            let a = parts.removeLast()
            let k = rng.nextIndex(below: parts.count)
            if rng.nextUnit() < 0.5 {
                parts[k].merge(a)
            } else {
                var b = a
                b.merge(parts[k])
                parts[k] = b
            }
        }
        return parts[0]
    }

    func recover(_ m: [Double]) -> (allocation: Allocation, value: Double) { Recovery.recover(engine, m) }
}

@Suite struct TransportTests {
    /// Every constraint mix of the dual's tests, in full-precision numbers (the generator's
    /// numbers are rounded to cents, where more float sums happen to be exact).
    static func mixes() -> [(String, Problem)] {
        var out: [(String, Problem)] = []
        for (maxPerUser, channels, roi, caps, budgets) in [(1, false, false, false, 1), (1, false, false, true, 2),
                                                            (1, false, true, true, 1), (2, false, false, true, 2),
                                                            (3, true, false, true, 1), (2, true, true, true, 2),
                                                            (4, false, true, false, 1), (2, true, false, false, 3)] {
            var mix = RandomProblem()
            mix.users = 400
            mix.coupons = 8
            mix.couponsPerUser = 5
            mix.budgets = budgets
            mix.maxPerUser = maxPerUser
            mix.couponCap = caps ? 30 : nil
            mix.minROI = roi ? 1.2 : nil
            mix.budgetFraction = 0.2
            if channels {
                mix.channels = ["push", "email", "sms"]
                mix.channelCap = 1
            }
            out.append(("F \(maxPerUser) channels \(channels) roi \(roi) caps \(caps) budgets \(budgets)",
                        mix.make(seed: UInt64(7 * maxPerUser + budgets))))
        }
        let table = SyntheticScores(users: 3_000, coupons: 40, channels: ["push", "email"], seed: 5, couponsPerUser: 4).table()
        for maxPerUser in [1, 2] {
            var spec = SyntheticScores.campaignSpec(table, capShare: 0.4, budgetFraction: 0.3, maxPerUser: maxPerUser)
            if maxPerUser > 1 { spec.channelCaps = ["email": 1] }
            out.append(("synthetic campaign F \(maxPerUser)", try! Problem(candidates: table, spec: spec)))
        }
        return out
    }

    /// The same allocation, multipliers and bound (bit for bit) from the threads and from
    /// random slices merged in random orders, with and without the sampled warm start; every
    /// allocation passes the verifier.
    @Test(arguments: [false, true])
    func randomSlicesGiveTheThreadsAnswer(sampled: Bool) throws {
        for (label, problem) in Self.mixes() {
            var options = DualOptions()
            options.baselineCheck = .never
            options.sampledWarmStart = sampled
            options.sampleMinimumUsers = 16
            let threads = DualSolver.solve(DualEngine(problem, threads: 2), options: options)
            for seed in [1, 2] as [UInt64] {
                var transports: [RandomSlices] = []
                let sliced = DualSolver.solve(DualEngine(problem, threads: 1), options: options) { engine in
                    let t = RandomSlices(engine, seed: seed &+ UInt64(transports.count))
                    transports.append(t)
                    return t
                }
                let what = "\(label) sampled \(sampled) seed \(seed)"
                #expect(transports.allSatisfy { $0.tasks > 0 }, "\(what): the random slices ran")
                #expect(sliced.allocation == threads.allocation, "\(what): allocation")
                #expect(sliced.upperBound?.bitPattern == threads.upperBound?.bitPattern, "\(what): bound")
                #expect(sliced.objective.bitPattern == threads.objective.bitPattern, "\(what): objective")
                #expect(sliced.shadowPrices.map(\.value.bitPattern) == threads.shadowPrices.map(\.value.bitPattern), "\(what): multipliers")
                let report = Verifier.verify(problem, sliced.allocation)
                #expect(report.isFeasible, "\(what): \(report.violations)")
            }
        }
    }

    /// Floors and general rows (issue 23): a spend floor, a coverage floor, a coupon floor and
    /// a signed parity row, with one incentive per user and with several (and channel caps):
    /// the same status, allocation, bound and multipliers, bit for bit, from the threads and
    /// from random slices, with and without the warm start; an allocation passes the verifier.
    @Test(arguments: [false, true])
    func randomSlicesGiveTheThreadsAnswerWithFloors(sampled: Bool) throws {
        var statuses: Set<String> = []
        for (maxPerUser, channels, budgets) in [(1, false, 1), (2, false, 2), (3, true, 1)] {
            var mix = RandomFloors()
            mix.base.users = 400
            mix.base.coupons = 8
            mix.base.couponsPerUser = 5
            mix.base.budgets = budgets
            mix.base.maxPerUser = maxPerUser
            mix.base.couponCap = 60
            mix.base.budgetFraction = 0.2
            mix.spendFloor = 0.95
            mix.coverage = 0.4
            mix.couponFloor = 20
            mix.parity = 10
            if channels {
                mix.base.channels = ["push", "email", "sms"]
                mix.base.channelCap = 1
            }
            let problem = mix.make(seed: UInt64(3 * maxPerUser + budgets))
            var options = DualOptions()
            options.baselineCheck = .never
            options.sampledWarmStart = sampled
            options.sampleMinimumUsers = 16
            let threads = DualSolver.solve(DualEngine(problem, threads: 2), options: options)
            statuses.insert(threads.status.rawValue)
            for seed in [1, 2] as [UInt64] {
                var transports: [RandomSlices] = []
                let sliced = DualSolver.solve(DualEngine(problem, threads: 1), options: options) { engine in
                    let t = RandomSlices(engine, seed: seed &+ UInt64(transports.count))
                    transports.append(t)
                    return t
                }
                let what = "F \(maxPerUser) channels \(channels) budgets \(budgets) sampled \(sampled) seed \(seed)"
                #expect(transports.allSatisfy { $0.tasks > 0 }, "\(what): the random slices ran")
                #expect(sliced.status == threads.status, "\(what): status")
                #expect(sliced.allocation == threads.allocation, "\(what): allocation")
                #expect(sliced.upperBound?.bitPattern == threads.upperBound?.bitPattern, "\(what): bound")
                #expect(sliced.shadowPrices.map(\.value.bitPattern) == threads.shadowPrices.map(\.value.bitPattern), "\(what): multipliers")
                if sliced.status != .searchFailed && sliced.status != .infeasible {
                    let report = Verifier.verify(problem, sliced.allocation)
                    #expect(report.isFeasible, "\(what): \(report.violations)")
                }
            }
        }
        #expect(statuses.isSubset(of: ["feasible", "optimal"]), "\(statuses)")
    }

    /// An exact sum does not depend on the order or grouping of its terms, even with
    /// cancellation over 600 binades and subnormals; it is exact where the answer is known.
    @Test func exactSumIsOrderFree() {
        var rng = SeededGenerator(seed: 9)
        for trial in 0..<30 {
            var values: [Double] = (0..<500).map { _ in
                let e = rng.nextIndex(below: 600) - 300
                let sign: Double = rng.nextUnit() < 0.4 ? -1 : 1
                return sign * (1 + rng.nextUnit()) * Double(sign: .plus, exponent: e, significand: 1)
            }
            values += [Double.leastNonzeroMagnitude, 3 * Double.leastNonzeroMagnitude, -1e300, 1e300]
            var a = ExactSum()
            for v in values { a.add(v) }
            for _ in 0..<5 {
                rng.shuffle(&values)
                let cut = rng.nextIndex(below: values.count)
                var left = ExactSum(), right = ExactSum()
                for v in values[..<cut] { left.add(v) }
                for v in values[cut...] { right.add(v) }
                right.merge(left)
                #expect(right == a, "trial \(trial)")
                #expect(right.value.bitPattern == a.value.bitPattern, "trial \(trial)")
            }
        }
        // Known answers.
        var s = ExactSum()
        for v in [1e100, 1.0, -1e100, 2.0 * Double.leastNonzeroMagnitude] { s.add(v) }
        #expect(s.value == 1.0)
        #expect(s.exceeds(1.0) && !s.exceeds(1.0 + Double.ulpOfOne))
        var tenths = ExactSum()
        for _ in 0..<10 { tenths.add(0.1) }
        #expect(tenths.exceeds(1.0), "ten times the double 0.1 is slightly above 1")
        var integers = ExactSum()
        var expected = 0
        for k in 0..<10_000 {
            let v = (k * 7919) % 100_003 - 50_000
            integers.add(Double(v))
            expected += v
        }
        #expect(integers.value == Double(expected))
        #expect(ExactSum().signum == 0 && ExactSum(-3).signum == -1)
    }
}

@Suite struct PerUserWorkTests {
    /// One user with k candidates and a frequency cap of k / 4: a pass visits each candidate
    /// once, and a walk across a wide window (where the lines cross about k² / 2 times) stays
    /// within the user's budget of about nine passes, so the work per pass is linear in k, never
    /// quadratic.
    @Test func oneLargeUserCostsLinearWorkPerPass() throws {
        var rng = SeededGenerator(seed: 4)
        for k in [1_000, 4_000, 16_000] {
            var rows: [CandidateRow] = []
            for c in 0..<k {
                rows.append(CandidateRow(user: "big", coupon: "c\(c)", uplift: 1 + 100 * rng.nextUnit(), cost: 1 + 50 * rng.nextUnit()))
            }
            let problem = try Problem(candidates: try CandidateTable(rows: rows),
                                      spec: AllocationSpec(budgets: [.init(name: "cash", limit: Double(k))], maxPerUser: k / 4))
            let engine = DualEngine(problem, threads: 1)
            let rounds = DualRounds(ThreadTransport(engine))
            let visits = engine.candidateVisits.load(ordering: .relaxed)
            _ = rounds.evaluate([0.5], margins: true)
            #expect(engine.candidateVisits.load(ordering: .relaxed) - visits == k, "k \(k): one visit per candidate")
            let walked = rounds.walk(0, [0.5], 0, 100)
            let work = engine.walkWork.load(ordering: .relaxed)
            #expect(work <= DualEngine.walkBudgetPerCandidate * k + DualEngine.walkBudgetBase + k + 1, "k \(k): walk work \(work)")
            // Too many crossings for the budget: the walk says so rather than going quadratic.
            #expect(walked.steps == nil, "k \(k)")
        }
    }
}

@Suite struct DualWireTests {
    /// Every task and every slice's aggregate survives its bytes, and merging decoded
    /// aggregates gives the merged original; bad bytes give an error naming what is wrong.
    @Test func tasksAndAggregatesRoundTrip() throws {
        var mix = RandomProblem()
        mix.users = 200
        mix.coupons = 6
        mix.couponsPerUser = 4
        mix.budgets = 2
        mix.maxPerUser = 2
        mix.couponCap = 20
        mix.minROI = 1.1
        let engine = DualEngine(mix.make(seed: 3), threads: 1)
        let m = (0..<engine.constraintCount).map { 0.05 * Double($0 + 1) }
        let tasks: [DualTask] = [.evaluate(m: m, margins: true), .hull(constraint: 0, m: m), .consumption(constraint: 1, m: m),
                                 .walk(constraint: 0, m: m, lo: 0.01, hi: 0.4), .top(constraint: 1, m: m)]
        for task in tasks {
            #expect(try DualWire.task(DualWire.encode(task)) == task)
            let a = engine.work(task, users: 0..<77), b = engine.work(task, users: 77..<200)
            let da = try DualWire.aggregate(DualWire.encode(a)), db = try DualWire.aggregate(DualWire.encode(b))
            #expect(da == a && db == b, "\(task)")
            var merged = da
            merged.merge(db)
            var original = a
            original.merge(b)
            #expect(merged == original, "\(task)")
        }
        let bytes = DualWire.encode(engine.work(tasks[0], users: 0..<200))
        #expect(throws: DualWire.Error(description: "aggregate: truncated at top (byte \(bytes.count - 8))")) {
            try DualWire.aggregate(Array(bytes.dropLast(5)))
        }
        var future = bytes
        future[3] = 9
        #expect(throws: DualWire.Error(description: "aggregate: format version 9; this library reads version 1")) {
            try DualWire.aggregate(future)
        }
        #expect(throws: DualWire.Error(description: "task: not an Allot dual task (bad tag)")) { try DualWire.task(bytes) }
        var huge = DualWire.encode(DualTask.evaluate(m: m, margins: false))
        huge.replaceSubrange(5..<13, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: DualWire.Error.self) { try DualWire.task(huge) }
    }
}

@Suite struct ExactSelectionTests {
    /// Ten drops of 0.1 against a room of 1: added in floating point they make
    /// 0.9999999999999999 (everything fits, multiplier 0); exactly they exceed 1 (the double 0.1
    /// is a little above a tenth), so the multiplier is the lowest breakpoint. The selection
    /// decides as the exact sum does, in every order of the breakpoints.
    @Test func selectionDecidesAsTheExactSum() {
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<20 {
            var points = (1...10).map(Double.init)
            rng.shuffle(&points)
            var b = Breakpoints(points: points, drops: [Double](repeating: 0.1, count: 10))
            #expect(b.smallestMultiplier(room: 1.0) == 1)
            var c = Breakpoints(points: points, drops: [Double](repeating: 0.1, count: 10))
            #expect(c.smallestMultiplier(room: 1.0000000000000002) == 0)
        }
    }
}
