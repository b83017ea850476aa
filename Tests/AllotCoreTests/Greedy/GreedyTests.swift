import AllotCore
import AllotTestSupport
import Testing

let baselineNames = MethodRegistry.core.baselines.map(\.name)

@Suite struct GreedyTests {
    @Test(arguments: baselineNames)
    func feasibleNeverNegativeNeverAboveOptimum(name: String) throws {
        let method = try #require(MethodRegistry.core.method(named: name))
        for (name, mix) in constraintMixes {
            for seed in 1...12 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let solution = try solve(problem, method: method, options: SolveOptions(seed: seed))
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(method.name) on \(name) seed \(seed): \(report.violations)")
                #expect(abs(report.objective - solution.objective) < 1e-9)
                #expect(solution.allocation.candidates.allSatisfy { problem.candidates.uplift[$0] > 0 })
                let optimum = bruteForceOptimum(problem).value
                #expect(report.objective <= optimum + 1e-9, "\(method.name) on \(name) seed \(seed)")
            }
        }
    }

    /// The same input, seed and any thread count give the same allocation; a seeded method's
    /// allocation changes with its seed (so the seed is used), an unseeded one's does not.
    @Test(arguments: baselineNames)
    func deterministic(name: String) throws {
        let method = try #require(MethodRegistry.core.method(named: name))
        var mix = RandomProblem(users: 300, coupons: 6, couponsPerUser: 4, maxPerUser: 2, channels: ["push", "email", "sms"], channelCap: 1)
        mix.budgetFraction = 0.05   // binding for blanket too, so that its order matters
        let problem = mix.make(seed: 42)
        func run(seed: UInt64, threads: Int) throws -> Allocation {
            var options = SolveOptions(seed: seed)
            options.threads = threads
            return try solve(problem, method: method, options: options).allocation
        }
        let a = try run(seed: 5, threads: 1)
        #expect(Verifier.verify(problem, a).isFeasible)
        #expect(try run(seed: 5, threads: 1) == a)
        #expect(try run(seed: 5, threads: 3) == a)
        let otherSeeds = try (6...9 as ClosedRange<UInt64>).map { try run(seed: $0, threads: 2) }
        if ["random", "blanket"].contains(name) {
            #expect(otherSeeds.contains { $0 != a }, "\(name) ignores its seed")
        } else {
            #expect(otherSeeds.allSatisfy { $0 == a }, "\(name) depends on the seed")
        }
    }

    /// The MCKP greedy theorem: with one budget and one incentive per user, the incremental
    /// greedy is within the largest single uplift of the optimum.
    @Test func marginalGreedyIsWithinOneItemOfOptimum() throws {
        let mix = RandomProblem(users: 60, coupons: 5, couponsPerUser: 5, budgetFraction: 0.15, integerCosts: true)
        for seed in 1...10 as ClosedRange<UInt64> {
            let problem = mix.make(seed: seed)
            let solution = try solve(problem, method: .greedyMarginal)
            #expect(Verifier.verify(problem, solution.allocation).isFeasible)
            let optimum = knapsackOptimum(problem)
            let largest = problem.candidates.uplift.max()!
            #expect(solution.objective <= optimum + 1e-9)
            #expect(solution.objective >= optimum - largest - 1e-9, "seed \(seed): \(solution.objective) vs \(optimum)")
        }
    }

    /// The reason greedy-marginal exists: the naive ratio greedy gives users their cheapest
    /// high-ratio coupon and runs out of users, leaving budget unspent.
    @Test func marginalBeatsRatioOnGeneratedScores() throws {
        let table = SyntheticScores(users: 2_000, coupons: 5, seed: 11).table()
        let spend = table.spendOfBestCandidates()
        let problem = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "b", limit: spend * 0.6)]))
        let ratio = try solve(problem, method: .greedyRatio)
        let marginal = try solve(problem, method: .greedyMarginal)
        #expect(Verifier.verify(problem, ratio.allocation).isFeasible)
        #expect(Verifier.verify(problem, marginal.allocation).isFeasible)
        #expect(marginal.objective > ratio.objective)
    }

    @Test func blanketGivesOneCouponUntilTheBudgetBinds() throws {
        let rows = (0..<10).flatMap { u in
            [CandidateRow(user: "u\(u)", coupon: "big", uplift: 10, cost: 10),
             CandidateRow(user: "u\(u)", coupon: "small", uplift: 4, cost: 1)]
        }
        let problem = try Problem(candidates: CandidateTable(rows: rows), spec: AllocationSpec(budgets: [.init(name: "b", limit: 5)]))
        let solution = try solve(problem, method: .blanket, options: SolveOptions(seed: 3))
        #expect(solution.allocation.count == 5)
        #expect(solution.allocation.candidates.allSatisfy { problem.candidates.couponIDs[Int(problem.candidates.coupon[$0])] == "small" })
        #expect(solution.notes == ["blanket coupon: small"])
        #expect(Verifier.verify(problem, solution.allocation).isFeasible)
    }

    @Test func ratioAndUpliftOrders() throws {
        // One budget of 10: ratio takes the cheap efficient coupon, uplift the big one.
        let rows = [CandidateRow(user: "u", coupon: "big", uplift: 9, cost: 10),
                    CandidateRow(user: "v", coupon: "cheap", uplift: 5, cost: 1),
                    CandidateRow(user: "w", coupon: "mid", uplift: 6, cost: 9)]
        let problem = try Problem(candidates: CandidateTable(rows: rows), spec: AllocationSpec(budgets: [.init(name: "b", limit: 10)]))
        #expect(try solve(problem, method: .greedyRatio).allocation.candidates == [1, 2])
        #expect(try solve(problem, method: .greedyUplift).allocation.candidates == [0])
    }
}
