import AllotCore

/// An exact method: the whole 0-1 program on one backend, warm-started from the dual
/// (`milp-glpk`, `milp-cbc`). A problem with floors or general rows goes to the backend whole,
/// without the dual (which does not take them yet).
public struct MILPMethod: AllocationMethod {
    public let backend: any MILPBackend
    public init(backend: any MILPBackend) { self.backend = backend }
    public var name: String { backend.name }
    public var role: MethodRole { .exact }
    public var summary: String {
        "exact 0-1 program with \(backend.solverName), warm-started from the dual; honours `--time-limit` and `--gap`, returns the best found at a limit"
    }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        try options.validate()
        return try MILPSolver.solve(problem, backend: backend, options: options.startingClock())
    }
}

/// The default method `dual` of `MethodRegistry.standard`: the Lagrangian dual (`DualMethod`),
/// then, on a small model whose gap it left open, an exact finish on `backend` (COIN-OR CBC in
/// the registry), warm-started from the dual's allocation.
///
/// The size rule and the work budget are `SolveOptions.exactFinish`: at most 2,000 candidates
/// and 1,000 branch-and-bound nodes by default (a count, so that the allocation does not depend
/// on the machine's load; never past `SolveOptions.timeLimit`). A finish that proves the optimum
/// gives the status `optimal`; one that stops first keeps the better allocation and the tighter
/// of the two proven bounds. Either way a note says what the exact solver did. The shadow prices
/// stay the dual's. Never worse than the dual, and on large models exactly the dual.
/// - Complexity: the dual's, plus at most `exactFinish.nodes` nodes of the backend on small models.
public struct FinishedDualMethod: AllocationMethod {
    public let backend: any MILPBackend
    public init(backend: any MILPBackend) { self.backend = backend }
    public var name: String { DualMethod().name }
    public var role: MethodRole { .optimizer }
    public var summary: String {
        DualMethod().summary + "; a model of at most 2,000 candidates whose gap stays open is then finished exactly with \(backend.solverName) within 1,000 branch-and-bound nodes (`--exact-finish-limit`)"
    }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        try options.validate()
        let options = options.startingClock()
        let dual = try DualMethod().solve(problem, options: options)
        return try MILPSolver.finish(problem, dual: dual, backend: backend, options: options)
    }
}

/// Polishing (`dual+milp`): the dual, then the users nearest the tie solved exactly on one
/// backend with the capacity the others leave; never worse than the dual.
public struct PolishMethod: AllocationMethod {
    public let backend: any MILPBackend
    public init(backend: any MILPBackend) { self.backend = backend }
    public var name: String { Self.name(backend) }
    public var role: MethodRole { .exact }
    public var summary: String {
        "the dual, then the users nearest the tie (2,000 by default) solved exactly with \(backend.solverName) with the capacity the others leave; never worse than the dual"
    }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        try options.validate()
        return try MILPSolver.polish(problem, backend: backend, options: options.startingClock())
    }

    /// `dual+milp` with GLPK (the default backend), `dual+milp-cbc` with CBC.
    static func name(_ backend: any MILPBackend) -> String {
        backend.name == "milp-glpk" ? "dual+milp" : "dual+" + backend.name
    }
}
