import Allot
import AllotTestSupport
import Testing

@Suite struct DualAgainstMILPTests {
    /// Random small campaign-shape instances against the exact MILP (CBC, gap 0): the dual's
    /// bound is never below the optimum, its allocation never above, and it is within 1% here.
    @Test func smallInstancesAgainstMILP() throws {
        for seed in 1...4 as ClosedRange<UInt64> {
            let table = SyntheticScores(users: 60, coupons: 30, seed: seed, couponsPerUser: 4).table()
            let spec = SyntheticScores.campaignSpec(table, capShare: 0.4, budgetFraction: 0.4, maxPerUser: 2)
            let problem = try Problem(candidates: table, spec: spec)
            let dual = try solve(problem, method: .dual, options: dualOptions)
            #expect(Verifier.verify(problem, dual.allocation).isFeasible)
            var options = SolveOptions()
            options.milp.relativeGap = 0
            let exact = try solve(problem, method: .milpCBC, options: options)
            #expect(Verifier.verify(problem, exact.allocation).isFeasible)
            #expect(exact.status == .optimal)
            let bound = try #require(dual.upperBound)
            #expect(bound >= exact.objective - 1e-6 * exact.objective, "seed \(seed): bound \(bound) < optimum \(exact.objective)")
            #expect(dual.objective <= exact.objective + 1e-6 * exact.objective)
            #expect(dual.objective >= 0.99 * exact.objective, "seed \(seed): \(dual.objective) vs \(exact.objective)")
        }
    }

}

private var dualOptions: SolveOptions {
    var options = SolveOptions()
    options.dual.baselineCheck = .never
    return options
}
