import AllotCore

/// Methods `milp-glpk`, `milp-cbc` and `dual+milp`.
enum MILPSolver {
    /// The exact method: the dual first (it is fast, and its allocation is the warm start, so a
    /// time-limited run is never worse than the dual), then the whole model on `backend`.
    ///
    /// A problem with floors or general rows (`Problem.hasFloorsOrRows`), which the dual does
    /// not take, goes to the backend whole, warm-started from `greedy-floors` when that meets
    /// the floors, with no bound but the backend's.
    static func solve(_ problem: Problem, backend: MILPBackend, options: SolveOptions) throws -> Solution {
        if problem.hasFloorsOrRows { return try solveWithFloors(problem, backend: backend, options: options) }
        let dual = DualSolver.solve(problem, options: dualOptions(options), threads: options.threads)
        options.milp.progress?(.exactPhase("building the 0-1 program, \(Readable.count(problem.candidates.count)) candidates"))
        let formulation = MILPFormulation(problem)
        var solution = Solution(method: backend.name, status: .optimal, allocation: dual.allocation, objective: dual.objective,
                                upperBound: dual.upperBound)
        if formulation.model.columnCount == 0 {
            solution.allocation = Allocation(candidates: [])
            solution.objective = 0
            solution.upperBound = 0
            return solution
        }
        guard let milp = backendOptions(options) else { return atLimit(dual, method: backend.name) }
        let result = try backend.solve(formulation.model, options: milp, start: formulation.point(dual.allocation))
        return merge(problem, solution: solution, result: result, formulation: formulation, fixed: [], notes: [],
                     gapTolerance: milp.relativeGap)
    }

    /// `solve` for a problem with floors or general rows: the whole model on `backend`.
    private static func solveWithFloors(_ problem: Problem, backend: MILPBackend, options: SolveOptions) throws -> Solution {
        options.milp.progress?(.exactPhase("building the 0-1 program, \(Readable.count(problem.candidates.count)) candidates"))
        let formulation = MILPFormulation(problem)
        let empty = Allocation(candidates: [])
        let emptyFits = Verifier.verify(problem, empty).isFeasible
        var solution = Solution(method: backend.name, status: emptyFits ? .feasible : .infeasible, allocation: empty,
                                objective: 0, upperBound: nil)
        if formulation.model.columnCount == 0 {
            // No candidate can help: the empty allocation is the only one worth a look.
            solution.status = emptyFits ? .optimal : .infeasible
            solution.upperBound = emptyFits ? 0 : nil
            return solution
        }
        // The warm start: greedy-floors' allocation when it meets the floors, so that a
        // time-limited run is never worse than it; else the empty one when that is feasible.
        let greedy = try BaselineMethod.greedyFloors.solve(problem, options: options)
        if greedy.status != .searchFailed, Verifier.verify(problem, greedy.allocation).isFeasible {
            solution.allocation = greedy.allocation
            solution.objective = greedy.objective
            solution.status = .feasible
        }
        let found = solution.status != .infeasible
        guard let milp = backendOptions(options) else {
            solution.status = found ? .feasibleAtLimit : .searchFailed
            solution.notes.append("the time limit came before the exact solve" + (found ? "; returned greedy-floors' allocation" : ""))
            return solution
        }
        let result = try backend.solve(formulation.model, options: milp, start: found ? formulation.point(solution.allocation) : nil)
        if result.status == .noSolutionAtLimit && !found {
            solution.status = .searchFailed
            solution.notes.append("the solver found no allocation that meets the floors within its limit; the search failed (it did not prove them infeasible)")
            return solution
        }
        var merged = merge(problem, solution: solution, result: result, formulation: formulation, fixed: [], notes: [],
                           gapTolerance: milp.relativeGap, startName: "greedy-floors'")
        if merged.status != .infeasible, !Verifier.verify(problem, merged.allocation).isFeasible {
            // Only the start was left, and it breaks a floor: never returned as an allocation.
            merged.status = .searchFailed
            merged.allocation = Allocation(candidates: [])
            merged.objective = 0
        }
        if merged.status == .infeasible {
            // Proven by the solver; the reason is the floor the ceilings leave out of reach.
            let reason = try backendOptions(options).map { try Infeasibility.explain(problem, backend: backend, options: $0) }
            merged.notes.insert("infeasible: " + (reason ?? "no allocation meets every constraint (the time limit left no time to find which floor)"), at: 0)
        }
        return merged
    }

