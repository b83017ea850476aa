import Allot
import AllotTestSupport
import Testing

/// The default `dual` of `MethodRegistry.standard` finishes small models exactly (issue 25,
/// finding 10): on a model within the size rule it reaches the optimum (brute force, or CBC at
/// gap 0) and says so; outside the rule, or with the finish off, it is exactly the dual.
@Suite struct ExactFinishTests {
    let finished = MethodRegistry.defaultMethod

    @Test func theDefaultMethodIsTheFinishedDual() {
        #expect(finished is FinishedDualMethod)
        #expect(finished.name == "dual")
        #expect(MethodRegistry.standard.method(named: "dual") is FinishedDualMethod)
    }

    /// Tiny instances with every kind of constraint: the finish reaches the brute-force optimum.
    @Test func tinyInstancesReachTheBruteForceOptimum() throws {
        let shape = RandomProblem(users: 5, couponsPerUser: 3, maxPerUser: 2, couponCap: 2, minROI: 1.5)
        var options = SolveOptions()
        options.milp.relativeGap = 0
        for seed in 1...12 as ClosedRange<UInt64> {
            let problem = shape.make(seed: seed)
            let optimum = bruteForceOptimum(problem).value
            let solution = try solve(problem, method: finished, options: options)
            let report = Verifier.verify(problem, solution.allocation)
            #expect(report.isFeasible, "seed \(seed)")
            #expect(abs(report.objective - optimum) <= 1e-9 * max(1, optimum), "seed \(seed): \(report.objective) vs \(optimum)")
            let bound = try #require(solution.upperBound)
            #expect(bound >= optimum - 1e-9 * max(1, optimum), "seed \(seed)")
        }
    }

    /// Campaign-shape instances (240 candidates) where the dual alone leaves a gap: the finish
    /// reaches CBC's optimum, reports `optimal` with a gap of 0 and a note in plain words, and
    /// keeps the dual's shadow prices.
    @Test func smallCampaignsAreProvenOptimal() throws {
        var exactOptions = SolveOptions()
        exactOptions.milp.relativeGap = 0
        var improvedSomewhere = false
        for seed in 1...4 as ClosedRange<UInt64> {
            let table = SyntheticScores(users: 60, coupons: 30, seed: seed, couponsPerUser: 4).table()
            let spec = SyntheticScores.campaignSpec(table, capShare: 0.4, budgetFraction: 0.4, maxPerUser: 2)
            let problem = try Problem(candidates: table, spec: spec)
            let dual = try solve(problem, method: .dual, options: exactOptions)
            let solution = try solve(problem, method: finished, options: exactOptions)
            let exact = try solve(problem, method: .milpCBC, options: exactOptions)
            #expect(Verifier.verify(problem, solution.allocation).isFeasible)
            #expect(Verifier.verify(problem, exact.allocation).isFeasible)
            #expect(exact.status == .optimal)
            #expect(abs(solution.objective - exact.objective) <= 1e-9 * exact.objective, "seed \(seed)")
            #expect(solution.objective >= dual.objective)
            #expect(solution.shadowPrices == dual.shadowPrices)
            if dual.relativeGap! > exactOptions.dual.targetGap {
                #expect(solution.status == .optimal, "seed \(seed)")
                #expect(solution.relativeGap == 0, "seed \(seed)")
                let note = try #require(solution.notes.last)
                #expect(note.hasPrefix("the model is small (240 candidates), so COIN-OR CBC finished it exactly: "), "\(note)")
                if solution.objective > dual.objective {
                    improvedSomewhere = true
                    #expect(note.hasSuffix(" is optimal (the dual alone reached \(Readable.grouped(dual.objective, decimals: 2)))"), "\(note)")
                }
            }
        }
        // The instances exercise the finish: somewhere the dual alone is below the optimum.
        #expect(improvedSomewhere)
    }

    /// Off (`--exact-finish-limit 0`), or above the size rule: the very allocation of the dual.
    @Test func outsideTheRuleItIsTheDual() throws {
        let table = SyntheticScores(users: 60, coupons: 30, seed: 1, couponsPerUser: 4).table()
        let spec = SyntheticScores.campaignSpec(table, capShare: 0.4, budgetFraction: 0.4, maxPerUser: 2)
        let problem = try Problem(candidates: table, spec: spec)
        let dual = try solve(problem, method: .dual)
        for limit in [0, problem.candidates.count - 1] {
            var options = SolveOptions()
            options.exactFinish.maxCandidates = limit
            let solution = try solve(problem, method: finished, options: options)
            #expect(Verifier.verify(problem, solution.allocation).isFeasible)
            #expect(solution.allocation == dual.allocation, "limit \(limit)")
            #expect(solution.upperBound == dual.upperBound)
            #expect(solution.notes == dual.notes)
        }
    }

    @Test func aNegativeLimitIsRefused() {
        var options = SolveOptions()
        options.exactFinish.maxCandidates = -1
        #expect(throws: InvalidOption(option: "exactFinish.maxCandidates", value: "-1", requirement: "a whole number >= 0")) {
            try options.validate()
        }
    }
}
