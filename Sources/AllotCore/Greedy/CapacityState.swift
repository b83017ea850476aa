/// Running totals of a partial allocation, to test in O(1) (plus a scan of one user's
/// candidates for channel caps) whether one more assignment keeps every constraint.
///
/// Shared by the greedy baselines and by the dual engine's primal recovery.
struct CapacityState {
    let problem: Problem
    private(set) var spend: [Double]
    private(set) var couponCount: [Int]
    private(set) var userCount: [Int32]
    private(set) var chosen: [Bool]
    private(set) var totalUplift = 0.0
    private(set) var totalCost = 0.0
    /// Budget columns, copied out of the table for direct access.
    private let budgetColumns: [[Double]]
    private let limits: [Double]

    init(_ problem: Problem) {
        self.problem = problem
        let t = problem.candidates
        spend = [Double](repeating: 0, count: problem.budgets.count)
        couponCount = [Int](repeating: 0, count: t.couponCount)
        userCount = [Int32](repeating: 0, count: t.userCount)
        chosen = [Bool](repeating: false, count: t.count)
        budgetColumns = problem.budgets.map { t.columns[$0.column] }
        limits = problem.budgets.map(\.limit)
    }

    /// Whether the global constraints (budgets, coupon caps, ROI) allow adding `add` and,
    /// optionally, removing `remove` in the same step.
    @inline(__always)
    func globalAllows(add j: Int, remove i: Int? = nil) -> Bool {
        let t = problem.candidates
        for b in limits.indices {
            let delta = budgetColumns[b][j] - (i.map { budgetColumns[b][$0] } ?? 0)
            if delta > 0, spend[b] + delta > limits[b] { return false }
        }
        let c = Int(t.coupon[j])
        if i.map({ t.coupon[$0] }) != t.coupon[j], couponCount[c] >= problem.couponCaps[c] { return false }
        if let r = problem.minROI {
            let du = t.uplift[j] - (i.map { t.uplift[$0] } ?? 0)
            let dc = t.columns[0][j] - (i.map { t.columns[0][$0] } ?? 0)
            if totalUplift + du < r * (totalCost + dc) { return false }
        }
        return true
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
        for b in limits.indices { spend[b] += budgetColumns[b][j] }
        totalUplift += t.uplift[j]
        totalCost += t.columns[0][j]
    }

    mutating func remove(_ j: Int, user u: Int) {
        let t = problem.candidates
        chosen[j] = false
        userCount[u] -= 1
        couponCount[Int(t.coupon[j])] -= 1
        for b in limits.indices { spend[b] -= budgetColumns[b][j] }
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
