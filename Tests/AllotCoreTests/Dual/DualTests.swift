@testable import AllotCore
import AllotTestSupport
import Testing

private func dualOnly() -> SolveOptions {
    var options = SolveOptions()
    options.dual.baselineCheck = .never
    return options
}

@Suite struct DualTests {
    /// The allocation depends on the scores, not on the order of their rows (users, coupons and
    /// candidates are numbered in order of first appearance, so every tie-break by index must
    /// be a tie of values too): rows shuffled give the same assignments.
    @Test func allocationDoesNotDependOnRowOrder() throws {
        for (maxPerUser, caps) in [(1, false), (2, true)] {
            let table = SyntheticScores(users: 2_000, coupons: 4, channels: ["push", "email"], seed: 7).table()
            var rows = (0..<table.count).map { j in
                CandidateRow(user: table.userIDs[table.user(ofCandidate: j)], coupon: table.couponIDs[Int(table.coupon[j])],
                             uplift: table.uplift[j], cost: table.cost[j], channel: table.channelNames[table.channel(of: j)])
            }
            var spec = AllocationSpec(budgets: [.init(name: "cash", limit: (table.spendOfBestCandidates() * 0.2).rounded())],
                                      maxPerUser: maxPerUser)
            spec.channelCaps = ["push": 1]
            if caps { spec.couponCaps = [table.couponIDs[0]: 100, table.couponIDs[2]: 150] }
            func assignments(_ rows: [CandidateRow]) throws -> (Set<String>, Double) {
                let problem = try Problem(candidates: CandidateTable(rows: rows), spec: spec)
                let solution = try solve(problem, method: .dual)
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(report.violations)")
                let t = problem.candidates
                let chosen = solution.allocation.candidates.map { "\(t.userIDs[t.user(ofCandidate: $0)])/\(t.couponIDs[Int(t.coupon[$0])])" }
                return (Set(chosen), report.objective)
            }
            let base = try assignments(rows)
            var rng = SeededGenerator(seed: 5)
            rng.shuffle(&rows)
            let shuffled = try assignments(rows)
            #expect(base.0 == shuffled.0, "F \(maxPerUser) caps \(caps)")
            #expect(abs(base.1 - shuffled.1) <= 1e-9 * base.1, "F \(maxPerUser) caps \(caps)")
        }
    }

