import HeapModule

/// `greedy-floors`: the floor-aware greedy. It meets the floors first, taking at each step the
/// candidate that closes the most shortfall per unit of what it costs, then runs
/// `greedy-marginal` from there with moves that keep every floor.
///
/// **Phase 1 (floors but spend floors).** The shortfall of a set of rows is the sum of their
/// distances to their bounds, each scaled by `max(1, |bound|)`. A candidate's cost is its
/// normalised budget weight `w_j` (`NormalizedWeight`) valued at the average uplift per unit
/// of weight of the eligible candidates, less its uplift: `w_j x rate - uplift_j`. Candidates
/// whose cost is <= 0 come first (by shortfall closed), the others by shortfall closed per unit
/// of cost. Only additions that keep every ceiling and the user's caps are taken. A max-heap
/// holds the keys; a popped key is recomputed against the current state (lazy greedy) and
/// taken only if it is still at least the next key. The phase ends when the shortfall is 0 or
/// no candidate closes any. Budgets' spend floors are left to the next phases: spending is what
/// phase 2 does anyway, and filling them first would spend the budget before the coverage.
///
/// **Phase 2 (value).** `GreedyMarginal.improve`, whose moves `CapacityState.globalAllows`
/// checks against floors as well as ceilings, so the floors met stay met.
///
/// **Phase 3 (what is still short, spend floors included).** Phase 1's rule over every row.
///
/// Returns nil when a floor is still short: the greedy found no allocation meeting the floors,
/// which does not prove there is none.
///
/// - Complexity: O(n log n x rows) per floor phase (lazy re-keying: a candidate is re-keyed
///   once per candidate taken in the worst case, typically a few times), then `greedy-marginal`'s.
enum GreedyFloors {
    static func solve(_ problem: Problem, threads: Int = 1) -> Allocation? {
        var state = CapacityState(problem)
        let rules = problem.rules
        let all = [Bool](repeating: true, count: rules.count)
        var notSpend = all
        for b in problem.budgets.indices { notSpend[b] = false }   // budgets are rows 0..<budgets
        meetFloors(&state, rows: notSpend)
        GreedyMarginal.improve(&state, threads: threads)
        meetFloors(&state, rows: all)
        guard shortfall(state, all) <= Tolerance.feasibility * Double(max(1, rules.count)) else { return nil }
        return state.allocation
    }

    /// Row `k`'s scaled distance from its bounds at sum `s`.
    @inline(__always)
    static func rowShortfall(_ rules: ConstraintRules, _ k: Int, _ s: Double) -> Double {
        let lo = rules.lower[k], hi = rules.limits[k]
        if s < lo { return (lo - s) / max(1, abs(lo)) }
        if s > hi { return (s - hi) / max(1, abs(hi)) }
        return 0
    }

    /// The shortfall of the rows `rows` marks.
    static func shortfall(_ state: CapacityState, _ rows: [Bool]) -> Double {
        let rules = state.problem.rules
        var total = 0.0
        for k in rows.indices where rows[k] { total += rowShortfall(rules, k, state.used[k]) }
        return total
    }

    private struct Entry: Comparable {
        /// 1 for a candidate whose cost is <= 0, 0 otherwise.
        var tier: Int8
        var key: Double
        var candidate: Int32
        static func < (a: Entry, b: Entry) -> Bool {
            if a.tier != b.tier { return a.tier < b.tier }
            if a.key != b.key { return a.key < b.key }
            return a.candidate > b.candidate
        }
    }

    /// Additions by shortfall (of the rows `rows` marks) closed per unit of cost, until none
    /// closes any.
    static func meetFloors(_ state: inout CapacityState, rows: [Bool]) {
        let problem = state.problem
        let rules = problem.rules
        let t = problem.candidates
        guard shortfall(state, rows) > 0 else { return }
        let weight = NormalizedWeight(problem)
        var sumU = 0.0, sumW = 0.0
        for j in 0..<t.count where problem.isEligible(j) { sumU += t.uplift[j]; sumW += weight[j] }
        let rate = sumW > 0 ? sumU / sumW : 0
        func entry(_ j: Int, _ state: CapacityState) -> Entry? {
            var reduction = 0.0
            rules.forEachCoefficient(of: j) { k, a in
                if a != 0, rows[k] { reduction += rowShortfall(rules, k, state.used[k]) - rowShortfall(rules, k, state.used[k] + a) }
            }
            guard reduction > 0 else { return nil }
            let cost = weight[j] * rate - t.uplift[j]
            return cost <= 0 ? Entry(tier: 1, key: reduction, candidate: Int32(j))
                             : Entry(tier: 0, key: reduction / cost, candidate: Int32(j))
        }
        var heap = Heap((0..<t.count).filter { !state.chosen[$0] && problem.mayBeUseful($0) }.compactMap { entry($0, state) })
        while shortfall(state, rows) > 0, let top = heap.popMax() {
            let j = Int(top.candidate)
            let u = t.user(ofCandidate: j)
            guard !state.chosen[j], state.userAllows(user: u, add: j), ceilingsAllow(state, j) else { continue }
            guard let fresh = entry(j, state) else { continue }
            if let next = heap.max, fresh < next {
                heap.insert(fresh)
                continue
            }
            state.add(j, user: u)
        }
    }

    /// Whether adding `j` keeps every upper bound, and every floor met stays met (floors may
    /// still be short here).
    private static func ceilingsAllow(_ state: CapacityState, _ j: Int) -> Bool {
        let rules = state.problem.rules
        var allowed = true
        rules.forEachCoefficient(of: j) { k, a in
            if a > 0, state.used[k] + a > rules.limits[k] { allowed = false }
            if a < 0, state.used[k] >= rules.lower[k], state.used[k] + a < rules.lower[k] { allowed = false }
        }
        return allowed
    }
}
