#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The allocation methods Allot offers.
public enum Method: String, CaseIterable, Sendable {
    case dual
    case milpGLPK = "milp-glpk"
    case milpCBC = "milp-cbc"
    case dualMILP = "dual+milp"
    case greedyRatio = "greedy-ratio"
    case greedyUplift = "greedy-uplift"
    case blanket
    case greedyMarginal = "greedy-marginal"
    case random

    /// The method `allot solve` uses when none is named.
    public static let best: Method = .dual

    /// A method by name; `milp` is `milp-glpk`.
    public init?(named name: String) {
        if name == "milp" { self = .milpGLPK; return }
        self.init(rawValue: name)
    }

    /// The greedy baselines, for comparisons.
    public static let baselines: [Method] = [.greedyMarginal, .greedyRatio, .greedyUplift, .blanket, .random]
}

/// Settings shared by the methods.
public struct SolveOptions: Sendable {
    /// Seed of the seeded methods (`random`, `blanket`).
    public var seed: UInt64 = 1
    /// Worker threads for the methods that use them (`dual`, `greedy-marginal`); results do
    /// not depend on it.
    public var threads: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// Settings of the `dual` method.
    public var dual = DualOptions()
    /// Settings of the exact methods.
    public var milp = MILPOptions()
    /// The backend `dual+milp` polishes with.
    public var milpBackend: MILPBackend = GLPKBackend()
    /// How many users nearest the tie `dual+milp` solves exactly.
    public var polishUsers = 2_000
    public init(seed: UInt64 = 1) { self.seed = seed }
}

/// Runs `method` on `problem`.
///
/// The result's allocation is feasible for every method (check it with `Verifier.verify`);
/// `objective` is its total uplift.
///
/// - Throws: `SolveError` when the method fails.
public func solve(_ problem: Problem, method: Method, options: SolveOptions = SolveOptions()) throws -> Solution {
    let start = monotonicSeconds()
    var notes: [String] = []
    let allocation: Allocation
    switch method {
    case .dual:
        var solution = DualSolver.solve(problem, options: options.dual, threads: options.threads)
        solution.wallSeconds = monotonicSeconds() - start
        return solution
    case .milpGLPK, .milpCBC, .dualMILP:
        var solution: Solution
        switch method {
        case .milpGLPK: solution = try MILPSolver.solve(problem, backend: GLPKBackend(), options: options)
        case .milpCBC: solution = try MILPSolver.solve(problem, backend: CBCBackend(), options: options)
        default: solution = try MILPSolver.polish(problem, options: options)
        }
        solution.wallSeconds = monotonicSeconds() - start
        return solution
    case .greedyRatio: allocation = GreedyBaselines.ratio(problem)
    case .greedyUplift: allocation = GreedyBaselines.uplift(problem)
    case .random: allocation = GreedyBaselines.random(problem, seed: options.seed)
    case .greedyMarginal: allocation = GreedyMarginal.solve(problem, threads: options.threads)
    case .blanket:
        let (a, coupon) = GreedyBaselines.blanket(problem, seed: options.seed)
        allocation = a
        notes.append(coupon.map { "blanket coupon: \($0)" } ?? "blanket: no coupon has positive average uplift")
    }
    var solution = Solution(method: method.rawValue, status: .feasible, allocation: allocation,
                            objective: totalUplift(problem, allocation))
    solution.notes = notes
    solution.wallSeconds = monotonicSeconds() - start
    return solution
}

func totalUplift(_ problem: Problem, _ allocation: Allocation) -> Double {
    var s = 0.0
    for j in allocation.candidates { s += problem.candidates.uplift[j] }
    return s
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
