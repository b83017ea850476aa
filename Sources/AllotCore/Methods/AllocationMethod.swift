import FoundationEssentials

/// An allocation method: one engine of Allot, or a baseline.
///
/// Conformances are values that carry their own configuration (an exact method carries its
/// backend). `MethodRegistry` lists them by name; `solve`, `allot bench`, the CLI's `--method`
/// and docs/cli.md all read that one list. A new engine is a new conformance plus one line in
/// the registry.
public protocol AllocationMethod: Sendable {
    /// The name users type (`dual`, `milp-cbc`, `greedy-ratio`).
    var name: String { get }
    /// What kind of method this is: the optimiser, an exact method, or a baseline.
    var role: MethodRole { get }
    /// One line for help texts and docs.
    var summary: String { get }
    /// Runs the method. The returned allocation is feasible whenever the status is not
    /// `infeasible`; check it with `Verifier.verify`.
    ///
    /// - Throws: `SolveError` when the method fails (not when the model is infeasible: that is
    ///   a status).
    func solve(_ problem: Problem, options: SolveOptions) throws -> Solution
}

/// What a method is for.
public enum MethodRole: String, Sendable {
    /// The Lagrangian dual: the default, with a certified gap.
    case optimizer
    /// An exact 0-1 program (GLPK, CBC), or exact polishing.
    case exact
    /// What teams run today: a greedy rule or random targeting, with no bound.
    case baseline
}

/// Settings shared by the methods.
public struct SolveOptions: Sendable {
    /// Seed of the seeded methods (`random`, `blanket`).
    public var seed: UInt64 = 1
    /// Worker threads for the methods that use them (`dual`, `greedy-marginal`); results do
    /// not depend on it.
    public var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Settings of the `dual` method.
    public var dual = DualOptions()
    /// Settings of the exact methods.
    public var milp = MILPOptions()
    /// How many users nearest the tie `dual+milp` solves exactly.
    public var polishUsers = 2_000
    /// When the default `dual` of `MethodRegistry.standard` (`import Allot`) finishes a small
    /// model exactly; `DualMethod` itself (AllotCore, no C library) ignores it.
    public var exactFinish = ExactFinishOptions()
    /// Seconds of wall time for the whole solve, nil for none. The dual and the exact methods
    /// stop by then (within about 5% + 1 s) and return the best allocation found; the greedy
    /// methods have no limit (they take one pass).
    public var timeLimit: Double?
    public init(seed: UInt64 = 1) { self.seed = seed }

    /// These options with the dual's deadline set from `timeLimit`, counted from now, unless a
    /// deadline is set already. Methods that honour the limit call it first.
    package func startingClock() -> SolveOptions {
        guard let timeLimit, dual.deadline == nil else { return self }
        var copy = self
        copy.dual.deadline = monotonicSeconds() + timeLimit
        return copy
    }
}

/// The size rule and the work budget of the exact finish: on a model of at most
/// `maxCandidates` candidates whose gap the dual left open (above its target gap), the `dual`
/// of `MethodRegistry.standard` hands its allocation and bound to an exact solver (COIN-OR CBC)
/// for at most `nodes` branch-and-bound nodes (and never past `SolveOptions.timeLimit`). The finish proves the
/// allocation optimal, or returns the better of the two with the tighter of the two bounds.
public struct ExactFinishOptions: Sendable {
    /// Models with more candidates keep the dual's answer; 0 turns the finish off
    /// (`--exact-finish-limit 0`, `exact_finish_limit=0`).
    public var maxCandidates = 2_000
    /// Branch-and-bound nodes for the exact solver (`MILPOptions.nodeLimit`): a budget of work,
    /// not of time, so that the finish gives the same allocation on a loaded machine as on a
    /// quiet one. About 2.5 ms a node at 2,000 candidates (docs/benchmarks.md), where the
    /// generated models close in a few hundred.
    public var nodes = 1_000
    public init(maxCandidates: Int = 2_000, nodes: Int = 1_000) {
        self.maxCandidates = maxCandidates
        self.nodes = nodes
    }
}

