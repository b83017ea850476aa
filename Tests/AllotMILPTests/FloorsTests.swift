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

/// `greedy-floors` on the same tiny instances: every allocation it returns meets every floor
/// and ceiling (verifier) and is at most the optimum; it never returns one where none exists;
/// without floors it is `greedy-marginal`.
@Suite struct GreedyFloorsTests {
    @Test func feasibleWhenItAnswersAndNeverAboveTheOptimum() throws {
        var answered = 0, total = 0
        for (label, mix) in FloorsAgainstBruteForceTests.mixes {
            for seed in 1...10 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let expected = bruteForce(problem)
                let solution = try Allot.solve(problem, method: .greedyFloors)
                guard solution.status != .searchFailed else {
                    #expect(solution.allocation.count == 0)
                    continue
                }
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(label) seed \(seed): \(report.violations)")
                let optimum = try #require(expected, "\(label) seed \(seed): an allocation where brute force finds none")
                #expect(report.objective <= optimum.value + 1e-9 * max(1, abs(optimum.value)))
                if expected != nil { total += 1 }
                answered += 1
            }
        }
        // It meets the floors on most feasible instances (a greedy may miss a few).
        #expect(answered * 4 >= total * 3, "answered \(answered) of \(total) feasible")
    }

    @Test func withoutFloorsItIsGreedyMarginal() throws {
        for seed in 1...6 as ClosedRange<UInt64> {
            var mix = RandomProblem()
            mix.users = 30
            mix.maxPerUser = 2
            mix.couponCap = 8
            let problem = mix.make(seed: seed)
            #expect(try Allot.solve(problem, method: .greedyFloors).allocation == (try Allot.solve(problem, method: .greedyMarginal).allocation))
        }
    }

    @Test func aBaselineThatBreaksAFloorIsMarkedNotRanked() throws {
        // The budget pays for three; the two new users have the lowest uplift.
        let text = "user_id,coupon_id,uplift,cost,is_new\nu1,c1,9,1,0\nu2,c1,8,1,0\nu3,c1,7,1,0\nu4,c1,2,1,1\nu5,c1,1,1,1\n"
        let problem = try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: text),
                                             spec: InputBytes(name: "spec.json", text: #"{"budgets":[{"name":"cash","limit":3}],"constraints":[{"name":"new_users","column":"is_new","min":2}]}"#))
        var rows = [BaselineMethod.greedyUplift, BaselineMethod.greedyFloors].map {
            BenchmarkRow.run($0, on: problem, instance: "floors", options: SolveOptions())
        }
        rows.append(BenchmarkRow.run(MILPMethod(backend: CBCBackend()), on: problem, instance: "floors", options: SolveOptions()))
        BenchmarkRow.compare(&rows)
        #expect(rows[0].outcome.hasPrefix("breaks a floor: "), "\(rows[0].outcome)")
        #expect(!rows[0].feasible && rows[0].gainOverBestGreedy == nil && rows[0].percentOfBound == nil)
        #expect(rows[1].outcome == "ok" && rows[1].feasible)
        #expect(rows[2].outcome == "ok" && rows[2].feasible)
        // The optimum: u1 and the two new users (9 + 2 + 1); greedy-floors finds it here.
        #expect(rows[2].objective == 12 && rows[1].objective == 12)
        #expect(rows[0].outcome == "breaks a floor: constraint 'new_users': 0.0 is below its min 2.0")
    }

    @Test(arguments: backends)
    func theInfeasibleFloorIsNamedWithWhatIsReachable(name: String) throws {
        // Three new users, one incentive each, a cash budget that pays for two of them.
        let text = "user_id,coupon_id,uplift,cost,is_new\nu1,c1,5,2,1\nu2,c1,4,2,1\nu3,c1,3,2,1\nu4,c1,9,1,0\n"
        let problem = try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: text),
                                             spec: InputBytes(name: "spec.json", text: #"{"budgets":[{"name":"cash","limit":4}],"constraints":[{"name":"new_users","column":"is_new","min":3}]}"#))
        let solution = try Allot.solve(problem, method: MILPMethod(backend: backend(name)))
        #expect(solution.status == .infeasible)
        #expect(solution.allocation.count == 0)
        #expect(solution.notes.first == "infeasible: constraint new_users needs at least 3, at most 2 is reachable under max_per_user and the ceilings")
        #expect(bruteForce(problem) == nil)
        #expect(try Allot.solve(problem, method: .greedyFloors).status == .searchFailed)
    }
}
