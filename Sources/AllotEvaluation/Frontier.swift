import AllotCore

/// Objective against budget: what the next unit of budget buys.
public struct FrontierPoint: Codable, Equatable, Sendable {
    public var method: String
    public var budget: Double
    public var objective: Double
    public var spend: Double
    /// A proven bound at this budget, when the method has one.
    public var upperBound: Double?
    /// Marginal objective per unit of budget at this budget (the dual's multiplier).
    public var shadowPrice: Double?

    enum CodingKeys: String, CodingKey {
        case method, budget, objective, spend
        case upperBound = "upper_bound"
        case shadowPrice = "shadow_price"
    }
}

public enum Frontier {
    /// The curve of each method over `budgets`, varying the limit of the problem's first budget.
    ///
    /// Every point is a full solve at that budget, verified: the dual's point is the allocation
    /// `allot solve` returns there (recovery and fill included), with its proven bound and the
    /// budget's shadow price.
    ///
    /// - Parameters:
    ///   - problem: the problem; its first budget's limit is varied.
    ///   - budgets: the limits to solve at, in the order of the points.
    ///   - methods: the methods, each solved and verified at every budget.
    ///   - options: the settings of every solve.
    ///   - onPoint: called after each point with its allocation and the number of points
    ///     done and to do.
    /// - Throws: `SolveError` when a method fails or an allocation fails verification.
    public static func compute(_ problem: Problem, budgets: [Double], methods: [any AllocationMethod],
                               options: SolveOptions = SolveOptions(),
                               onPoint: ((FrontierPoint, Allocation, Int, Int) -> Void)? = nil) throws -> [FrontierPoint] {
        guard !problem.budgets.isEmpty else { throw SolveError("the frontier varies a budget, and the problem has none") }
        var points: [FrontierPoint] = []
        let total = methods.count * budgets.count
        for method in methods {
            for budget in budgets {
                let instance = problem.withLimit(budget, ofBudget: 0)
                let solution = try solve(instance, method: method, options: options)
                let report = Verifier.verify(instance, solution.allocation)
                guard report.isFeasible else { throw SolveError("\(method.name) at budget \(budget) failed verification") }
                let name = problem.budgets[0].name
                points.append(FrontierPoint(method: method.name, budget: budget, objective: report.objective,
                                            spend: report.budgetSpend[0], upperBound: solution.upperBound,
                                            shadowPrice: solution.shadowPrices.first { $0.kind == .budget && $0.name == name }?.value))
                onPoint?(points.last!, solution.allocation, points.count, total)
            }
        }
        return points
    }

    /// The problem whose first budget the frontier varies: `problem` itself, or, when it has no
    /// budget, the same candidates with one budget named "budget" on the cost column (and the
    /// problem's cap per user).
    public static func withBudget(_ problem: Problem) throws -> Problem {
        guard problem.budgets.isEmpty else { return problem }
        let spec = AllocationSpec(budgets: [.init(name: "budget", limit: 0)], maxPerUser: problem.maxPerUser)
        return try Problem(candidates: problem.candidates, spec: spec)
    }

    /// `method,budget,objective,spend,upper_bound,shadow_price`, one row per point.
    public static func csv(_ points: [FrontierPoint]) -> String {
        var lines = ["method,budget,objective,spend,upper_bound,shadow_price"]
        for p in points {
            lines.append("\(p.method),\(p.budget),\(p.objective),\(p.spend),\(p.upperBound.map { "\($0)" } ?? ""),\(p.shadowPrice.map { "\($0)" } ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
