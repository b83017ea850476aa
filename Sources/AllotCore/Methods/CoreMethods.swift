/// The Lagrangian dual with primal recovery (see docs/algorithms.md): the default method.
public struct DualMethod: AllocationMethod {
    public init() {}
    public var name: String { "dual" }
    public var role: MethodRole { .optimizer }
    public var summary: String { "Lagrangian dual with exact multipliers and coordinate descent, then primal recovery; reports a proven upper bound, the gap and shadow prices (docs/algorithms.md)" }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        DualSolver.solve(problem, options: options.dual, threads: options.threads)
    }
}

/// Greedy on marginal uplift per unit of scarce resource, with upgrade moves.
public struct GreedyMarginalMethod: AllocationMethod {
    public init() {}
    public var name: String { "greedy-marginal" }
    public var role: MethodRole { .baseline }
    public var summary: String { "incremental-ratio greedy of the multiple-choice knapsack: users trade up to better coupons in order of extra uplift per extra cost (the strong baseline)" }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        baselineSolution(name, problem, GreedyMarginal.solve(problem, threads: options.threads))
    }
}

/// Candidates by uplift / cost, while they fit.
public struct GreedyRatioMethod: AllocationMethod {
    public init() {}
    public var name: String { "greedy-ratio" }
    public var role: MethodRole { .baseline }
    public var summary: String { "candidates by uplift per cost, each taken if it fits" }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        baselineSolution(name, problem, GreedyBaselines.ratio(problem))
    }
}

/// Candidates by uplift, while they fit.
public struct GreedyUpliftMethod: AllocationMethod {
    public init() {}
    public var name: String { "greedy-uplift" }
    public var role: MethodRole { .baseline }
    public var summary: String { "candidates by uplift, each taken if it fits" }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        baselineSolution(name, problem, GreedyBaselines.uplift(problem))
    }
}

/// One coupon (best average uplift) for users in random order, while it fits.
public struct BlanketMethod: AllocationMethod {
    public init() {}
    public var name: String { "blanket" }
    public var role: MethodRole { .baseline }
    public var summary: String { "everyone gets the one coupon with the best average uplift per cost, users in seeded random order, until a limit binds" }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        let (allocation, coupon) = GreedyBaselines.blanket(problem, seed: options.seed)
        var solution = baselineSolution(name, problem, allocation)
        solution.notes.append(coupon.map { "blanket coupon: \($0)" } ?? "blanket: no coupon has positive average uplift")
        return solution
    }
}

/// Random eligible candidates, while they fit.
public struct RandomMethod: AllocationMethod {
    public init() {}
    public var name: String { "random" }
    public var role: MethodRole { .baseline }
    public var summary: String { "candidates in seeded random order, each taken if it fits" }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        baselineSolution(name, problem, GreedyBaselines.random(problem, seed: options.seed))
    }
}

private func baselineSolution(_ name: String, _ problem: Problem, _ allocation: Allocation) -> Solution {
    Solution(method: name, status: .feasible, allocation: allocation, objective: totalUplift(problem, allocation))
}

extension AllocationMethod where Self == DualMethod {
    /// The Lagrangian dual (`dual`).
    public static var dual: DualMethod { DualMethod() }
}
extension AllocationMethod where Self == GreedyMarginalMethod {
    public static var greedyMarginal: GreedyMarginalMethod { GreedyMarginalMethod() }
}
extension AllocationMethod where Self == GreedyRatioMethod {
    public static var greedyRatio: GreedyRatioMethod { GreedyRatioMethod() }
}
extension AllocationMethod where Self == GreedyUpliftMethod {
    public static var greedyUplift: GreedyUpliftMethod { GreedyUpliftMethod() }
}
extension AllocationMethod where Self == BlanketMethod {
    public static var blanket: BlanketMethod { BlanketMethod() }
}
extension AllocationMethod where Self == RandomMethod {
    public static var random: RandomMethod { RandomMethod() }
}
