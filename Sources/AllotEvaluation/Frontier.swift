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
}

public enum Frontier {
    /// The curve of each method over `budgets`, varying the limit of the problem's first budget.
    ///
    /// For `dual` with one budget, one incentive per user and no other relaxed constraint, the
    /// whole curve comes from one pass: every user's hull edges are computed once at multiplier
    /// 0, sorted by slope, and each budget's point is a prefix of that order (the multiplier
    /// is monotone in the budget, so the edges taken at a larger budget include those taken at
    /// a smaller one). The point's objective is the hull walk's allocation, its bound adds the
    /// fraction of the next edge that fits (the LP optimum), and its shadow price is that
    /// edge's slope. Otherwise, and for every other method, each budget is solved.
    ///
    /// - Complexity: one pass: O(n log k + E log E) for E hull edges, plus O(log E) per budget.
    public static func compute(_ problem: Problem, budgets: [Double], methods: [any AllocationMethod],
                               options: SolveOptions = SolveOptions()) throws -> [FrontierPoint] {
        guard !problem.budgets.isEmpty else { throw SolveError("the frontier varies a budget, and the problem has none") }
        var points: [FrontierPoint] = []
        for method in methods {
            if method is DualMethod, let curve = onePassDual(problem, budgets: budgets, threads: options.threads) {
                points += curve
                continue
            }
            for budget in budgets {
                let instance = problem.withLimit(budget, ofBudget: 0)
                let solution = try solve(instance, method: method, options: options)
                let report = Verifier.verify(instance, solution.allocation)
                guard report.isFeasible else { throw SolveError("\(method.name) at budget \(budget) failed verification") }
                points.append(FrontierPoint(method: method.name, budget: budget, objective: report.objective,
                                            spend: report.budgetSpend[0], upperBound: solution.upperBound,
                                            shadowPrice: solution.shadowPrices.first { $0.kind == .budget }?.value))
            }
        }
        return points
    }

    static func onePassDual(_ problem: Problem, budgets: [Double], threads: Int) -> [FrontierPoint]? {
        // Eligibility depends on the limit: build at the largest budget. A prefix that fits a
        // smaller budget can only hold candidates that fit it.
        let engine = DualEngine(problem.withLimit(budgets.max() ?? 0, ofBudget: 0), threads: threads)
        guard engine.constraintCount == 1, problem.maxPerUser == 1 else { return nil }
        let (edges, gains, base) = engine.hullEdges(0, [0], gains: true)
        let order = edges.points.indices.sorted { edges.points[$0] != edges.points[$1] ? edges.points[$0] > edges.points[$1] : $0 < $1 }
        var cumulativeSpend = [0.0]
        var cumulativeValue = [0.0]
        for e in order {
            cumulativeSpend.append(cumulativeSpend.last! + edges.drops[e])
            cumulativeValue.append(cumulativeValue.last! + gains[e])
        }
        return budgets.map { budget in
            let room = budget - base
            // The longest prefix that fits.
            var lo = 0, hi = order.count
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if cumulativeSpend[mid] <= room { lo = mid } else { hi = mid - 1 }
            }
            var bound = cumulativeValue[lo]
            var price = 0.0
            if lo < order.count {
                let next = order[lo]
                bound += gains[next] * max(0, room - cumulativeSpend[lo]) / edges.drops[next]
                price = max(0, edges.points[next])
            }
            return FrontierPoint(method: DualMethod().name, budget: budget, objective: cumulativeValue[lo],
                                 spend: base + cumulativeSpend[lo], upperBound: bound, shadowPrice: price)
        }
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
