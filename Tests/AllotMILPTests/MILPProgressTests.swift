@testable import AllotMILP
import Allot
import AllotTestSupport
import Synchronization
import Testing

/// The incumbent and bound the exact methods report while they search (shown by `--progress`).
@Suite struct MILPProgressTests {
    /// Collects a solve's progress events.
    final class Recorder: Sendable {
        let events = Mutex<[SolveProgress]>([])
        var handler: ProgressHandler { { event in self.events.withLock { $0.append(event) } } }
        var pairs: [(incumbent: Double?, bound: Double?)] {
            events.withLock { $0 }.compactMap { event in
                switch event {
                case let .milp(i, b), let .polish(i, b): (i, b)
                default: nil
                }
            }
        }
    }

    /// The reported incumbents only go up, the bounds only down, and no incumbent is above a bound.
    func expectConsistent(_ pairs: [(incumbent: Double?, bound: Double?)], _ label: String) {
        let incumbents = pairs.compactMap(\.incumbent)
        let bounds = pairs.compactMap(\.bound)
        #expect(zip(incumbents, incumbents.dropFirst()).allSatisfy { $0 <= $1 }, "\(label): \(incumbents)")
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 >= $1 }, "\(label): \(bounds)")
        if let best = incumbents.max(), let tightest = bounds.min() {
            #expect(best <= tightest, "\(label): incumbent \(best) above bound \(tightest)")
        }
    }

    /// Two budgets and coupon caps, 600 users: every backend branches. Every reported
    /// incumbent is at most the optimum and every bound at least it; the optimum is the other
    /// backend's, so that a solver's own mistake cannot vouch for its bounds.
    @Test(arguments: backends)
    func exactSearchReportsValidIncumbentsAndBounds(name: String) throws {
        let problem = branchingProblem()
        let optimum = try MILPSolver.solve(problem, backend: backend(name == "glpk" ? "cbc" : "glpk"), options: exactOptions())
        #expect(optimum.status == .optimal && optimum.gapTolerance == nil)
        let recorder = Recorder()
        var options = exactOptions()
        options.milp.progress = recorder.handler
        let solution = try MILPSolver.solve(problem, backend: backend(name), options: options)
        #expect(Verifier.verify(problem, solution.allocation).isFeasible)
        let tolerance = 1e-9 * optimum.objective
        #expect(abs(solution.objective - optimum.objective) <= tolerance)
        let pairs = recorder.pairs
        // The phases that report nothing else come first: the build, then (CBC) the root relaxation.
        let events = recorder.events.withLock { $0 }
        let phases = events.prefix { if case .exactPhase = $0 { true } else { false } }
        #expect(phases.first == .exactPhase("building the 0-1 program, \(Readable.count(problem.candidates.count)) candidates"), "\(name): \(events.prefix(3))")
        #expect(events.allSatisfy { switch $0 { case .milp, .exactPhase: true; default: false } })
        // The dual's allocation is the start: an incumbent from the first report on.
        #expect(pairs.count >= 2 && pairs.allSatisfy { $0.incumbent != nil }, "\(name): \(pairs)")
        #expect(pairs.contains { $0.bound != nil }, "\(name): no bound reported")
        expectConsistent(pairs, name)
        for (incumbent, bound) in pairs {
            #expect(incumbent! <= optimum.objective + tolerance)
            if let bound { #expect(bound >= optimum.objective - tolerance, "\(name): bound \(bound) below the optimum \(optimum.objective)") }
        }
    }

    func branchingProblem() -> Problem {
        let mix = RandomProblem(users: 600, coupons: 5, couponsPerUser: 5, budgets: 2, couponCap: 100)
        return mix.make(seed: 8)
    }

    /// Polishing reports in the whole problem's terms: from the dual's value up to at most the
    /// polished allocation's.
    @Test(arguments: backends)
    func polishingReportsTheWholeProblemsValue(name: String) throws {
        let problem = branchingProblem()
        var options = exactOptions()
        options.polishUsers = 200
        options.dual.baselineCheck = .never
        let dual = try solve(problem, method: .dual, options: options)
        let recorder = Recorder()
        options.milp.progress = recorder.handler
        let polished = try solve(problem, method: PolishMethod(backend: backend(name)), options: options)
        let report = Verifier.verify(problem, polished.allocation)
        #expect(report.isFeasible)
        #expect(recorder.events.withLock { $0 }.allSatisfy { switch $0 { case .polish, .exactPhase: true; default: false } })
        let pairs = recorder.pairs
        #expect(!pairs.isEmpty)
        expectConsistent(pairs, name)
        let first = try #require(pairs.first?.incumbent)
        #expect(abs(first - dual.objective) <= 1e-6 * max(1, dual.objective), "\(first) vs the dual's \(dual.objective)")
        #expect(pairs.compactMap(\.incumbent).allSatisfy { $0 <= report.objective + 1e-6 * max(1, report.objective) })
    }

    /// The relay's rules, without a solver: the start is the incumbent until beaten, a better
    /// incumbent is always reported, worse values never shown, and the bound never below the incumbent.
    @Test func relayKeepsWhatIsProven() throws {
        var model = MILPModel()
        model.objective = [3, 4]
        model.columnNames = ["a", "b"]
        let recorder = Recorder()
        let relay = try #require(MILPProgressRelay(recorder.handler, model: model, start: [1, 0]))
        MILPProgressRelay.withContext(relay) { context in
            // What a backend's C callback does.
            MILPProgressRelay.relay(context, hasIncumbent: 1, incumbent: 2, hasBound: 0, bound: 0) // worse than the start (3)
            MILPProgressRelay.relay(context, hasIncumbent: 1, incumbent: 4, hasBound: 1, bound: 3.9) // better; bound raised to it
            MILPProgressRelay.relay(context, hasIncumbent: 1, incumbent: 3, hasBound: 1, bound: 9) // worse incumbent, looser bound
        }
        let pairs = recorder.pairs
        #expect(pairs.first?.incumbent == 3 && pairs.first?.bound == nil)
        #expect(pairs.last?.incumbent == 4 && pairs.last?.bound == 4)
        #expect(!pairs.contains { $0.incumbent == 2 || $0.bound == 9 })
        expectConsistent(pairs, "relay")
        #expect(MILPProgressRelay(nil, model: model, start: nil) == nil)
    }
}
