@testable import AllotCore
import AllotTestSupport
import Testing

/// The coordinate update with several incentives per user: the kinetic walk over a window, the
/// selection of the top F for very large users, the sampled warm start and the jumps.
@Suite struct WindowWalkTests {
    /// `S(λ)` rebuilt from one walk (its value at `hi` plus the drops of the steps above `λ`)
    /// equals the consumption of the users' choices computed directly at `λ`, everywhere in the
    /// window: at both ends and between every two consecutive steps (at a step itself the two
    /// computations may round a tie differently).
    @Test func walkRebuildsTheConsumptionEverywhere() throws {
        var checked = 0
        for (maxPerUser, channels, roi) in [(2, false, false), (3, true, false), (2, true, true), (4, false, true)] {
            var mix = RandomProblem()
            mix.users = 60
            mix.coupons = 8
            mix.couponsPerUser = 6
            mix.budgets = 2
            mix.maxPerUser = maxPerUser
            mix.couponCap = 20
            mix.minROI = roi ? 1.1 : nil
            if channels {
                mix.channels = ["push", "email", "sms"]
                mix.channelCap = 1
            }
            let problem = mix.make(seed: UInt64(10 * maxPerUser + (channels ? 1 : 0)))
            let engine = DualEngine(problem, threads: 2)
            let rounds = DualRounds(ThreadTransport(engine))
            var rng = SeededGenerator(seed: 7)
            for trial in 0..<6 {
                let m = (0..<engine.constraintCount).map { _ in 0.5 * rng.nextUnit() }
                for i in engine.coordinates {
                    let lo = m[i] * rng.nextUnit()
                    let hi = lo + 3 * rng.nextUnit() + 0.01
                    let walked = rounds.walk(i, m, lo, hi)
                    let steps = try #require(walked.steps, "small users are always walked")
                    let label = "F \(maxPerUser) channels \(channels) roi \(roi) trial \(trial) coordinate \(i)"
                    #expect(abs(walked.sLo - rounds.consumption(i, m, at: lo)) <= 1e-9, "\(label): S(lo)")
                    #expect(abs(walked.sHi - rounds.consumption(i, m, at: hi)) <= 1e-9, "\(label): S(hi)")
                    let points = Array(Set(steps.points)).sorted()
                    let probes = zip([lo] + points, points + [hi]).map { 0.5 * ($0 + $1) }
                    for λ in probes {
                        var rebuilt = walked.sHi
                        for (p, w) in zip(steps.points, steps.drops) where p > λ { rebuilt += w }
                        #expect(abs(rebuilt - rounds.consumption(i, m, at: λ)) <= 1e-9, "\(label) at \(λ)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 100)
    }

    /// The coordinate minimiser found through the walk is the smallest multiplier at which the
    /// consumption fits: it fits there, and does not a little below.
    @Test func criticalMultiplierIsWhereTheConsumptionFits() {
        var mix = RandomProblem()
        mix.users = 300
        mix.coupons = 6
        mix.couponsPerUser = 5
        mix.budgets = 2
        mix.maxPerUser = 2
        mix.channels = ["push", "email"]
        mix.channelCap = 1
        mix.budgetFraction = 0.25
        let problem = mix.make(seed: 5)
        let engine = DualEngine(problem, threads: 2)
        let rounds = DualRounds(ThreadTransport(engine))
        var m = [Double](repeating: 0, count: engine.constraintCount)
        var width = [Double](repeating: 0, count: engine.constraintCount)
        for _ in 0..<3 {
            for i in engine.coordinates {
                let λ = rounds.criticalByBracket(i, m, width: width[i]).multiplier
                let limit = engine.limits[i]
                #expect(rounds.consumption(i, m, at: λ) <= limit + 1e-9, "coordinate \(i) at \(λ)")
                if λ > 0 {
                    #expect(rounds.consumption(i, m, at: λ * (1 - 1e-9)) > limit, "coordinate \(i) below \(λ)")
                }
                width[i] = abs(λ - m[i])
                m[i] = λ
            }
        }
    }

    /// Above `UserSelection.selectionThreshold` positive candidates (no channel caps) the top F
    /// is found by selection: the choice's consumption and value equal a full sort's.
    @Test func selectionOfTheTopEqualsASort() throws {
        var rng = SeededGenerator(seed: 3)
        var rows: [CandidateRow] = []
        for c in 0..<2_000 {
            let uplift: Double = (rng.nextUnit() * 1000).rounded() / 10 - 5
            let cost: Double = 1 + (rng.nextUnit() * 500).rounded() / 10
            rows.append(CandidateRow(user: "u", coupon: "c\(c)", uplift: uplift, cost: cost))
        }
        let table = try CandidateTable(rows: rows)
        for maxPerUser in [1, 7, 300, 1_500, 5_000] {
            let problem = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "cash", limit: 1e9)],
                                                                             maxPerUser: maxPerUser))
            let engine = DualEngine(problem, threads: 1)
            let rounds = DualRounds(ThreadTransport(engine))
            for λ in [0.0, 0.3, 1.7] {
                var reduced: [(value: Double, j: Int)] = []
                for j in 0..<table.count where engine.eligible[j] {
                    let value = table.uplift[j] - λ * table.cost[j]
                    if value > 0 { reduced.append((value, j)) }
                }
                reduced.sort { $0.value != $1.value ? $0.value > $1.value : table.cost[$0.j] < table.cost[$1.j] }
                reduced = Array(reduced.prefix(maxPerUser))
                let expected = reduced.reduce(0.0) { $0 + table.cost[$1.j] }
                #expect(abs(rounds.consumption(0, [λ], at: λ) - expected) <= 1e-9 * expected, "F \(maxPerUser) at \(λ)")
                let bound = rounds.evaluate([λ]).bound
                let value = reduced.reduce(0.0) { $0 + $1.value } + λ * 1e9
                #expect(abs(bound - value) <= 1e-9 * value, "F \(maxPerUser) at \(λ)")
            }
        }
    }

