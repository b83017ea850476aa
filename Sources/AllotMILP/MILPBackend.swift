import AllotCore

/// What a backend established about a model. A returned status is not an error: errors are
/// thrown.
public enum MILPStatus: String, Sendable {
    case optimal
    /// A limit stopped the search; `values` is the best solution found.
    case feasibleAtLimit = "feasible_at_limit"
    case infeasible
    /// A limit stopped the search before any solution was found.
    case noSolutionAtLimit = "no_solution_at_limit"
}

public struct MILPResult: Sendable {
    public var status: MILPStatus
    /// A 0-1 value per column, when a solution is known.
    public var values: [Double]?
    public var objective: Double?
    /// The solver's proven bound on the optimum, when it reports one.
    public var bestBound: Double?
    /// `optimal` only within `MILPOptions.relativeGap`: the solver stopped on its gap tolerance.
    public var withinGapTolerance = false

    public init(status: MILPStatus, values: [Double]? = nil, objective: Double? = nil, bestBound: Double? = nil,
                withinGapTolerance: Bool = false) {
        self.status = status
        self.values = values
        self.objective = objective
        self.bestBound = bestBound
        self.withinGapTolerance = withinGapTolerance
    }
}

/// An exact 0-1 solver. Conformances live in their own targets (AllotGLPK, AllotCBC), one per
/// solver, and are the only Swift that touches C.
public protocol MILPBackend: Sendable {
    /// The method name (`milp-glpk`, `milp-cbc`).
    var name: String { get }
    /// The solver's name for people (`GLPK`, `COIN-OR CBC`).
    var solverName: String { get }
    /// Solves `model`; `start`, when given, is a feasible 0-1 point to start from.
    /// - Throws: `SolveError` when the solver fails (not when the model is infeasible).
    func solve(_ model: MILPModel, options: MILPOptions, start: [Double]?) throws -> MILPResult
}
