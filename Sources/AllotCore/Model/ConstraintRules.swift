/// The constraints of a `Problem` in one linear form: the one definition that the verifier,
/// the greedy capacity state, the dual and the MILP builder read.
///
/// **Global** constraints couple users. Each is a row `lo_i <= Σ_j a_ij x_j <= hi_i` over 0-1
/// choices `x_j`, with either side possibly absent (`-∞` or `+∞`):
/// - a budget: `a_ij` is the candidate's value in the budget's column; `hi` is its `limit`, `lo`
///   its optional `min` (a spend floor);
/// - a coupon's count: `a_ij = 1` for the coupon's candidates, 0 otherwise; `hi` is its cap,
///   `lo` its floor (`coupon_floors`); a coupon with neither has no row;
/// - the ROI floor `Σ uplift >= r Σ cost`, written as the ceiling `Σ (r cost_j - uplift_j) x_j <= 0`;
/// - a general row (`constraints` in the spec): `a_ij` is the candidate's value in any numeric
///   column of the scores (of either sign), between the row's `min` and `max`.
///
/// Rows `0 ..< kinds.count` are budgets (in spec order), then coupons with a cap or a floor (by
/// coupon index), then the ROI floor; rows `kinds.count ..< count` are the general rows, in
/// spec order (`Problem.rows`), which have no `Kind` case: an index at or past `generalStart` is
/// one. The dual gives every finite side of every row its own multiplier (`DualModel.sides`).
///
/// A floor (a finite `lo`) is what `x = 0` may fail: a problem with one can be infeasible.
///
/// **Local** constraints bind each user alone: at most `maxPerUser` incentives, and at most
/// `channelCap(h)` of channel `h`. They form a laminar matroid per user (docs/algorithms.md).
///
/// A new kind of constraint is added here (its coefficients, bounds and name), then in each
/// engine's use of it.
package struct ConstraintRules: Sendable {
    package enum Kind: Equatable, Sendable {
        /// `Problem.budgets[index]`.
        case budget(index: Int)
        /// The count row of coupon `coupon` (an index into `couponIDs`): its cap, its floor or both.
        case couponCap(coupon: Int)
        /// The ROI floor with rate `rate`.
        case minROI(rate: Double)
    }

    /// The kinds of rows `0 ..< kinds.count`; the general rows follow them.
    package let kinds: [Kind]
    /// The upper bound `hi_i` of every row (`+∞` when it has none).
    package let limits: [Double]
    /// The lower bound `lo_i` of every row (`-∞` when it has none).
    package let lower: [Double]
    /// Per coupon, the index of its count row, or -1 when it has neither cap nor floor.
    package let couponConstraint: [Int]
    /// The index of the ROI floor's row, or -1.
    package let roiConstraint: Int
    /// The budgets' consumption columns (the arrays of the candidate table, not copies).
    package let budgetColumns: [[Double]]
    /// The general rows' columns (the arrays of the candidate table, or its uplift), in order.
    package let generalColumns: [[Double]]

    private let uplift: [Double]
    private let cost: [Double]
    private let coupon: [Int32]

    /// - Parameters:
    ///   - couponCaps: per coupon, its cap or `Problem.uncapped`.
    ///   - couponFloors: per coupon, its floor (0 for none); empty means none.
    ///   - rows: the general rows.
    init(candidates t: CandidateTable, budgets: [Problem.Budget], couponCaps: [Int], couponFloors: [Int] = [],
         minROI: Double?, rows: [Problem.Row] = []) {
        var kinds: [Kind] = budgets.indices.map { .budget(index: $0) }
        var limits = budgets.map(\.limit)
        var lower = budgets.map { $0.min ?? -.infinity }
        var couponConstraint = [Int](repeating: -1, count: couponCaps.count)
        for c in couponCaps.indices {
            let floor = couponFloors.isEmpty ? 0 : couponFloors[c]
            guard couponCaps[c] != Problem.uncapped || floor > 0 else { continue }
            couponConstraint[c] = kinds.count
            kinds.append(.couponCap(coupon: c))
            limits.append(couponCaps[c] == Problem.uncapped ? .infinity : Double(couponCaps[c]))
            lower.append(floor > 0 ? Double(floor) : -.infinity)
        }
        if let r = minROI {
            roiConstraint = kinds.count
            kinds.append(.minROI(rate: r))
            limits.append(0)
            lower.append(-.infinity)
        } else {
            roiConstraint = -1
        }
        for row in rows {
            limits.append(row.max ?? .infinity)
            lower.append(row.min ?? -.infinity)
        }
        self.kinds = kinds
        self.limits = limits
        self.lower = lower
        self.couponConstraint = couponConstraint
        budgetColumns = budgets.map { t.columns[$0.column] }
        generalColumns = rows.map { $0.column == Problem.Row.upliftColumn ? t.uplift : t.columns[$0.column] }
        uplift = t.uplift
        cost = t.columns[0]
        coupon = t.coupon
    }

    /// The number of global constraints (rows).
    package var count: Int { limits.count }

    /// The index of the first general row.
    package var generalStart: Int { kinds.count }

    /// Whether some row has a lower bound (a floor that `x = 0` may not meet).
    package var hasFloors: Bool { lower.contains { $0 > -.infinity } }

    /// Whether some row is a general row (`constraints`).
    package var hasGeneralRows: Bool { !generalColumns.isEmpty }

    /// Calls `body(i, a_ij)` for every global constraint `i` that candidate `j` enters with a
    /// coefficient that may be non-zero: every budget, its coupon's row, the ROI floor, every
    /// general row.
    /// - Complexity: O(budgets + general rows + 2).
    @inline(__always)
    package func forEachCoefficient(of j: Int, _ body: (Int, Double) -> Void) {
        for b in budgetColumns.indices { body(b, budgetColumns[b][j]) }
        let k = couponConstraint[Int(coupon[j])]
        if k >= 0 { body(k, 1) }
        if roiConstraint >= 0, case .minROI(let r) = kinds[roiConstraint] { body(roiConstraint, r * cost[j] - uplift[j]) }
        let g = kinds.count
        for r in generalColumns.indices { body(g + r, generalColumns[r][j]) }
    }

    /// `a_ij`: what candidate `j` consumes of global constraint `i`.
    /// - Complexity: O(1).
    @inline(__always)
    package func coefficient(_ i: Int, _ j: Int) -> Double {
        guard i < kinds.count else { return generalColumns[i - kinds.count][j] }
        switch kinds[i] {
        case .budget(let b): return budgetColumns[b][j]
        case .couponCap(let c): return Int(coupon[j]) == c ? 1 : 0
        case .minROI(let r): return r * cost[j] - uplift[j]
        }
    }

    /// Whether candidate `j` can help some row even with an uplift <= 0: a positive
    /// coefficient in a row with a floor (it raises the row towards it), or a negative one in a
    /// row with a ceiling (it makes room for others). Budgets, coupon caps and the ROI floor
    /// give no such help to a candidate of uplift <= 0; floors and signed general rows may.
    /// - Complexity: O(budgets + general rows + 2).
    @inline(__always)
    package func helpsARow(_ j: Int) -> Bool {
        var helps = false
        forEachCoefficient(of: j) { i, a in
            if (a > 0 && lower[i] > -.infinity) || (a < 0 && limits[i] < .infinity) { helps = true }
        }
        return helps
    }

    /// A name for constraint `i` in messages and shadow prices: the budget's name, the coupon
    /// id, `min_roi`, or the general row's name.
    package func name(_ i: Int, in problem: Problem) -> String {
        guard i < kinds.count else { return problem.rows[i - kinds.count].name }
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
    ///
    /// Without floors and general rows, an optimal allocation uses only such candidates. With
    /// them, a candidate of uplift <= 0 may be needed (to meet a floor, or to make room in a
    /// row of signed values): see `mayBeUseful`.
    @inline(__always)
    package func isEligible(_ j: Int) -> Bool {
        candidates.uplift[j] > 0 && fitsAlone(j)
    }

    /// Whether candidate `j` may be part of an optimal allocation: it fits alone (coupon and
    /// channel caps not 0, every budget's limit), and either it is worth giving (uplift > 0) or
    /// it helps some row (`ConstraintRules.helpsARow`: a floor it raises, or a ceiling it
    /// lowers). Equal to `isEligible` for problems with neither floors nor general rows.
    /// - Complexity: O(budgets + general rows).
    @inline(__always)
    package func mayBeUseful(_ j: Int) -> Bool {
        guard fitsAlone(j) else { return false }
        return candidates.uplift[j] > 0 || rules.helpsARow(j)
    }

    /// Coupon and channel caps are not 0 and `j` fits every budget's limit alone.
    @inline(__always)
    private func fitsAlone(_ j: Int) -> Bool {
        let t = candidates
        guard couponCaps[Int(t.coupon[j])] > 0 else { return false }
        let h = t.channel(of: j)
        if h >= 0, channelCaps[h] == 0 { return false }
        for budget in budgets where t.columns[budget.column][j] > budget.limit { return false }
        return true
    }
}
