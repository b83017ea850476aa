@testable import AllotMILP
import Allot
import AllotTestSupport
import Foundation
import Testing

/// One suite, run against every backend.
let backends: [String] = ["glpk", "cbc"]

func backend(_ name: String) -> MILPBackend { name == "glpk" ? GLPKBackend() : CBCBackend() }

@Suite struct BackendConformanceTests {
    /// With and without a time limit: under one, GLPK solves the root LP itself first, with
    /// the time left (Sources/CGLPKGuard), and the search then takes no presolve of its own.
    @Test(arguments: backends, [nil, 600.0])
    func tinyInstancesAgainstBruteForce(name: String, timeLimit: Double?) throws {
        let solver = backend(name)
        for (mixName, mix) in constraintMixes {
            for seed in 1...8 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let formulation = MILPFormulation(problem)
                let optimum = bruteForceOptimum(problem).value
                guard formulation.model.columnCount > 0 else {
                    #expect(optimum == 0)
                    continue
                }
                let result = try solver.solve(formulation.model, options: MILPOptions(timeLimit: timeLimit, relativeGap: 0), start: nil)
                #expect(result.status == .optimal, "\(name) \(mixName) seed \(seed)")
                let allocation = formulation.allocation(try #require(result.values))
                let report = Verifier.verify(problem, allocation)
                #expect(report.isFeasible, "\(name) \(mixName) seed \(seed): \(report.violations)")
                #expect(abs(report.objective - optimum) <= TestTolerance.exactGap * max(1, optimum), "\(name) \(mixName) seed \(seed): \(report.objective) vs \(optimum)")
            }
        }
    }

    @Test(arguments: backends, [nil, 600.0])
    func infeasibleModelIsAStatusNotAnError(name: String, timeLimit: Double?) throws {
        var model = MILPModel()
        model.objective = [1, 2]
        model.columnNames = ["a", "b"]
        model.addRow("need_three", [(0, 1), (1, 1)], .greaterEqual, 3)
        let result = try backend(name).solve(model, options: MILPOptions(timeLimit: timeLimit), start: nil)
        #expect(result.status == .infeasible)
        #expect(result.values == nil)
    }

    /// A hard instance: 7,200 binaries, three budgets, frequency and coupon caps; the search is
    /// still running after a few seconds (its root relaxation, which no limit interrupts, is
    /// kept small so that a loaded machine still stops in time).
    static func hardProblem() -> Problem {
        RandomProblem.hardForMILP.make(seed: 4)
    }

    /// Finding 10: a limit, not a proof, ends a backend's search on a hard instance, and the
    /// backend returns a verified incumbent no worse than the start, with a real bound. A time
    /// limit (how close to it a backend stops in wall time is a benchmark, not a test:
    /// `Benchmarks/time_limits.py`), or a node limit, which counts work: a second run stops at
    /// the same incumbent (the default dual's exact finish relies on it).
    @Test(arguments: backends, ["time", "nodes"])
    func aLimitEndsTheSearchAndReturnsTheIncumbent(name: String, limit: String) throws {
        let problem = Self.hardProblem()
        let formulation = MILPFormulation(problem)
        let greedy = try solve(problem, method: .greedyMarginal)
        let start = formulation.point(greedy.allocation)
        var options = MILPOptions(relativeGap: 0)
        if limit == "time" { options.timeLimit = 2 } else { options.nodeLimit = 30 }
        let result = try backend(name).solve(formulation.model, options: options, start: start)
        #expect(result.status == .feasibleAtLimit)
        let allocation = formulation.allocation(try #require(result.values))
        let report = Verifier.verify(problem, allocation)
        #expect(report.isFeasible)
        // With the greedy allocation as a start, the incumbent is never worse than it.
        #expect(report.objective >= greedy.objective - TestTolerance.exactGap)
        // Finding 11: a reported bound is a real one: at least every value known.
        if let bound = result.bestBound {
            #expect(bound >= report.objective - TestTolerance.reordered * abs(bound))
        }
        if limit == "nodes" {
            let again = try backend(name).solve(formulation.model, options: options, start: start)
            #expect(again.values == result.values && again.objective == result.objective)
        }
    }

    /// Finding 11: GLPK's bound comes from its search tree, never from objective x (1 + gap): on
    /// tiny instances it is at least the brute-force optimum, and equals it when GLPK closes the
    /// gap.
    @Test func glpkBoundIsProven() throws {
        var checked = 0
        for (mixName, mix) in constraintMixes {
            for seed in 1...6 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let formulation = MILPFormulation(problem)
                guard formulation.model.columnCount > 0 else { continue }
                let optimum = bruteForceOptimum(problem).value
                for gap in [0.0, 0.3] {
                    let result = try GLPKBackend().solve(formulation.model, options: MILPOptions(relativeGap: gap), start: nil)
                    #expect(result.status == .optimal)
                    let value = try #require(result.objective)
                    if let bound = result.bestBound {
                        #expect(bound >= optimum - TestTolerance.exactGap * max(1, optimum), "\(mixName) seed \(seed) gap \(gap)")
                        checked += 1
                    }
                    if !result.withinGapTolerance {
                        #expect(abs(value - optimum) <= TestTolerance.exactGap * max(1, optimum), "\(mixName) seed \(seed): \(value) vs \(optimum)")
                    } else {
                        #expect(value >= optimum * (1 - gap) - TestTolerance.exactGap, "\(mixName) seed \(seed)")
                    }
                }
            }
        }
        #expect(checked > 0)
    }