    /// The sampled warm start and the jumps change where the search starts and how it moves,
    /// never what is certified: with each switched on or off, the allocation passes the
    /// verifier, and every bound is at least every allocation's value (weak duality across runs).
    @Test func warmStartAndJumpsKeepTheCertificate() throws {
        var mix = RandomProblem()
        mix.users = 3_000
        mix.coupons = 12
        mix.couponsPerUser = 6
        mix.budgets = 2
        mix.maxPerUser = 2
        mix.couponCap = 300
        mix.channels = ["push", "email"]
        mix.channelCap = 1
        mix.minROI = 1.2
        mix.budgetFraction = 0.2
        let problem = mix.make(seed: 17)
        var runs: [(String, Solution)] = []
        for (sampled, jumps) in [(false, false), (true, false), (false, true), (true, true)] {
            for threads in [1, 3] {
                var options = SolveOptions()
                options.threads = threads
                options.dual.baselineCheck = .never
                options.dual.sampledWarmStart = sampled
                options.dual.sampleMinimumUsers = 64
                options.dual.extrapolate = jumps
                let solution = try solve(problem, method: .dual, options: options)
                let label = "sampled \(sampled) jumps \(jumps) threads \(threads)"
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(label): \(report.violations)")
                #expect(try #require(solution.relativeGap) <= 1e-3, "\(label)")
                runs.append((label, solution))
            }
        }
        for (a, x) in runs {
            for (b, y) in runs {
                #expect(x.upperBound! >= y.objective - 1e-9 * y.objective, "bound of \(a) below the value of \(b)")
            }
        }
        // Deterministic whatever the thread count.
        for k in stride(from: 0, to: runs.count, by: 2) {
            #expect(runs[k].1.allocation == runs[k + 1].1.allocation, "\(runs[k].0)")
            #expect(runs[k].1.upperBound == runs[k + 1].1.upperBound, "\(runs[k].0)")
        }
    }

    /// The warm start's sample of a sample is solved against its share of the problem's limits
    /// (a 256th), not of the sample's: with the sample's limits it found every multiplier at 0.
    @Test func aSampleOfASampleHasItsShareOfTheLimits() {
        var mix = RandomProblem()
        mix.users = 5_000
        mix.coupons = 8
        mix.couponsPerUser = 4
        mix.budgets = 2
        mix.couponCap = 400
        let engine = DualEngine(mix.make(seed: 3), threads: 1)
        let sample = DualSolver.sample(of: engine)
        let nested = DualSolver.sample(of: sample)
        #expect(nested.users > 0 && nested.users < sample.users && sample.users < engine.users)
        #expect(nested.constraintCount == engine.constraintCount)
        for i in 0..<engine.constraintCount {
            let share = engine.limits[i] * Double(nested.users) / Double(engine.users)
            #expect(abs(nested.limits[i] - share) <= 1e-12 * engine.limits[i], "constraint \(i)")
        }
    }

    /// A user with more candidates than `Recovery.largeUser` and a frequency cap in the
    /// hundreds: the recovery repairs by drops only, and the result is verified and close to
    /// its bound.
    @Test func largeUserWithALargeFrequencyCap() throws {
        var rng = SeededGenerator(seed: 11)
        var rows: [CandidateRow] = []
        for c in 0..<3_000 {
            rows.append(CandidateRow(user: "big", coupon: "c\(c)", uplift: 1 + (rng.nextUnit() * 1000).rounded() / 10,
                                     cost: 1 + (rng.nextUnit() * 200).rounded() / 10))
        }
        for u in 0..<50 {
            for c in 0..<4 {
                rows.append(CandidateRow(user: "u\(u)", coupon: "c\(c)", uplift: 1 + (rng.nextUnit() * 500).rounded() / 10,
                                         cost: 1 + (rng.nextUnit() * 100).rounded() / 10))
            }
        }
        let table = try CandidateTable(rows: rows)
        let problem = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "cash", limit: 4_000)],
                                                                         maxPerUser: 300))
        var options = SolveOptions()
        options.dual.baselineCheck = .never
        let solution = try solve(problem, method: .dual, options: options)
        let report = Verifier.verify(problem, solution.allocation)
        #expect(report.isFeasible, "\(report.violations)")
        #expect(try #require(solution.relativeGap) <= 1e-3)
    }
}
