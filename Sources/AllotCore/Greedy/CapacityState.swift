/// Running totals of a partial allocation, to test in O(1) (plus a scan of one user's
/// candidates for channel caps) whether one more assignment keeps every constraint.
///
/// Shared by the greedy baselines and by the dual engine's primal recovery.
struct CapacityState {
    let problem: Problem
    /// What the partial allocation consumes of each global constraint (`ConstraintRules`).
    private(set) var used: [Double]
    private(set) var couponCount: [Int]
    private(set) var userCount: [Int32]
    private(set) var chosen: [Bool]
    private(set) var totalUplift = 0.0
    private(set) var totalCost = 0.0
    private let rules: ConstraintRules
    /// Whether some row has a floor or is a general row (`Problem.hasFloorsOrRows`).
    private let twoSided: Bool

    init(_ problem: Problem) {
        self.problem = problem
        let t = problem.candidates
        rules = problem.rules
        twoSided = problem.hasFloorsOrRows
        used = [Double](repeating: 0, count: rules.count)
        couponCount = [Int](repeating: 0, count: t.couponCount)
        userCount = [Int32](repeating: 0, count: t.userCount)
        chosen = [Bool](repeating: false, count: t.count)
    }

    /// Spend per budget.
    var spend: ArraySlice<Double> { used[0..<problem.budgets.count] }

    /// Whether the global constraints (budgets, coupons, ROI, general rows) allow adding `add`
    /// and, optionally, removing `remove` in the same step: no row that the step increases goes
    /// over its upper bound, and no row that it decreases goes under its lower bound (a floor).
    /// Without floors, only the first holds anything back.
    /// - Complexity: O(budgets + general rows).
    @inline(__always)
    func globalAllows(add j: Int, remove i: Int? = nil) -> Bool {
        var allowed = true
        rules.forEachCoefficient(of: j) { k, a in
            let delta = a - (i.map { rules.coefficient(k, $0) } ?? 0)
            if delta > 0, used[k] + delta > rules.limits[k] { allowed = false }
            if delta < 0, used[k] + delta < rules.lower[k] { allowed = false }
        }
        if let i, twoSided {
            // Rows that `remove` enters and `add` does not (another coupon's row): only a floor
            // or a signed row can stop the step there.
            rules.forEachCoefficient(of: i) { k, a in
                if rules.coefficient(k, j) == 0, a > 0, used[k] - a < rules.lower[k] { allowed = false }
                if rules.coefficient(k, j) == 0, a < 0, used[k] - a > rules.limits[k] { allowed = false }
            }
        }
        return allowed
    }

    /// Whether removing `j` alone keeps every row within its bounds (no floor left short, no
    /// ceiling passed by dropping a negative coefficient).
    /// - Complexity: O(budgets + general rows).
    func globalAllows(remove j: Int) -> Bool {
        var allowed = true
        rules.forEachCoefficient(of: j) { k, a in
            if a > 0, used[k] - a < rules.lower[k] { allowed = false }
            if a < 0, used[k] - a > rules.limits[k] { allowed = false }
        }
        return allowed
    }

    /// Whether user `u`'s caps allow adding `j` (optionally in place of `i`).
    @inline(__always)
    func userAllows(user u: Int, add j: Int, remove i: Int? = nil) -> Bool {
        if i == nil, Int(userCount[u]) >= problem.maxPerUser { return false }
        let t = problem.candidates
        let h = t.channel(of: j)
        if h >= 0, problem.channelCaps[h] != Problem.uncapped {
            if let i, t.channel(of: i) == h { return true }
            var n = 0
            for k in t.candidates(ofUser: u) where chosen[k] && t.channel(of: k) == h { n += 1 }
            if n >= problem.channelCaps[h] { return false }
        }
        return true
    }

    mutating func add(_ j: Int, user u: Int) {
        let t = problem.candidates
        chosen[j] = true
        userCount[u] += 1
        couponCount[Int(t.coupon[j])] += 1
        rules.forEachCoefficient(of: j) { k, a in used[k] += a }
        totalUplift += t.uplift[j]
        totalCost += t.columns[0][j]
    }

    mutating func remove(_ j: Int, user u: Int) {
        let t = problem.candidates
        chosen[j] = false
        userCount[u] -= 1
        couponCount[Int(t.coupon[j])] -= 1
        rules.forEachCoefficient(of: j) { k, a in used[k] -= a }
        totalUplift -= t.uplift[j]
        totalCost -= t.columns[0][j]
    }

    /// Adds `j` for user `u` if every constraint allows it.
    @discardableResult
    mutating func tryAdd(_ j: Int, user u: Int) -> Bool {
        guard !chosen[j], userAllows(user: u, add: j), globalAllows(add: j) else { return false }
        add(j, user: u)
        return true
    }

    var allocation: Allocation { Allocation(chosen: chosen) }
}
