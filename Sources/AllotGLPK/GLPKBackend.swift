import AllotCore
import AllotMILP
import CGLPKGuard

/// GLPK (libglpk 5.0) through the CGLPKGuard C target, which turns GLPK's abort-on-error into
/// an error code. GLPK's 1-based indices stay in that C file. A problem is created, solved and
/// deleted within one call, on one thread (GLPK's environment is thread-local).
public struct GLPKBackend: MILPBackend {
    public init() {}
    public var name: String { "milp-glpk" }
    public var solverName: String { "GLPK" }

    public func solve(_ model: MILPModel, options: MILPOptions, start: [Double]?) throws -> MILPResult {
        try options.validate()
        let began = monotonicSeconds()
        var handle: OpaquePointer?
        let senses = model.sense.map { CChar(bitPattern: $0.rawValue) }
        let built = allot_glpk_build(&handle, Int32(model.columnCount), model.objective, Int32(model.rowCount),
                                     senses, model.rhs, model.rowStart, model.column, model.value)
        guard built == ALLOT_GLPK_OK, let handle else { throw Self.error("building the model") }
        var outcome: Int32 = 0
        var objective = 0.0
        var hasBound: Int32 = 0
        var bound = 0.0
        var withinGap: Int32 = 0
        var values = [Double](repeating: 0, count: model.columnCount)
        // The time spent building the model counts too (a limit of 0 means none, hence the floor).
        let limit = options.timeLimit.map { max(0.01, $0 - (monotonicSeconds() - began)) } ?? 0
        let relay = MILPProgressRelay(options.progress, model: model, start: start)
        let solved = values.withUnsafeMutableBufferPointer { x in
            withOptionalPointer(start) { startPointer in
                MILPProgressRelay.withContext(relay) { context in
                    allot_glpk_solve(handle, limit, Int32(clamping: options.nodeLimit ?? 0), options.relativeGap, options.verbose ? 1 : 0, startPointer,
                                     relay == nil ? nil : Self.reportProgress, context,
                                     &outcome, &objective, &hasBound, &bound, &withinGap, x.baseAddress)
                }
            }
        }
        // After an error the guard has freed everything of this thread, the handle included.
        guard solved == ALLOT_GLPK_OK else { throw Self.error("solving") }
        allot_glpk_delete(handle)
        // GLPK's own bound: the open nodes' best, tracked in the callback, or none.
        let bestBound = hasBound != 0 ? bound : nil
        switch outcome {
        case ALLOT_GLPK_OPTIMAL:
            return MILPResult(status: .optimal, values: values, objective: objective, bestBound: bestBound,
                              withinGapTolerance: withinGap != 0)
        case ALLOT_GLPK_FEASIBLE:
            if let start, model.objectiveValue(start) > objective {
                let value = model.objectiveValue(start)
                return MILPResult(status: .feasibleAtLimit, values: start, objective: value, bestBound: bestBound.map { max($0, value) })
            }
            return MILPResult(status: .feasibleAtLimit, values: values, objective: objective, bestBound: bestBound)
        case ALLOT_GLPK_INFEASIBLE:
            return MILPResult(status: .infeasible, values: nil, objective: nil, bestBound: nil)
        default:
            // The limit came before GLPK took the start (it does so after the root relaxation):
            // the start is still the best solution known.
            if let start { return MILPResult(status: .feasibleAtLimit, values: start, objective: model.objectiveValue(start), bestBound: nil) }
            return MILPResult(status: .noSolutionAtLimit, values: nil, objective: nil, bestBound: nil)
        }
    }

    /// The guard's progress callback (it runs inside glp_intopt and calls no GLPK function).
    private static let reportProgress: allot_glpk_progress = { context, hasIncumbent, incumbent, hasBound, bound in
        MILPProgressRelay.relay(context, hasIncumbent: hasIncumbent, incumbent: incumbent, hasBound: hasBound, bound: bound)
    }

    /// Calls GLPK wrongly on purpose: for tests of the guard.
    package static func forceError() throws {
        if allot_glpk_force_error() != ALLOT_GLPK_OK { throw error("a forced invalid call") }
    }

    static func error(_ doing: String) -> SolveError {
        let text = String(cString: allot_glpk_message()).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        // GLPK prints the failed call's complaint, then "Error detected in file ... at line ...".
        let complaint = text.filter { !$0.hasPrefix("Error detected in file") }.last ?? text.last ?? "no message"
        return SolveError("GLPK failed while \(doing): \(complaint)")
    }
}

func withOptionalPointer<R>(_ array: [Double]?, _ body: (UnsafePointer<Double>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

extension AllocationMethod where Self == MILPMethod {
    /// The exact 0-1 program on GLPK (`milp-glpk`).
    public static var milpGLPK: MILPMethod { MILPMethod(backend: GLPKBackend()) }
}

extension AllocationMethod where Self == PolishMethod {
    /// The dual polished with GLPK (`dual+milp`).
    public static var dualMILP: PolishMethod { PolishMethod(backend: GLPKBackend()) }
}