    /// The dual's options inside an exact method: no greedy safety net, and under a time limit
    /// at most a third of it, so that the solver gets the rest.
    static func dualOptions(_ options: SolveOptions) -> DualOptions {
        var dual = options.dual
        dual.baselineCheck = .never
        if let deadline = dual.deadline {
            let now = monotonicSeconds()
            dual.deadline = now + max(0, deadline - now) / 3
        }
        return dual
    }

    /// The backend's options, its time limit cut to what is left of the whole solve's, less a
    /// reserve for the solver's overshoot (GLPK stops up to about 0.3 s late) and the merge;
    /// nil when nothing is left.
    static func backendOptions(_ options: SolveOptions) -> MILPOptions? {
        var milp = options.milp
        if let deadline = options.dual.deadline {
            let left = deadline - monotonicSeconds()
            let reserve = min(0.5, 0.1 * left)
            if left - reserve < 0.01 { return nil }
            milp.timeLimit = min(milp.timeLimit ?? left, left - reserve)
        }
        return milp
    }

    /// The dual's answer when the time limit left no time for the exact solve.
    static func atLimit(_ dual: Solution, method: String) -> Solution {
        var solution = dual
        solution.method = method
        if solution.status != .optimal { solution.status = .feasibleAtLimit }
        solution.notes.append("the time limit left no time for the exact solver; this is the dual's allocation")
        return solution
    }

    /// The exact finish of the default `dual` (see `FinishedDualMethod`): `dual` unchanged
    /// unless the model is small (`options.exactFinish`) and its gap is open; then the whole
    /// model on `backend`, started from the dual's allocation and cut off at its value.
    static func finish(_ problem: Problem, dual: Solution, backend: MILPBackend, options: SolveOptions) throws -> Solution {
        let rule = options.exactFinish
        let n = problem.candidates.count
        if dual.status == .searchFailed, n <= rule.maxCandidates {
            // The dual's recovery met not every floor (and the dual proved none out of reach):
            // on a small model the backend settles it, finding an allocation or proving none.
            var exactOptions = options
            exactOptions.milp.nodeLimit = min(options.milp.nodeLimit ?? rule.nodes, rule.nodes)
            var exact = try solveWithFloors(problem, backend: backend, options: exactOptions)
            exact.method = dual.method
            exact.iterations = dual.iterations
            exact.notes = dual.notes + ["the model is small (\(Readable.count(n)) candidates), so \(backend.solverName) searched it whole"] + exact.notes
            if exact.status == .optimal || exact.status == .feasible || exact.status == .feasibleAtLimit {
                exact.shadowPrices = dual.shadowPrices
            }
            return exact
        }
        guard n <= rule.maxCandidates, dual.status != .infeasible, let gap = dual.relativeGap,
              gap > options.dual.targetGap else { return dual }
        guard var milp = backendOptions(options) else {
            var solution = dual
            solution.notes.append("the time limit left no time to finish this small model exactly; this is the dual's allocation")
            return solution
        }
        milp.nodeLimit = min(milp.nodeLimit ?? rule.nodes, rule.nodes)
        options.milp.progress?(.exactPhase("finishing exactly with \(backend.solverName), \(Readable.count(n)) candidates"))
        let formulation = MILPFormulation(problem)
        guard formulation.model.columnCount > 0 else { return dual }
        let result = try backend.solve(formulation.model, options: milp, start: formulation.point(dual.allocation))
        guard result.status == .optimal || result.status == .feasibleAtLimit else {
            // With the dual's allocation as its start the solver always has a solution; if it
            // says otherwise, the dual's verified answer stands.
            var solution = dual
            solution.notes.append("\(backend.solverName) could not finish this small model exactly; this is the dual's allocation")
            return solution
        }
        var solution = merge(problem, solution: dual, result: result, formulation: formulation, fixed: [], notes: [],
                             gapTolerance: milp.relativeGap)
        let small = "the model is small (\(Readable.count(n)) candidates), so \(backend.solverName)"
        let improved = solution.objective > dual.objective
        let dualValue = "the dual alone reached \(Readable.grouped(dual.objective, decimals: 2))"
        if solution.status == .optimal {
            solution.notes.append(small + " finished it exactly: "
                                  + (improved ? "\(Readable.grouped(solution.objective, decimals: 2)) is optimal (\(dualValue))" : "the dual's allocation is optimal"))
        } else {
            // The finish's own budget stopped it, not the user's time limit (unless that is past).
            let pastDeadline = options.dual.deadline.map { monotonicSeconds() >= $0 } ?? false
            solution.status = pastDeadline ? .feasibleAtLimit : .feasible
            let searched = pastDeadline ? "searched until the time limit" : "searched \(Readable.count(milp.nodeLimit!)) branch-and-bound node\(milp.nodeLimit == 1 ? "" : "s")"
            solution.notes.append(small + " \(searched) for a better allocation and "
                                  + (improved ? "found \(Readable.grouped(solution.objective, decimals: 2)) (\(dualValue))" : "found none")
                                  + "; not proven optimal: the gap above is what is proven")
        }
        return solution
    }