    @Test func glpkErrorIsThrownAndTheNextSolveWorks() throws {
        #expect(throws: SolveError.self) { try GLPKBackend.forceError() }
        do {
            try GLPKBackend.forceError()
        } catch let error as SolveError {
            #expect(error.message.hasPrefix("GLPK failed while a forced invalid call: "))
            #expect(error.message.contains("glp_set_obj_coef"))
        }
        let problem = constraintMixes[0].1.make(seed: 3)
        let formulation = MILPFormulation(problem)
        let result = try GLPKBackend().solve(formulation.model, options: MILPOptions(relativeGap: 0), start: nil)
        #expect(result.status == .optimal)
        #expect(abs(result.objective! - bruteForceOptimum(problem).value) < TestTolerance.exactGap)
    }

    /// OR-Library mknapcb1: the first three instances reach their best known values.
    @Test(arguments: backends)
    func orLibraryBestKnownValues(name: String) throws {
        let problems = try ORLibraryData.mknapcb1()
        let best = try ORLibraryData.bestKnown()
        #expect(problems.count == 30)
        for k in 0..<3 {
            let solution = try MILPSolver.solve(problems[k], backend: backend(name), options: exactOptions())
            #expect(Verifier.verify(problems[k], solution.allocation).isFeasible)
            #expect(solution.status == .optimal)
            #expect(abs(solution.objective - best[k]) < TestTolerance.exactGap, "\(name) instance \(k + 1): \(solution.objective) vs \(best[k])")
        }
    }

    @Test(arguments: ["milp-glpk", "milp-cbc", "dual+milp", "dual+milp-cbc"])
    func methodsThroughSolve(name: String) throws {
        let method = try #require(MethodRegistry.standard.method(named: name))
        for (mixName, mix) in constraintMixes {
            let problem = mix.make(seed: 6)
            let solution = try solve(problem, method: method, options: exactOptions())
            let report = Verifier.verify(problem, solution.allocation)
            #expect(report.isFeasible, "\(name) \(mixName)")
            let optimum = bruteForceOptimum(problem).value
            #expect(report.objective <= optimum + TestTolerance.reordered)
            if !(method is PolishMethod) {
                #expect(abs(report.objective - optimum) <= TestTolerance.exactGap * max(1, optimum), "\(name) \(mixName)")
            }
            #expect((solution.upperBound ?? .infinity) >= optimum - TestTolerance.exactGap)
        }
    }

    @Test func polishingNeverLosesAndKeepsTheDualBound() throws {
        let mix = RandomProblem(users: 1_500, coupons: 5, couponsPerUser: 5, budgets: 2, couponCap: 250)
        let problem = mix.make(seed: 8)
        var options = exactOptions()
        options.polishUsers = 300
        options.dual.baselineCheck = .never
        let dual = try solve(problem, method: .dual, options: options)
        let polished = try solve(problem, method: .dualMILP, options: options)
        #expect(Verifier.verify(problem, polished.allocation).isFeasible)
        #expect(polished.objective >= dual.objective - TestTolerance.reordered)
        #expect(polished.upperBound == dual.upperBound)
        #expect(polished.notes.contains { $0.contains("re-solved exactly the 300 users whose choice was closest to changing") })
    }
}

func exactOptions() -> SolveOptions {
    var options = SolveOptions()
    options.milp.relativeGap = 0
    options.threads = 2
    return options
}
