import HeapModule

/// `greedy-marginal`: the incremental-ratio greedy of the multiple-choice knapsack, the
/// strongest baseline.
///
/// Every user holds a current set of candidates (empty at first). Its best *move* is the
/// addition of one candidate (if its caps allow) or the exchange of one held candidate for a
/// better one, whichever gives the most extra uplift per extra normalised cost (see
/// `Problem.normalizedWeights`: the sum over budgets of consumption divided by limit). Moves
/// that gain uplift at no extra cost come first. A max-heap holds each user's best move; the
/// best move overall is applied if it keeps the budgets, coupon caps and ROI floor, and
/// otherwise its target candidate is barred for that user. The user's next best move then
/// goes back on the heap.
///
/// With one budget and one incentive per user, a user's successive best moves walk the upper
/// concave hull of its (cost, uplift) points, so this is the classic MCKP greedy, whose value
/// is within one item's uplift of the LP optimum.
///
/// - Complexity: O(n x F + moves x (k x F + log users)) for k candidates per user and
///   frequency cap F.
enum GreedyMarginal {
    struct Move: Comparable {
        /// 1 for a move that gains uplift at no extra cost, 0 otherwise.
        var tier: Int8
        /// Extra uplift per extra cost (tier 0) or extra uplift (tier 1).
        var key: Double
        var gain: Double
        var user: Int32
        var add: Int32
        var remove: Int32

        static func < (a: Move, b: Move) -> Bool {
            if a.tier != b.tier { return a.tier < b.tier }
            if a.key != b.key { return a.key < b.key }
            if a.gain != b.gain { return a.gain < b.gain }
            if a.user != b.user { return a.user > b.user }
            if a.add != b.add { return a.add > b.add }
            return a.remove > b.remove
        }
    }

    static func solve(_ problem: Problem) -> Allocation {
        var state = CapacityState(problem)
        improve(&state)
        return state.allocation
    }

    /// Runs the greedy from a feasible partial allocation: users trade up from what they hold.
    /// The dual engine's recovery uses this to fill the capacity its choices leave.
    static func improve(_ state: inout CapacityState) {
        let problem = state.problem
        let t = problem.candidates
        let w = problem.normalizedWeights()
        var open = (0..<t.count).map(problem.isEligible)

        func bestMove(_ u: Int) -> Move? {
            var best: Move?
            let range = t.candidates(ofUser: u)
            let held = Int(state.userCount[u])
            for j in range where open[j] && !state.chosen[j] {
                if held < problem.maxPerUser, state.userAllows(user: u, add: j) {
                    consider(&best, u, j, -1, t.uplift[j], w[j])
                }
                if held > 0 {
                    for i in range where state.chosen[i] && t.uplift[j] > t.uplift[i] && state.userAllows(user: u, add: j, remove: i) {
                        consider(&best, u, j, i, t.uplift[j] - t.uplift[i], w[j] - w[i])
                    }
                }
            }
            return best
        }

        var heap = Heap<Move>()
        for u in 0..<t.userCount {
            if let m = bestMove(u) { heap.insert(m) }
        }
        while let m = heap.popMax() {
            let u = Int(m.user)
            let j = Int(m.add)
            let i = m.remove >= 0 ? Int(m.remove) : nil
            if state.globalAllows(add: j, remove: i) {
                if let i { state.remove(i, user: u) }
                state.add(j, user: u)
            } else {
                open[j] = false
            }
            if let next = bestMove(u) { heap.insert(next) }
        }
    }

    @inline(__always)
    private static func consider(_ best: inout Move?, _ u: Int, _ j: Int, _ i: Int, _ gain: Double, _ extra: Double) {
        let move = extra > 0
            ? Move(tier: 0, key: gain / extra, gain: gain, user: Int32(u), add: Int32(j), remove: Int32(i))
            : Move(tier: 1, key: gain, gain: gain, user: Int32(u), add: Int32(j), remove: Int32(i))
        if best == nil || best! < move { best = move }
    }
}