    /// Polishing: fix every user whose choice at the dual's multipliers is clear, and solve the
    /// users nearest the tie exactly, with the capacity the others leave.
    ///
    /// - Complexity: the dual's solve, then O(n log k) for n candidates and k per user (each
    ///   user's reduced values sorted for its margin), O(U log U) to rank U users, and the
    ///   backend's search on `options.polishUsers` users' candidates (exponential in the worst
    ///   case, bounded by the time limit).
    static func polish(_ problem: Problem, backend: MILPBackend, options: SolveOptions) throws -> Solution {
        let engine = DualEngine(problem, threads: options.threads)
        var dual = DualSolver.solve(engine, options: dualOptions(options))
        if dual.status == .infeasible || dual.status == .searchFailed {
            // Proven impossible, or no allocation meeting the floors to start from: nothing to polish.
            dual.method = PolishMethod.name(backend)
            return dual
        }
        let m = dual.shadowPrices.map(\.multiplier)
        let t = problem.candidates
        // Each user's margin: how far its choice is from changing (see docs/algorithms.md).
        var margin = [(Double, Int)]()
        margin.reserveCapacity(t.userCount)
        m.withUnsafeBufferPointer { mp in
            var values: [Double] = []
            for u in 0..<t.userCount {
                values.removeAll(keepingCapacity: true)
                for j in t.candidates(ofUser: u) where engine.eligible[j] { values.append(engine.reduced(j, mp.baseAddress!)) }
                if values.isEmpty { continue }
                values.append(0)   // giving nothing
                values.sort(by: >)
                let f = min(problem.maxPerUser, values.count - 1)
                // The boundary between the f-th best option and the next.
                var gap = Double.infinity
                for k in 0..<values.count - 1 where k + 1 >= f && k <= f { gap = min(gap, values[k] - values[k + 1]) }
                if f == 0 { gap = values[0] - values[1] }
                margin.append((gap, u))
            }
        }
        margin.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let free = Set(margin.prefix(options.polishUsers).map(\.1))
        var columns: [Int] = []
        var fixed: [Int] = []
        var chosen = [Bool](repeating: false, count: t.count)
        for j in dual.allocation.candidates { chosen[j] = true }
        for u in 0..<t.userCount {
            for j in t.candidates(ofUser: u) {
                if free.contains(u) {
                    if engine.eligible[j] { columns.append(j) }
                } else if chosen[j] {
                    fixed.append(j)
                }
            }
        }
        // Residual capacity: what the fixed assignments leave of each global constraint.
        var limits = problem.rules.limits
        var lower = problem.rules.lower
        for j in fixed { problem.rules.forEachCoefficient(of: j) { i, a in limits[i] -= a; lower[i] -= a } }
        let formulation = MILPFormulation(problem, columns: columns, limits: limits, lower: lower)
        var solution = dual
        solution.method = PolishMethod.name(backend)
        let notes = ["\(backend.solverName) re-solved exactly the \(Readable.count(free.count)) users whose choice was closest to changing (\(Readable.count(columns.count)) candidates); the others keep the dual's choice"]
        guard formulation.model.columnCount > 0 else {
            solution.notes += notes
            return solution
        }
        guard var milp = backendOptions(options) else { return atLimit(solution, method: solution.method) }
        if let report = milp.progress {
            // In the whole problem's terms: the fixed assignments' uplift plus the freed users'.
            let fixedValue = fixed.reduce(0.0) { $0 + t.uplift[$1] }
            milp.progress = { event in
                guard case let .milp(incumbent, bound) = event else { return report(event) }
                report(.polish(incumbent: incumbent.map { fixedValue + $0 }, bound: bound.map { fixedValue + $0 }))
            }
        }
        let result = try backend.solve(formulation.model, options: milp, start: formulation.point(dual.allocation))
        var merged = merge(problem, solution: solution, result: result, formulation: formulation, fixed: fixed, notes: notes,
                           gapTolerance: milp.relativeGap)
        // The MILP's bound covers only the freed users; the dual's bound stays the global one.
        merged.upperBound = dual.upperBound
        merged.status = merged.relativeGap == 0 ? .optimal : (result.status == .optimal ? .feasible : .feasibleAtLimit)
        return merged
    }

