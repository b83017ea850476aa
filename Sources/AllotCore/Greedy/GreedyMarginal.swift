import HeapModule

/// `greedy-marginal`: the incremental-ratio greedy of the multiple-choice knapsack, the
/// strongest baseline.
///
/// Every user holds a current set of candidates (empty at first). Its best *move* is the
/// addition of one candidate (if its caps allow) or the exchange of one held candidate for a
/// better one, whichever gives the most extra uplift per extra normalised cost (see
/// `NormalizedWeight`: the sum over budgets of consumption divided by limit). Moves
/// that gain uplift at no extra cost come first. Only moves that keep every constraint count.
/// A max-heap holds each user's best move; the best move overall is applied if it still keeps
/// the budgets, coupon caps and ROI floor, and the user's next best move goes back on the heap.
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

    static func solve(_ problem: Problem, threads: Int = 1) -> Allocation {
        var state = CapacityState(problem)
        improve(&state, threads: threads)
        return state.allocation
    }

    /// Runs the greedy from a feasible partial allocation: users trade up from what they hold.
    /// The dual engine's recovery uses this to fill the capacity its choices leave.
    ///
    /// A user's best move is sought among the moves that every constraint allows at that
    /// moment; when the move comes off the heap it is checked again (others may have used the
    /// capacity meanwhile) and, if it no longer fits, the user's best move is sought anew.
    /// The first best move of every user is found in parallel; the rest is sequential.
    /// Users with more than `maxCandidates` candidates are left as they are (a move search is
    /// O(k x F) for them).
    ///
    /// `batched` (the dual's recovery): once the capacity is nearly used up, most moves that come
    /// off the heap no longer fit, and seeking each user's next move one at a time dominates.
    /// Then the users whose moves failed in a row, with nothing applied in between, have their
    /// next moves sought together, in parallel, against that state, before anything else is
    /// applied. While every move only uses capacity this takes the same moves as the plain
    /// greedy; a move that frees one budget while using another can make it differ slightly
    /// (the plain greedy would have sought a later user's move after it).
    ///
    /// - Complexity: O(n F / threads) for the first moves of all users (a user's move search is
    ///   O(k F) for k candidates and F held), then O(log U) per heap operation for U users and
    ///   O(k F) per move sought again; at most one applied move per candidate, so
    ///   O(n (F k_max + log U)) in all for n candidates.
    static func improve(_ state: inout CapacityState, threads: Int = 1, maxCandidates: Int = .max, batched: Bool = false) {
        let weight = NormalizedWeight(state.problem)
        let snapshot = state
        let t = state.problem.candidates
        let chunks = UserChunks(users: t.userCount, threads: threads)
        let initial = chunks.map { _, users in
            users.compactMap { t.candidates(ofUser: $0).count <= maxCandidates ? bestMove($0, snapshot, weight) : nil }
        }
        var heap = Heap(initial.joined())
        // With `batched`: users whose best move no longer fits, popped in a row while nothing
        // was applied; their next moves are sought together (in parallel) against that state.
        var failed: [Int32] = []
        while true {
            guard let m = heap.popMax() else {
                if failed.isEmpty { break }
                reseek(&failed, &heap, state, weight, threads: threads)
                continue
            }
            let u = Int(m.user)
            let j = Int(m.add)
            let i = m.remove >= 0 ? Int(m.remove) : nil
            guard state.globalAllows(add: j, remove: i) else {
                if batched {
                    failed.append(m.user)
                } else if let next = bestMove(u, state, weight) {
                    heap.insert(next)
                }
                continue
            }
            if !failed.isEmpty {
                // Their next moves may come before this one.
                heap.insert(m)
                reseek(&failed, &heap, state, weight, threads: threads)
                continue
            }
            if let i { state.remove(i, user: u) }
            state.add(j, user: u)
            if let next = bestMove(u, state, weight) { heap.insert(next) }
        }
    }

    /// The best moves of `users` against `state`, found in parallel, onto the heap; empties `users`.
    private static func reseek(_ users: inout [Int32], _ heap: inout Heap<Move>, _ state: CapacityState,
                               _ weight: NormalizedWeight, threads: Int) {
        // In user order the users' candidates are read in memory order; in the order their moves
        // failed they are scattered (three times slower for 900,000 users of 1e7 candidates).
        let batch = users.sorted()
        let size = 4_096
        let moves = parallelMap((batch.count + size - 1) / size, threads: threads) { c in
            batch[c * size ..< min(batch.count, (c + 1) * size)].compactMap { bestMove(Int($0), state, weight) }
        }
        for part in moves { for move in part { heap.insert(move) } }
        users.removeAll(keepingCapacity: true)
    }

    /// User `u`'s best move among those every constraint allows now, or nil.
    /// - Complexity: O(k x F) for k candidates and frequency cap F.
    private static func bestMove(_ u: Int, _ state: CapacityState, _ weight: NormalizedWeight) -> Move? {
        let problem = state.problem
        let t = problem.candidates
        var best: Move?
        let range = t.candidates(ofUser: u)
        let held = Int(state.userCount[u])
        for j in range where !state.chosen[j] && problem.isEligible(j) {
            let wj = weight[j]
            if held < problem.maxPerUser {
                let move = Move(gain: t.uplift[j], extra: wj, user: u, add: j, remove: -1)
                if best.map({ $0 < move }) ?? true, state.userAllows(user: u, add: j), state.globalAllows(add: j) {
                    best = move
                }
            }
            if held > 0 {
                for i in range where state.chosen[i] && t.uplift[j] > t.uplift[i] {
                    let move = Move(gain: t.uplift[j] - t.uplift[i], extra: wj - weight[i], user: u, add: j, remove: i)
                    if best.map({ $0 < move }) ?? true, state.userAllows(user: u, add: j, remove: i),
                       state.globalAllows(add: j, remove: i) {
                        best = move
                    }
                }
            }
        }
        return best
    }
}

extension GreedyMarginal.Move {
    /// A move gaining `gain` uplift for `extra` normalised cost; free gains come first.
    @inline(__always)
    init(gain: Double, extra: Double, user: Int, add: Int, remove: Int) {
        self = extra > 0
            ? .init(tier: 0, key: gain / extra, gain: gain, user: Int32(user), add: Int32(add), remove: Int32(remove))
            : .init(tier: 1, key: gain, gain: gain, user: Int32(user), add: Int32(add), remove: Int32(remove))
    }
}

/// The budget consumption of a candidate as one number: the sum over budgets of consumption
/// divided by limit (the share of each budget it uses). Greedy methods rank by uplift per unit
/// of this. With no budget it is 0. A budget with limit 0 contributes nothing here; candidates
/// that consume it are excluded by `Problem.isEligible` instead. Computed on the fly, without an
/// array per candidate.
struct NormalizedWeight {
    private let columns: [[Double]]
    private let scales: [Double]

    init(_ problem: Problem) {
        let positive = problem.budgets.filter { $0.limit > 0 }
        columns = positive.map { problem.candidates.columns[$0.column] }
        scales = positive.map { 1 / $0.limit }
    }

    @inline(__always)
    subscript(_ j: Int) -> Double {
        var w = 0.0
        for b in 0..<columns.count { w += columns[b][j] * scales[b] }
        return w
    }
}
