import AllotCore
import AllotMILP
import CCbc
import CCbcHooks
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// COIN-OR CBC 2.10 through its C API (libCbcSolver). `Cbc_solve` is not safe to run
/// concurrently, so solves are serialised by a process-wide lock.
public struct CBCBackend: MILPBackend {
    public init() {}
    public var name: String { "milp-cbc" }
    public var solverName: String { "COIN-OR CBC" }

    /// Held around `Cbc_solve`: CBC 2.10 mixes up the parameters of concurrent solves.
    private static let solveLock = Mutex(())

    public func solve(_ model: MILPModel, options: MILPOptions, start: [Double]?) throws -> MILPResult {
        try options.validate()
        let began = monotonicSeconds()
        guard let cbc = Cbc_newModel() else { throw SolveError("CBC could not create a model") }
        var log: UnsafeMutableRawPointer?   // the log's message handler, used by the model until deleted
        defer {
            Cbc_deleteModel(cbc)
            allot_cbc_log_free(log)
        }
        let (starts, rows, values) = model.columnMajor()
        let n = model.columnCount
        let lower = [Double](repeating: 0, count: n)
        let upper = [Double](repeating: 1, count: n)
        let rowLower = (0..<model.rowCount).map { model.sense[$0] == .greaterEqual ? model.rhs[$0] : -Double.infinity }
        let rowUpper = (0..<model.rowCount).map { model.sense[$0] == .lessEqual ? model.rhs[$0] : Double.infinity }
        Cbc_loadProblem(cbc, Int32(n), Int32(model.rowCount), starts, rows, values,
                        lower, upper, model.objective, rowLower, rowUpper)
        for c in 0..<n { Cbc_setInteger(cbc, Int32(c)) }
        Cbc_setObjSense(cbc, -1)   // maximise
        Cbc_setLogLevel(cbc, options.verbose ? 1 : 0)
        // Quiet, CBC prints nothing; verbose, its log goes where ours goes (standard output may
        // carry the allocation). A handler of ours at level 0 would not keep CBC quiet (a test checks both).
        if options.verbose { log = allot_cbc_log_to_stderr(cbc) }
        if options.timeLimit != nil {
            // CBC counts CPU seconds unless told to count wall-clock ("elapsed") seconds.
            Cbc_setParameter(cbc, "timeMode", "elapsed")
        }
        Cbc_setAllowableFractionGap(cbc, options.relativeGap)
        if let nodeLimit = options.nodeLimit { Cbc_setMaximumNodes(cbc, Int32(clamping: nodeLimit)) }
        // The warm start. CBC 2.10.8's MIP start fails here ("Illegal index ... in
        // ClpModel::getColumnName" and no search), so the start's value becomes a cutoff
        // instead: the search only looks for better solutions, and if it proves there are none,
        // the start is optimal.
        var startValue: Double?
        if let start {
            let value = model.objectiveValue(start)
            startValue = value
            Cbc_setCutoff(cbc, -value)   // CBC minimises -uplift internally
        }
        let relay = MILPProgressRelay(options.progress, model: model, start: start)
        var lpStopped: Int32 = 0   // set by the LP deadline when it stopped one of CLP's simplex runs
        let status = withUnsafeMutablePointer(to: &lpStopped) { stopped in
            MILPProgressRelay.withContext(relay) { context in
                if relay != nil { allot_cbc_watch(cbc, Self.reportProgress, context) }
                return Self.solveLock.withLock { _ in
                    if let limit = options.timeLimit {
                        // The time spent building the model and waiting for the lock counts too.
                        let left = max(0.01, limit - (monotonicSeconds() - began))
                        Cbc_setMaximumSeconds(cbc, left)
                        // CBC checks its limit only between LPs; the root LP of a large model alone can take minutes.
                        _ = allot_cbc_lp_deadline(cbc, left, stopped)
                    }
                    // Until CBC's search reports (after its root relaxation and preprocessing), the phase shows.
                    options.progress?(.exactPhase("\(solverName): root LP relaxation and preprocessing, \(Readable.count(n)) columns"))
                    return Cbc_solve(cbc)
                }
            }
        }
        if lpStopped != 0 {
            // The limit stopped an LP: CBC's statuses and bound then mean nothing proven; its
            // best solution, if any, is still feasible (the caller verifies it), else the start.
            if let solution = Cbc_bestSolution(cbc) {   // CBC's best integer solution, not the stopped LP's
                let x: [Double] = (0..<n).map { solution[$0] > 0.5 ? 1 : 0 }
                let value = model.objectiveValue(x)
                if value > startValue ?? -.infinity { return MILPResult(status: .feasibleAtLimit, values: x, objective: value, bestBound: nil) }
            }
            return MILPResult(status: start == nil ? .noSolutionAtLimit : .feasibleAtLimit, values: start,
                              objective: startValue, bestBound: nil)
        }
        if status == 2 || Cbc_isAbandoned(cbc) != 0 { throw SolveError("CBC abandoned the search (numerical difficulties)") }
        if Cbc_isProvenInfeasible(cbc) != 0 {
            // Nothing beats the start by more than the gap tolerance: it is optimal within it.
            if let start, let startValue {
                let exact = options.relativeGap == 0
                return MILPResult(status: .optimal, values: start, objective: startValue, bestBound: exact ? startValue : nil,
                                  withinGapTolerance: !exact)
            }
            return MILPResult(status: .infeasible, values: nil, objective: nil, bestBound: nil)
        }
        let hasSolution = Cbc_numberSavedSolutions(cbc) > 0 || Cbc_bestSolution(cbc) != nil
        var x: [Double]?
        var objective: Double?
        if hasSolution, let solution = Cbc_getColSolution(cbc) {
            x = (0..<n).map { solution[$0] > 0.5 ? 1 : 0 }
            objective = model.objectiveValue(x!)
        }
        let bound = Cbc_getBestPossibleObjValue(cbc)
        // isProvenOptimal is also set when CBC stopped on the gap tolerance (secondary status 2).
        let finished = Cbc_isProvenOptimal(cbc) != 0 && [0, 2].contains(Cbc_secondaryStatus(cbc))
        let withinGap = finished && Cbc_secondaryStatus(cbc) == 2
        guard let x else {
            // Under the start's cutoff, "no solution" means none better than the start.
            if let start, let startValue {
                return MILPResult(status: finished ? .optimal : .feasibleAtLimit, values: start, objective: startValue,
                                  bestBound: bound.isFinite ? max(bound, startValue) : nil,
                                  withinGapTolerance: withinGap || (finished && options.relativeGap > 0))
            }
            return MILPResult(status: finished ? .infeasible : .noSolutionAtLimit, values: nil, objective: nil, bestBound: nil)
        }
        return MILPResult(status: finished ? .optimal : .feasibleAtLimit, values: x, objective: objective,
                          bestBound: bound.isFinite ? max(bound, objective!) : nil, withinGapTolerance: withinGap)
    }

    /// The event handler's progress callback (it calls no CBC function).
    private static let reportProgress: allot_cbc_progress = { context, hasIncumbent, incumbent, hasBound, bound in
        MILPProgressRelay.relay(context, hasIncumbent: hasIncumbent, incumbent: incumbent, hasBound: hasBound, bound: bound)
    }
}

extension AllocationMethod where Self == MILPMethod {
    /// The exact 0-1 program on COIN-OR CBC (`milp-cbc`).
    public static var milpCBC: MILPMethod { MILPMethod(backend: CBCBackend()) }
}