    /// Two users and one budget of 7, where rounding the dual's choices loses: the fill keeps
    /// u1's (4, 10) and adds u2's (1, 1) for 11, but u1's (2, 6) with u2's (5, 8) gives 14.
    /// (The tie-move exchange that found 14 on such small instances was a step that allot.spark
    /// could not run; it went with issue 20, so one engine serves every transport.) What stays
    /// true: the allocation is verified, never above the optimum (brute force), and the reported
    /// gap covers what it loses, since the bound is at least the optimum.
    @Test func roundingLossIsCoveredByTheGapOfTheTwoUserCase() throws {
        let table = try CandidateTable(rows: [
            CandidateRow(user: "u1", coupon: "c1", uplift: 10, cost: 4, channel: "push"),
            CandidateRow(user: "u1", coupon: "c2", uplift: 6, cost: 2, channel: "email"),
            CandidateRow(user: "u2", coupon: "c1", uplift: 8, cost: 5, channel: "push"),
            CandidateRow(user: "u2", coupon: "c2", uplift: 1, cost: 1, channel: "email"),
            CandidateRow(user: "u3", coupon: "c2", uplift: -2, cost: 1, channel: "email"),
        ])
        let problem = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "cash", limit: 7)]))
        var options = SolveOptions()
        options.dual.baselineCheck = .never
        let solution = try solve(problem, method: .dual, options: options)
        let report = Verifier.verify(problem, solution.allocation)
        let optimum = bruteForceOptimum(problem).value
        #expect(report.isFeasible)
        #expect(optimum == 14)
        #expect(report.objective <= optimum)
        let bound = try #require(solution.upperBound)
        #expect(bound >= optimum)
        #expect(try #require(solution.relativeGap) * bound >= optimum - report.objective - 1e-9)
    }

    /// Exhaustive reference on tiny instances, every constraint mix: the bound is never below
    /// the optimum, the allocation never above it, and gap 0 means optimal.
    @Test func tinyInstancesAgainstBruteForce() throws {
        for (name, mix) in constraintMixes {
            var binding = 0
            for seed in 1...15 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let solution = try solve(problem, method: .dual, options: dualOnly())
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(name) seed \(seed): \(report.violations)")
                let optimum = bruteForceOptimum(problem).value
                if optimum < unconstrainedOptimum(problem) - 1e-9 { binding += 1 }
                let bound = try #require(solution.upperBound)
                #expect(bound >= optimum - 1e-9 * max(1, optimum), "\(name) seed \(seed): bound \(bound) < optimum \(optimum)")
                #expect(report.objective <= optimum + 1e-9)
                if solution.relativeGap == 0 {
                    #expect(abs(report.objective - optimum) <= 1e-9 * max(1, optimum), "\(name) seed \(seed)")
                }
                #expect(solution.shadowPrices.allSatisfy { $0.value >= 0 })
            }
            // The mix exercises its constraints: on at least a third of the seeds they cost some uplift.
            #expect(binding >= 5, "\(name): the constraints bind on only \(binding) of 15 seeds")
        }
    }

    /// The best value with no budget, cap or floor: each user's `maxPerUser` best positive uplifts.
    private func unconstrainedOptimum(_ problem: Problem) -> Double {
        let t = problem.candidates
        return (0..<t.userCount).reduce(0.0) { total, u in
            let best = t.candidates(ofUser: u).map { t.uplift[$0] }.filter { $0 > 0 }.sorted(by: >)
            return total + best.prefix(problem.maxPerUser).reduce(0, +)
        }
    }

    /// A few thousand candidates, one budget, integer costs: within 1e-3 of the exact optimum
    /// from dynamic programming.
    @Test func nearOptimalAgainstKnapsackDP() throws {
        var mix = RandomProblem()
        mix.users = 800
        mix.coupons = 5
        mix.couponsPerUser = 5
        mix.integerCosts = true
        mix.budgetFraction = 0.2
        for seed in 1...4 as ClosedRange<UInt64> {
            let problem = mix.make(seed: seed)
            let solution = try solve(problem, method: .dual, options: dualOnly())
            #expect(Verifier.verify(problem, solution.allocation).isFeasible)
            let optimum = knapsackOptimum(problem)
            #expect(solution.objective <= optimum + 1e-9)
            #expect(solution.objective >= optimum * (1 - 1e-3), "seed \(seed): \(solution.objective) vs \(optimum)")
            #expect(try #require(solution.upperBound) >= optimum - 1e-9)
        }
    }

    /// On generated scores the dual's own allocation (no fallback) beats every baseline.
    @Test(arguments: [(1, [String](), 1), (2, ["push", "email"], 2)])
    func beatsEveryBaseline(seed: Int, channels: [String], maxPerUser: Int) throws {
        let table = SyntheticScores(users: 3_000, coupons: 5, channels: channels, seed: UInt64(seed)).table()
        let spend = table.spendOfBestCandidates()
        var spec = AllocationSpec(budgets: [.init(name: "cash", limit: (spend * 0.3).rounded())], maxPerUser: maxPerUser)
        if !channels.isEmpty { spec.channelCaps = ["email": 1, "push": 1] }
        spec.couponCaps = ["c5": 200]
        let problem = try Problem(candidates: table, spec: spec)
        let dual = try solve(problem, method: .dual, options: dualOnly())
        #expect(Verifier.verify(problem, dual.allocation).isFeasible)
        for method in MethodRegistry.core.baselines {
            let baseline = try solve(problem, method: method)
            #expect(Verifier.verify(problem, baseline.allocation).isFeasible)
            #expect(dual.objective >= baseline.objective, "\(method.name): \(baseline.objective) > dual \(dual.objective)")
        }
        #expect(try #require(dual.relativeGap) < 1e-3)
    }

    @Test func deterministicWhateverTheThreadCount() throws {
        var mix = RandomProblem()
        mix.users = 40_000
        mix.coupons = 6
        mix.couponsPerUser = 3
        mix.budgets = 2
        mix.couponCap = 3_000
        let problem = mix.make(seed: 9)
        var results: [Solution] = []
        for threads in [1, 2, 3] {
            var options = dualOnly()
            options.threads = threads
            results.append(try solve(problem, method: .dual, options: options))
        }
        for r in results.dropFirst() {
            #expect(r.allocation == results[0].allocation)
            #expect(r.upperBound == results[0].upperBound)
            #expect(r.shadowPrices == results[0].shadowPrices)
        }
        #expect(Verifier.verify(problem, results[0].allocation).isFeasible)
    }

    /// The shadow price of a single budget is the slope of the optimum in the budget.
    @Test func shadowPriceIsMarginalValue() throws {
        var mix = RandomProblem()
        mix.users = 2_000
        mix.coupons = 4
        mix.couponsPerUser = 4
        let problem = mix.make(seed: 5)
        let solution = try solve(problem, method: .dual, options: dualOnly())
        let price = try #require(solution.shadowPrices.first).value
        let limit = problem.budgets[0].limit
        var spec = AllocationSpec(budgets: [.init(name: "b0", limit: limit + 50)])
        spec.maxPerUser = 1
        let more = try Problem(candidates: problem.candidates, spec: spec)
        let bigger = try solve(more, method: .dual, options: dualOnly())
        let slope = (try #require(bigger.upperBound) - (try #require(solution.upperBound))) / 50
        #expect(slope <= price + 1e-9)
        #expect(slope >= price * 0.8)
    }
}

