/// The baselines marketing teams run today. None assigns a candidate with uplift <= 0, and
/// every one returns a feasible allocation (it only adds what keeps every constraint).
enum GreedyBaselines {
    /// `greedy-ratio`: candidates by descending uplift per normalised cost (see
    /// `NormalizedWeight`), each taken if it breaks no constraint.
    /// Ties break by candidate index.
    ///
    /// - Complexity: O(n log n).
    static func ratio(_ problem: Problem) -> Allocation {
        let w = NormalizedWeight(problem)
        let u = problem.candidates.uplift
        return sequential(problem, order: rank(problem) { j in w[j] > 0 ? u[j] / w[j] : .infinity } tieBreak: { u[$0] })
    }

    /// `greedy-uplift`: candidates by descending uplift, each taken if it breaks no constraint.
    ///
    /// - Complexity: O(n log n).
    static func uplift(_ problem: Problem) -> Allocation {
        let u = problem.candidates.uplift
        return sequential(problem, order: rank(problem) { u[$0] } tieBreak: { _ in 0 })
    }

    /// `random`: eligible candidates in a seeded random order, each taken if it fits.
    ///
    /// - Complexity: O(n).
    static func random(_ problem: Problem, seed: UInt64) -> Allocation {
        var order = (0..<problem.candidates.count).filter(problem.isEligible)
        var rng = SeededGenerator(seed: seed)
        rng.shuffle(&order)
        return sequential(problem, order: order)
    }

    /// `blanket`: one coupon for everyone, the one with the best average uplift per normalised
    /// cost (best average uplift with no budget), users in seeded random order, until a global
    /// limit binds. Users for whom that coupon has uplift <= 0 are passed over.
    ///
    /// - Complexity: O(n).
    static func blanket(_ problem: Problem, seed: UInt64) -> (Allocation, coupon: String?) {
        let t = problem.candidates
        let w = NormalizedWeight(problem)
        var sumU = [Double](repeating: 0, count: t.couponCount)
        var sumW = [Double](repeating: 0, count: t.couponCount)
        for j in 0..<t.count {
            sumU[Int(t.coupon[j])] += t.uplift[j]
            sumW[Int(t.coupon[j])] += w[j]
        }
        var best: Int?
        var bestScore = -Double.infinity
        for c in 0..<t.couponCount where sumU[c] > 0 && problem.couponCaps[c] > 0 {
            let score = sumW[c] > 0 ? sumU[c] / sumW[c] : (problem.budgets.isEmpty ? sumU[c] : .infinity)
            if score > bestScore { bestScore = score; best = c }
        }
        var state = CapacityState(problem)
        guard let coupon = best else { return (state.allocation, nil) }
        var users = Array(0..<t.userCount)
        var rng = SeededGenerator(seed: seed)
        rng.shuffle(&users)
        for u in users {
            guard let j = t.candidates(ofUser: u).first(where: { t.coupon[$0] == Int32(coupon) }),
                  problem.isEligible(j), state.userAllows(user: u, add: j) else { continue }
            if !state.globalAllows(add: j) { break }
            state.add(j, user: u)
        }
        return (state.allocation, t.couponIDs[coupon])
    }

    /// Eligible candidates sorted by descending key, then descending tie-break, then index.
    private static func rank(_ problem: Problem, key: (Int) -> Double, tieBreak: (Int) -> Double) -> [Int] {
        var keyed: [(Double, Double, Int32)] = []
        keyed.reserveCapacity(problem.candidates.count)
        for j in 0..<problem.candidates.count where problem.isEligible(j) {
            keyed.append((key(j), tieBreak(j), Int32(j)))
        }
        keyed.sort { a, b in
            if a.0 != b.0 { return a.0 > b.0 }
            if a.1 != b.1 { return a.1 > b.1 }
            return a.2 < b.2
        }
        return keyed.map { Int($0.2) }
    }

    private static func sequential(_ problem: Problem, order: [Int]) -> Allocation {
        var state = CapacityState(problem)
        let t = problem.candidates
        for j in order { state.tryAdd(j, user: t.user(ofCandidate: j)) }
        return state.allocation
    }
}
