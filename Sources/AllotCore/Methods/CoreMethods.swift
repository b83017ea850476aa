/// The Lagrangian dual with primal recovery (see docs/algorithms.md): the default method.
public struct DualMethod: AllocationMethod {
    public init() {}
    public var name: String { "dual" }
    public var role: MethodRole { .optimizer }
    public var summary: String {
        "Lagrangian dual with exact multipliers and coordinate descent, then primal recovery; reports a proven upper bound, the gap and shadow prices (docs/algorithms.md)"
    }
    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        try options.validate()
        let options = options.startingClock()
        return DualSolver.solve(problem, options: options.dual, threads: options.threads)
    }
}

/// A baseline: what marketing teams run today. Each keeps every ceiling and returns an
/// allocation with no bound. None but `greedy-floors` knows floors: on a problem with floors
/// the others may break them (`allot bench` marks them), and none assigns a candidate with
/// uplift <= 0. `greedy-floors` meets the floors first (with such candidates if it must),
/// or reports `search_failed` when it cannot.
public struct BaselineMethod: AllocationMethod {
    enum Rule: String, CaseIterable { case greedyMarginal = "greedy-marginal", greedyFloors = "greedy-floors",
                                          greedyRatio = "greedy-ratio", greedyUplift = "greedy-uplift", blanket, random }
    let rule: Rule

    /// `greedy-marginal`: the incremental-ratio greedy of the multiple-choice knapsack.
    public static let greedyMarginal = BaselineMethod(rule: .greedyMarginal)
    /// `greedy-floors`: floors first (cheapest per unit of shortfall), then `greedy-marginal`.
    public static let greedyFloors = BaselineMethod(rule: .greedyFloors)
    /// `greedy-ratio`: candidates by uplift per cost, each taken if it fits.
    public static let greedyRatio = BaselineMethod(rule: .greedyRatio)
    /// `greedy-uplift`: candidates by uplift, each taken if it fits.
    public static let greedyUplift = BaselineMethod(rule: .greedyUplift)
    /// `blanket`: one coupon for everyone, users in seeded random order.
    public static let blanket = BaselineMethod(rule: .blanket)
    /// `random`: candidates in seeded random order, each taken if it fits.
    public static let random = BaselineMethod(rule: .random)
    /// Every baseline, strongest first.
    public static let all = Rule.allCases.map(BaselineMethod.init(rule:))

    public var name: String { rule.rawValue }
    public var role: MethodRole { .baseline }
    public var summary: String {
        switch rule {
        case .greedyMarginal:
            "incremental-ratio greedy of the multiple-choice knapsack: users trade up to better coupons in order of extra uplift per extra cost (the strong baseline)"
        case .greedyFloors:
            "floor-aware greedy: meets the floors first, cheapest per unit of shortfall, then greedy-marginal with moves that keep them"
        case .greedyRatio: "candidates by uplift per cost, each taken if it fits"
        case .greedyUplift: "candidates by uplift, each taken if it fits"
        case .blanket: "everyone gets the one coupon with the best average uplift per cost, users in seeded random order, until a limit binds"
        case .random: "candidates in seeded random order, each taken if it fits"
        }
    }

    public func solve(_ problem: Problem, options: SolveOptions) throws -> Solution {
        try options.validate()
        var notes: [String] = []
        let allocation: Allocation
        switch rule {
        case .greedyMarginal: allocation = GreedyMarginal.solve(problem, threads: options.threads)
        case .greedyFloors:
            guard let met = GreedyFloors.solve(problem, threads: options.threads) else {
                var failed = Solution(method: name, status: .searchFailed, allocation: Allocation(candidates: []), objective: 0)
                failed.notes = ["greedy-floors left a floor short (the greedy search failed; this does not prove the floors infeasible: try milp-cbc)"]
                return failed
            }
            allocation = met
        case .greedyRatio: allocation = GreedyBaselines.ratio(problem)
        case .greedyUplift: allocation = GreedyBaselines.uplift(problem)
        case .random: allocation = GreedyBaselines.random(problem, seed: options.seed)
        case .blanket:
            let (chosen, coupon) = GreedyBaselines.blanket(problem, seed: options.seed)
            allocation = chosen
            notes.append(coupon.map { "blanket coupon: \($0)" } ?? "blanket: no coupon has positive average uplift")
        }
        var solution = Solution(method: name, status: .feasible, allocation: allocation, objective: totalUplift(problem, allocation))
        solution.notes = notes
        return solution
    }
}

extension AllocationMethod where Self == DualMethod {
    /// The Lagrangian dual (`dual`).
    public static var dual: DualMethod { DualMethod() }
}

extension AllocationMethod where Self == BaselineMethod {
    /// `greedy-marginal`.
    public static var greedyMarginal: BaselineMethod { .greedyMarginal }
    /// `greedy-floors`.
    public static var greedyFloors: BaselineMethod { .greedyFloors }
    /// `greedy-ratio`.
    public static var greedyRatio: BaselineMethod { .greedyRatio }
    /// `greedy-uplift`.
    public static var greedyUplift: BaselineMethod { .greedyUplift }
    /// `blanket`.
    public static var blanket: BaselineMethod { .blanket }
    /// `random`.
    public static var random: BaselineMethod { .random }
}