@Suite struct CriticalMultiplierTests {
    /// Selection against the naive answer: sort descending and accumulate.
    @Test func selectionMatchesSorting() {
        var rng = SeededGenerator(seed: 3)
        for trial in 0..<300 {
            var b = Breakpoints()
            let n = rng.nextIndex(below: 40)
            for _ in 0..<n {
                // Repeated values on purpose.
                b.append(Double(rng.nextIndex(below: 12)) - 2, Double(rng.nextIndex(below: 5)))
            }
            let room = Double(rng.nextIndex(below: 60))
            var naive = 0.0
            var candidates = Array(Set(b.points.filter { $0 > 0 })).sorted(by: >)
            candidates.append(0)
            for λ in candidates.reversed() {
                let above = zip(b.points, b.drops).filter { $0.0 > λ }.reduce(0) { $0 + $1.1 }
                if above <= room { naive = λ; break }
            }
            var copy = b
            #expect(copy.smallestMultiplier(room: room) == naive, "trial \(trial)")
        }
    }

    /// With one incentive per user, the bracket method (built for several) finds the same
    /// coordinate minimum of the dual as the hull. (The multipliers themselves may differ where
    /// a user sits exactly at the tie and rounding puts it on one side.)
    @Test func bracketAgreesWithHull() {
        var mix = RandomProblem()
        mix.users = 500
        mix.coupons = 6
        mix.couponsPerUser = 5
        mix.budgets = 2
        mix.couponCap = 40
        mix.minROI = 1.2
        mix.budgetFraction = 0.2
        let problem = mix.make(seed: 21)
        let engine = DualEngine(problem, threads: 2)
        let rounds = DualRounds(ThreadTransport(engine))
        var m = [Double](repeating: 0, count: engine.constraintCount)
        for sweep in 0..<3 {
            for i in 0..<engine.constraintCount {
                let hull = rounds.criticalByHull(i, m).multiplier
                let bracket = rounds.criticalByBracket(i, m, width: 0).multiplier
                var a = m, b = m
                a[i] = hull
                b[i] = bracket
                let da = rounds.evaluate(a).bound, db = rounds.evaluate(b).bound
                #expect(abs(da - db) <= 1e-9 * abs(da), "sweep \(sweep) constraint \(i): \(hull) vs \(bracket)")
                // Neither is improved by moving slightly either way.
                for λ in [hull * (1 - 1e-6), hull * (1 + 1e-6) + 1e-9] {
                    var c = m
                    c[i] = λ
                    #expect(rounds.evaluate(c).bound >= da - 1e-9 * abs(da))
                }
                m[i] = hull
            }
        }
    }
}