/// Settings of an exact solve.
public struct MILPOptions: Sendable {
    /// Seconds of wall time; nil for none. A limited run returns the best allocation found.
    public var timeLimit: Double?
    /// Branch-and-bound nodes the search may open; nil for no limit. A search it stops
    /// returns the best allocation found, and, unlike `timeLimit`, the same one on every run:
    /// it counts work, not the machine's time.
    public var nodeLimit: Int?
    /// Stop when (bound - best) / best is below this.
    public var relativeGap: Double = 1e-6
    /// Let the solver print its log on standard error.
    public var verbose = false
    /// Called with the solver's incumbent and bound as they improve, by backends that report them.
    public var progress: ProgressHandler?
    public init(timeLimit: Double? = nil, relativeGap: Double = 1e-6, verbose: Bool = false) {
        self.timeLimit = timeLimit
        self.relativeGap = relativeGap
        self.verbose = verbose
    }
}

/// Runs `method` on `problem` and records the wall time.
///
///     let solution = try solve(problem, method: .dual)
///
/// - Throws: `InvalidOption` for an option out of range, `SolveError` when the method fails.
/// - Complexity: the method's. For ``DualMethod``, O(n (B + log k) / threads) per sweep of the
///   multiplier search for n candidates, B budgets and k candidates per user, and a recovery of
///   about the same order (docs/algorithms.md); for the exact methods, the backend's search,
///   bounded by `options.timeLimit`.
public func solve(_ problem: Problem, method: some AllocationMethod = DualMethod(),
                  options: SolveOptions = SolveOptions()) throws -> Solution {
    try options.validate()
    let start = monotonicSeconds()
    var solution = try method.solve(problem, options: options.startingClock())
    solution.wallSeconds = monotonicSeconds() - start
    return solution
}

/// The methods available to a program, by name.
///
/// `MethodRegistry.core` holds the methods of `AllotCore` (the dual and the baselines); the
/// `Allot` umbrella's `MethodRegistry.standard` adds the exact methods.
public struct MethodRegistry: Sendable {
    /// In the order users see them: optimiser, exact methods, baselines.
    public let methods: [any AllocationMethod]
    /// Other names accepted for a method (`milp` for `milp-glpk`).
    public let aliases: [String: String]

    public init(_ methods: [any AllocationMethod], aliases: [String: String] = [:]) {
        self.methods = methods
        self.aliases = aliases
    }

    /// The method called `name` (or an alias of it), if registered.
    /// - Complexity: O(number of methods).
    public func method(named name: String) -> (any AllocationMethod)? {
        let resolved = aliases[name] ?? name
        return methods.first { $0.name == resolved }
    }

    /// The registered names, in order.
    public var names: [String] { methods.map(\.name) }

    /// The baselines, for comparisons.
    public var baselines: [any AllocationMethod] { methods.filter { $0.role == .baseline } }

    /// This registry with `more` methods added after the optimiser and before the baselines.
    public func adding(_ more: [any AllocationMethod], aliases moreAliases: [String: String] = [:]) -> MethodRegistry {
        let head = methods.filter { $0.role != .baseline }
        return MethodRegistry(head + more + baselines, aliases: aliases.merging(moreAliases) { $1 })
    }

    /// The dual and the greedy baselines: everything that needs no C library.
    public static let core = MethodRegistry([DualMethod()] + BaselineMethod.all)
}

package func totalUplift(_ problem: Problem, _ allocation: Allocation) -> Double {
    var s = 0.0
    for j in allocation.candidates { s += problem.candidates.uplift[j] }
    return s
}

/// Seconds on a monotonic clock, from an arbitrary origin fixed at the first call: only
/// differences mean anything.
package func monotonicSeconds() -> Double {
    let elapsed = clockOrigin.duration(to: .now).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
}

private let clockOrigin = SuspendingClock.now