    /// Combines a backend's answer with the assignments fixed outside its model, keeping the
    /// starting solution when the backend found nothing better.
    private static func merge(_ problem: Problem, solution start: Solution, result: MILPResult, formulation: MILPFormulation,
                              fixed: [Int], notes: [String], gapTolerance: Double, startName: String = "the dual's") -> Solution {
        var solution = start
        solution.notes += notes
        switch result.status {
        case .infeasible:
            solution.status = .infeasible
            solution.allocation = Allocation(candidates: [])
            solution.objective = 0
            solution.upperBound = nil
            return solution
        case .noSolutionAtLimit:
            solution.status = .feasibleAtLimit
            solution.notes.append("the exact solver found nothing better within its time limit; this is \(startName) allocation")
            return solution
        case .optimal, .feasibleAtLimit:
            break
        }
        let allocation = Allocation(candidates: fixed + formulation.allocation(result.values!).candidates)
        let report = Verifier.verify(problem, allocation)
        if !report.isFeasible {
            solution.notes.append("the exact solver's answer broke a rule (\(report.violations.first!)); this is \(startName) allocation instead")
            solution.status = .feasibleAtLimit
            return solution
        }
        if report.objective >= start.objective {
            solution.allocation = allocation
            solution.objective = report.objective
        }
        if fixed.isEmpty {
            solution.status = result.status == .optimal ? .optimal : .feasibleAtLimit
            if result.status == .optimal && result.withinGapTolerance { solution.gapTolerance = gapTolerance }
            // Both the dual's bound and the solver's are proven: keep the tighter.
            if let bound = result.bestBound { solution.upperBound = max(solution.objective, min(solution.upperBound ?? bound, bound)) }
        }
        return solution
    }
}
