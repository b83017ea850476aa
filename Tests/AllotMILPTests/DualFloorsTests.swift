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
                #expect(search.conflict == nil, "\(label) seed \(seed): a conflict on a feasible instance")
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

    /// Floors each within reach but not together under a ceiling: three new users, one
    /// incentive each, a budget that pays for two. The dual's bound falls below the least value
    /// any allocation can have (0 here), which proves it; the floor pulling is named.
    @Test func aConflictIsProvenWhenTheBoundFallsBelowEveryAllocation() throws {
        let text = "user_id,coupon_id,uplift,cost,is_new\nu1,c1,5,2,1\nu2,c1,4,2,1\nu3,c1,3,2,1\nu4,c1,9,1,0\n"
        let problem = try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: text),
                                             spec: InputBytes(name: "spec.json", text: #"{"budgets":[{"name":"cash","limit":4}],"constraints":[{"name":"new_users","column":"is_new","min":3}]}"#))
        #expect(bruteForce(problem) == nil)
        let solution = try Allot.solve(problem, method: DualMethod(), options: Self.pureDual)
        #expect(solution.status == .infeasible)
        #expect(solution.allocation.count == 0)
        let message = try #require(solution.noAllocationMessage)
        #expect(message.hasPrefix("infeasible: the floors constraint_min:new_users cannot all be met together under the ceilings and max_per_user (the dual's bound fell to "), "\(message)")
        #expect(message.hasSuffix(", below 0.00, the least any allocation can be worth)"), "\(message)")
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
        // The budget pays for three; the two floors on new users and on c1 force the weak new
        // users u4 and u5 in beside u1 (9 + 2 + 1 = 12, against 24 without the floors).
        let text = """
            user_id,coupon_id,uplift,cost,is_new,tilt
            u1,c0,9,1,0,1
            u2,c0,8,1,0,-1
            u3,c1,7,1,0,0
            u4,c1,2,1,1,1
            u5,c0,1,1,1,-1
            u6,c1,1,1,1,0

            """
        let spec = #"{"budgets":[{"name":"cash","limit":3,"min":2}],"coupon_caps":{"c0":2},"coupon_floors":{"c1":1},"constraints":[{"name":"new_users","column":"is_new","min":2},{"name":"parity","column":"tilt","min":-1,"max":1}]}"#
        let problem = try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: text), spec: InputBytes(name: "spec.json", text: spec))
        let optimum = try #require(bruteForce(problem))
        #expect(optimum.value == 12)
        let solution = try Allot.solve(problem, method: DualMethod(), options: Self.pureDual)
        let report = Verifier.verify(problem, solution.allocation)
        #expect(report.isFeasible, "\(solution.status) \(report.violations)")
        #expect(try #require(solution.upperBound) >= optimum.value - 1e-9)
        let names = solution.shadowPrices.map { "\($0.kind.rawValue):\($0.name)" }
        #expect(names == ["budget:cash", "budget_min:cash", "coupon_cap:c0", "coupon_floor:c1", "constraint_min:new_users",
                          "constraint:parity", "constraint_min:parity"])
        for price in solution.shadowPrices {
            #expect(price.kind.isFloor ? price.value <= 0 : price.value >= 0, "\(price)")
            #expect(price.multiplier >= 0)
        }
        // The coverage floor binds: it has a price, what one more new user would cost.
        #expect(solution.shadowPrices.contains { $0.kind == .constraintMin && $0.name == "new_users" && $0.value < 0 })
        let summary = Summary(problem: problem, solution: solution, report: report).json()
        #expect(try summarySchemaViolations(summary) == [])
        #expect(summary.contains("\"constraint_min:new_users\""))
    }
}
