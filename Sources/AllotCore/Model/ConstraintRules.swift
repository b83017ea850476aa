/// The constraints of a `Problem` in one linear form: the one definition that the verifier,
/// the greedy capacity state, the dual and the MILP builder read.
///
/// **Global** constraints couple users. Each is `Σ_j a_ij x_j <= limit_i` over 0-1 choices
/// `x_j`:
/// - a budget: `a_ij` is the candidate's value in the budget's column;
/// - a coupon cap: `a_ij = 1` for the coupon's candidates, 0 otherwise (uncapped coupons have
///   no constraint);
/// - the ROI floor `Σ uplift >= r Σ cost`, written as `Σ (r cost_j - uplift_j) x_j <= 0`.
///
/// **Local** constraints bind each user alone: at most `maxPerUser` incentives, and at most
/// `channelCap(h)` of channel `h`. They form a laminar matroid per user (docs/algorithms.md).
///
/// A new kind of constraint is added here (its coefficients, limit and name), then in each
/// engine's use of it.
package struct ConstraintRules: Sendable {
    package enum Kind: Equatable, Sendable {
        /// `Problem.budgets[index]`.
        case budget(index: Int)
        /// The cap of coupon `coupon` (an index into `couponIDs`).
        case couponCap(coupon: Int)
        /// The ROI floor with rate `rate`.
        case minROI(rate: Double)
    }

    /// The global constraints: budgets first (in spec order), then capped coupons (by coupon
    /// index), then the ROI floor.
    package let kinds: [Kind]
    /// The right-hand side of each global constraint.
    package let limits: [Double]
    /// Per coupon, the index of its cap's constraint, or -1 when uncapped.
    package let couponConstraint: [Int]
    /// The index of the ROI floor's constraint, or -1.
    package let roiConstraint: Int
    /// The budgets' consumption columns (the arrays of the candidate table, not copies).
    package let budgetColumns: [[Double]]

    private let uplift: [Double]
    private let cost: [Double]
    private let coupon: [Int32]

    init(candidates t: CandidateTable, budgets: [Problem.Budget], couponCaps: [Int], minROI: Double?) {
        var kinds: [Kind] = budgets.indices.map { .budget(index: $0) }
        var limits = budgets.map(\.limit)
        var couponConstraint = [Int](repeating: -1, count: couponCaps.count)
        for c in couponCaps.indices where couponCaps[c] != Problem.uncapped {
            couponConstraint[c] = kinds.count
            kinds.append(.couponCap(coupon: c))
            limits.append(Double(couponCaps[c]))
        }
        if let r = minROI {
            roiConstraint = kinds.count
            kinds.append(.minROI(rate: r))
            limits.append(0)
        } else {
            roiConstraint = -1
        }
        self.kinds = kinds
        self.limits = limits
        self.couponConstraint = couponConstraint
        budgetColumns = budgets.map { t.columns[$0.column] }
        uplift = t.uplift
        cost = t.columns[0]
        coupon = t.coupon
    }

    /// The number of global constraints.
    package var count: Int { kinds.count }

    /// Calls `body(i, a_ij)` for every global constraint `i` that candidate `j` enters with a
    /// coefficient that may be non-zero: every budget, its coupon's cap, the ROI floor.
    /// - Complexity: O(budgets + 2).
    @inline(__always)
    package func forEachCoefficient(of j: Int, _ body: (Int, Double) -> Void) {
        for b in budgetColumns.indices { body(b, budgetColumns[b][j]) }
        let k = couponConstraint[Int(coupon[j])]
        if k >= 0 { body(k, 1) }
        if roiConstraint >= 0, case .minROI(let r) = kinds[roiConstraint] { body(roiConstraint, r * cost[j] - uplift[j]) }
    }

    /// `a_ij`: what candidate `j` consumes of global constraint `i`.
    /// - Complexity: O(1).
    @inline(__always)
    package func coefficient(_ i: Int, _ j: Int) -> Double {
        switch kinds[i] {
        case .budget(let b): return budgetColumns[b][j]
        case .couponCap(let c): return Int(coupon[j]) == c ? 1 : 0
        case .minROI(let r): return r * cost[j] - uplift[j]
        }
    }

    /// A name for constraint `i` in messages and shadow prices: the budget's name, the coupon
    /// id, or `min_roi`.
    package func name(_ i: Int, in problem: Problem) -> String {
        switch kinds[i] {
        case .budget(let b): return problem.budgets[b].name
        case .couponCap(let c): return problem.candidates.couponIDs[c]
        case .minROI: return "min_roi"
        }
    }
}

extension Problem {
    /// Whether candidate `j` can be part of some feasible allocation on its own and is worth
    /// giving: uplift > 0, its coupon and channel caps are not 0, and it fits every budget.
    @inline(__always)
    package func isEligible(_ j: Int) -> Bool {
        let t = candidates
        guard t.uplift[j] > 0, couponCaps[Int(t.coupon[j])] > 0 else { return false }
        let h = t.channel(of: j)
        if h >= 0, channelCaps[h] == 0 { return false }
        for budget in budgets where t.columns[budget.column][j] > budget.limit { return false }
        return true
    }
}
