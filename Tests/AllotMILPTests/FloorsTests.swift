@testable import AllotMILP
import Allot
import AllotTestSupport
import Testing

/// Issue 23: floors and general rows, exact, against brute force on both backends.
@Suite struct FloorsAgainstBruteForceTests {
    /// Tiny instances (8-12 candidates) with every kind of floor, some feasible and some not:
    /// each backend finds the brute-force optimum, or says `infeasible` exactly when no subset
    /// meets every constraint.
    @Test(arguments: backends)
    func tinyInstancesWithFloors(name: String) throws {
        var feasible = 0, infeasible = 0
        for (label, mix) in Self.mixes {
            for seed in 1...10 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let expected = bruteForce(problem)
                var options = SolveOptions()
                options.milp.relativeGap = 0
                let solution = try Allot.solve(problem, method: MILPMethod(backend: backend(name)), options: options)
                let report = Verifier.verify(problem, solution.allocation)
                guard let expected else {
                    infeasible += 1
                    #expect(solution.status == .infeasible, "\(name) \(label) seed \(seed)")
                    #expect(solution.allocation.count == 0)
                    continue
                }
                feasible += 1
                #expect(solution.status == .optimal, "\(name) \(label) seed \(seed)")
                #expect(report.isFeasible, "\(name) \(label) seed \(seed): \(report.violations)")
                #expect(abs(report.objective - expected.value) <= 1e-6 * max(1, abs(expected.value)),
                        "\(name) \(label) seed \(seed): \(report.objective) vs \(expected.value)")
            }
        }
        #expect(feasible >= 10 && infeasible >= 5, "feasible \(feasible), infeasible \(infeasible)")
    }

    static var mixes: [(String, RandomFloors)] {
        var spend = RandomFloors()
        spend.base.users = 4
        spend.base.couponsPerUser = 3
        spend.coverage = nil
        spend.parity = nil
        spend.couponFloor = nil
        spend.spendFloor = 0.9
        var all = RandomFloors()
        all.base.users = 5
        all.base.couponsPerUser = 2
        all.base.maxPerUser = 1
        all.base.budgetFraction = 0.5
        var tight = all
        tight.coverage = 1
        tight.base.budgetFraction = 0.25
        var two = RandomFloors()
        two.base.users = 4
        two.base.couponsPerUser = 3
        two.base.maxPerUser = 2
        two.base.budgets = 2
        two.base.couponCap = 2
        two.parity = 0
        var roi = all
        roi.base.minROI = 2
        roi.base.negativeShare = 0.4
        // Spend exactly the limit: a subset sum that random costs rarely hit.
        var exact = spend
        exact.spendFloor = 1
        exact.base.integerCosts = true
        var reach = all
        reach.coverage = 1
        reach.couponFloor = 2
        reach.base.budgetFraction = 0.15
        return [("spend", spend), ("all", all), ("tight", tight), ("two budgets", two), ("roi", roi), ("exact spend", exact),
                ("reach", reach)]
    }
}
