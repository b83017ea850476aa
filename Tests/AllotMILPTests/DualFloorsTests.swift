@testable import AllotCore
@testable import AllotMILP
import Allot
import AllotTestSupport
import Foundation
import Testing

/// Issue 23, the dual half: floors and general rows in the Lagrangian dual. Every side of every
/// row has its own multiplier; the bound stays an upper bound at every multiplier vector; an
/// allocation the dual returns meets every floor (verifier); a floor the users' own caps leave
/// out of reach is proven infeasible by the dual's ray; nothing feasible is ever called
/// infeasible.
@Suite struct DualFloorsTests {
    /// The dual alone: no safety net, no exact finish.
    static var pureDual: SolveOptions {
        var options = SolveOptions()
        options.dual.baselineCheck = .never
        return options
    }

    static func tolerance(_ value: Double) -> Double { 1e-9 * max(1, abs(value)) }

    /// Weak duality with floors: `D(m) >= optimum` at random multiplier vectors (each side's
    /// multiplier 0 or a random size) and at the search's best, on every tiny instance that brute
    /// force finds feasible; the search never finds a ray there.
    @Test func theBoundHoldsAtEveryMultiplierVector() {
        var rng = SeededGenerator(seed: 11)
        var checked = 0
        for (label, mix) in FloorsAgainstBruteForceTests.mixes {
            for seed in 1...10 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                guard let optimum = bruteForce(problem)?.value else { continue }
                let engine = DualEngine(problem, threads: 1)
                let rounds = DualRounds(ThreadTransport(engine))
                for _ in 0..<20 {
                    let m = (0..<engine.constraintCount).map { _ in rng.nextUnit() < 0.3 ? 0 : 20 * rng.nextUnit() * rng.nextUnit() }
                    let bound = rounds.evaluate(m).bound
                    #expect(bound >= optimum - Self.tolerance(optimum), "\(label) seed \(seed) at \(m): \(bound) < \(optimum)")
                }
                var search = DualSearch(ThreadTransport(engine), options: DualOptions())
                search.sweep(recovering: false)
                #expect(search.unreachable == nil, "\(label) seed \(seed): a ray on a feasible instance")
                #expect(search.best.bound >= optimum - Self.tolerance(optimum), "\(label) seed \(seed)")
                checked += 1
            }
        }
        #expect(checked >= 30)
    }

    /// Tiny instances with every kind of floor against brute force: the dual never calls a
    /// feasible instance infeasible nor returns an allocation for an infeasible one; what it
    /// returns is verified, at most the optimum, under its bound; it finds an allocation on
    /// most feasible instances.
    @Test func tinyInstancesAgainstBruteForce() throws {
        var feasible = 0, found = 0, infeasible = 0, proven = 0
        for (label, mix) in FloorsAgainstBruteForceTests.mixes {
            for seed in 1...10 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let expected = bruteForce(problem)
                let solution = try Allot.solve(problem, method: DualMethod(), options: Self.pureDual)
                let what = "\(label) seed \(seed): \(solution.status) \(solution.notes)"
                guard let expected else {
                    infeasible += 1
                    #expect(solution.status == .infeasible || solution.status == .searchFailed, "\(what)")
                    #expect(solution.allocation.count == 0, "\(what)")
                    if solution.status == .infeasible { proven += 1 }
                    continue
                }
                feasible += 1
                #expect(solution.status != .infeasible, "\(what)")
                guard solution.status != .searchFailed else {
                    #expect(solution.allocation.count == 0, "\(what)")
                    continue
                }
                found += 1
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(what): \(report.violations)")
                #expect(report.objective <= expected.value + Self.tolerance(expected.value), "\(what)")
                let bound = try #require(solution.upperBound)
                #expect(bound >= expected.value - Self.tolerance(expected.value), "\(what): bound \(bound) < \(expected.value)")
            }
        }
        #expect(feasible >= 10 && infeasible >= 5, "feasible \(feasible), infeasible \(infeasible)")
        #expect(found * 10 >= feasible * 8, "the dual met the floors on \(found) of \(feasible) feasible instances")
        #expect(proven >= 1, "the dual proved \(proven) of \(infeasible) infeasible instances")
    }

    /// The default `dual` (with its exact finish of small models) on the same instances: the
    /// brute-force optimum (within the dual's target gap), or `infeasible` exactly when there is none.
    @Test func theDefaultDualReachesTheOptimumOrProvesInfeasibility() throws {
        var options = SolveOptions()
        options.milp.relativeGap = 0
        for (label, mix) in FloorsAgainstBruteForceTests.mixes {
            for seed in 1...10 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let expected = bruteForce(problem)
                let solution = try Allot.solve(problem, method: MethodRegistry.defaultMethod, options: options)
                let what = "\(label) seed \(seed): \(solution.status) \(solution.notes)"
                guard let expected else {
                    #expect(solution.status == .infeasible, "\(what)")
                    #expect(solution.allocation.count == 0)
                    continue
                }
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(what): \(report.violations)")
                #expect(abs(report.objective - expected.value) <= DualTolerance.targetGap * max(1, abs(expected.value)),
                        "\(what): \(report.objective) vs \(expected.value)")
            }
        }
    }

    /// A floor that the users' own caps leave out of reach: the dual's multiplier for it has no
    /// minimiser (the bound falls without limit), so the dual proves it infeasible and names it
    /// with the most that can be reached, with one incentive per user (hull) and with two (walk).
    @Test func anOutOfReachFloorIsProvenByTheRay() throws {
        let scores = """
            user_id,coupon_id,uplift,cost,is_new
            u1,c1,5,1,1
            u1,c2,3,2,1
            u2,c1,4,1,1
            u2,c2,2,2,1
            u3,c1,6,1,0
            u3,c2,1,2,0
            u4,c1,2,1,0

            """
        for (spec, reason) in [
            (#"{"budgets":[{"name":"cash","limit":100}],"constraints":[{"name":"new_users","column":"is_new","min":3}]}"#,
             "constraint new_users needs at least 3, at most 2 is reachable"),
            (#"{"budgets":[{"name":"cash","limit":100}],"max_per_user":2,"constraints":[{"name":"new_users","column":"is_new","min":5}]}"#,
             "constraint new_users needs at least 5, at most 4 is reachable"),
            (#"{"budgets":[{"name":"cash","limit":100}],"max_per_user":2,"coupon_floors":{"c2":4}}"#,
             "coupon floor c2 needs at least 4, at most 3 is reachable"),
            (#"{"budgets":[{"name":"cash","limit":100,"min":11}],"max_per_user":2}"#,
             "spend floor of budget cash needs at least 11, at most 10 is reachable"),
            (#"{"budgets":[{"name":"cash","limit":100}],"max_per_user":2,"constraints":[{"name":"few_new","column":"is_new","max":-1}]}"#,
             "constraint few_new needs at most -1, at least 0 is unavoidable"),
        ] {
            let problem = try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: scores), spec: InputBytes(name: "spec.json", text: spec))
            #expect(bruteForce(problem) == nil, "\(spec)")
            let solution = try Allot.solve(problem, method: DualMethod(), options: Self.pureDual)
            #expect(solution.status == .infeasible, "\(spec): \(solution.status)")
            #expect(solution.allocation.count == 0)
            #expect(solution.noAllocationMessage == "infeasible: " + reason + " under max_per_user (the dual's bound falls without limit along its multiplier)",
                    "\(spec): \(solution.notes)")
        }
    }

    /// Random small instances with floors (40 users, two budgets, caps, coverage and parity
    /// rows; too large for brute force) against both exact backends: never `infeasible` where
    /// they find the optimum, never an allocation where they prove none; what the dual returns
    /// is verified, within the optimum, under the dual's bound.
    @Test func randomSmallInstancesAgainstBothBackends() throws {
        var options = SolveOptions()
        options.milp.relativeGap = 0
        var optimal = 0, found = 0
        for maxPerUser in [1, 2] {
            var mix = RandomFloors()
            mix.base.users = 40
            mix.base.couponsPerUser = 3
            mix.base.maxPerUser = maxPerUser
            mix.base.budgets = 2
            mix.base.couponCap = 12
            mix.coverage = 0.6
            mix.parity = 3
            for seed in 1...6 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let exact = try backends.map { try Allot.solve(problem, method: MILPMethod(backend: backend($0)), options: options) }
                let dual = try Allot.solve(problem, method: DualMethod(), options: Self.pureDual)
                let what = "F \(maxPerUser) seed \(seed): dual \(dual.status), exact \(exact.map(\.status)) \(dual.notes)"
                #expect(exact[0].status == exact[1].status, "\(what)")
                if exact[0].status == .infeasible {
                    #expect(dual.status == .infeasible || dual.status == .searchFailed, "\(what)")
                    continue
                }
                guard exact[0].status == .optimal else { continue }
                optimal += 1
                let optimum = exact[0].objective
                #expect(dual.status != .infeasible, "\(what)")
                guard dual.status != .searchFailed else { continue }
                found += 1
                let report = Verifier.verify(problem, dual.allocation)
                #expect(report.isFeasible, "\(what): \(report.violations)")
                #expect(report.objective <= optimum + Self.tolerance(optimum), "\(what)")
                #expect(try #require(dual.upperBound) >= optimum - 1e-6 * max(1, abs(optimum)), "\(what)")
            }
        }
        #expect(optimal >= 6 && found * 10 >= optimal * 8, "the dual met the floors on \(found) of \(optimal)")
    }

    /// Every side has its own shadow price, named by kind (`budget_min:`, `coupon_floor:`,
    /// `constraint:` for a general row's max, `constraint_min:`), floors `<= 0` (what one more
    /// unit of floor costs) and ceilings `>= 0`; the summary carries them and meets the schema.
    @Test func eachSideHasANamedSignedShadowPrice() throws {
        var mix = RandomFloors()
        mix.base.users = 60
        mix.base.couponsPerUser = 3
        mix.base.budgetFraction = 0.2
        mix.coverage = 0.9
        let problem = mix.make(seed: 3)
        let solution = try Allot.solve(problem, method: DualMethod(), options: Self.pureDual)
        let report = Verifier.verify(problem, solution.allocation)
        #expect(report.isFeasible, "\(solution.status) \(report.violations)")
        let names = Set(solution.shadowPrices.map { "\($0.kind.rawValue):\($0.name)" })
        let budget = problem.budgets[0].name
        for name in ["budget:\(budget)", "budget_min:\(budget)", "coupon_floor:c0", "constraint_min:new_users",
                     "constraint:parity", "constraint_min:parity"] {
            #expect(names.contains(name), "\(name) in \(names)")
        }
        #expect(solution.shadowPrices.count == DualModel(problem).constraintCount)
        for price in solution.shadowPrices {
            #expect(price.kind.isFloor ? price.value <= 0 : price.value >= 0, "\(price)")
            #expect(price.multiplier >= 0)
        }
        // The coverage floor at 90% of the new users binds under a tight budget: it has a price.
        #expect(solution.shadowPrices.contains { $0.kind == .constraintMin && $0.name == "new_users" && $0.value < 0 })
        let summary = Summary(problem: problem, solution: solution, report: report).json()
        #expect(try summarySchemaViolations(summary) == [])
        #expect(summary.contains("\"constraint_min:new_users\""))
    }
}
