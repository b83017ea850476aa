/// One broken constraint.
public enum Violation: Equatable, Sendable, CustomStringConvertible {
    case invalidCandidate(index: Int)
    case repeatedCandidate(user: String, coupon: String)
    case budget(name: String, spend: Double, limit: Double)
    case maxPerUser(user: String, count: Int, cap: Int)
    case channelCap(user: String, channel: String, count: Int, cap: Int)
    case couponCap(coupon: String, count: Int, cap: Int)
    case minROI(uplift: Double, cost: Double, required: Double)

    public var description: String {
        switch self {
        case .invalidCandidate(let j): return "candidate index \(j) does not exist"
        case .repeatedCandidate(let u, let c): return "user '\(u)' is given coupon '\(c)' twice"
        case .budget(let n, let s, let l): return "budget '\(n)': spend \(s) exceeds limit \(l)"
        case .maxPerUser(let u, let n, let cap): return "user '\(u)' gets \(n) incentives, more than max_per_user \(cap)"
        case .channelCap(let u, let h, let n, let cap): return "user '\(u)' gets \(n) on channel '\(h)', more than its cap \(cap)"
        case .couponCap(let c, let n, let cap): return "coupon '\(c)' goes to \(n) users, more than its cap \(cap)"
        case .minROI(let u, let c, let r): return "ROI: uplift \(u) is below \(r) x cost \(c) = \(r * c)"
        }
    }
}

/// What the verifier found.
public struct VerificationReport: Sendable {
    /// Total uplift of the allocation, recomputed.
    public var objective: Double
    /// Spend per budget of the problem, in order.
    public var budgetSpend: [Double]
    /// Total of the `cost` column.
    public var totalCost: Double
    public var usersReached: Int
    public var assignmentsPerCoupon: [Int]
    /// Per channel; empty when the scores have no channel column.
    public var assignmentsPerChannel: [Int]
    /// The first violations found (at most `Verifier.maxListed`).
    public var violations: [Violation]
    /// How many violations there are in all.
    public var violationCount: Int
    public var isFeasible: Bool { violationCount == 0 }
}

/// Re-checks an allocation against a problem, independently of any solver: it shares no code
/// with them beyond the problem model and its constraint definitions (`ConstraintRules`).
///
/// Tolerance: a sum constraint `s <= L` passes when `s <= L + tolerance x max(1, |L|)`, which
/// absorbs the rounding of summing up to 1e8 doubles in different orders (for the ROI floor
/// the scale is `r x total cost`); counts are exact.
public enum Verifier {
    public static let defaultTolerance = Tolerance.feasibility
    public static let maxListed = 100

    /// - Complexity: O(n + allocation size x candidates per user).
    public static func verify(_ problem: Problem, _ allocation: Allocation,
                              tolerance: Double = defaultTolerance) -> VerificationReport {
        let t = problem.candidates
        var violations: [Violation] = []
        var count = 0
        func report(_ v: Violation) {
            count += 1
            if violations.count < maxListed { violations.append(v) }
        }
        let rules = problem.rules
        var objective = 0.0
        var totalCost = 0.0
        var used = [Double](repeating: 0, count: rules.count)
        var perCoupon = [Int](repeating: 0, count: t.couponCount)
        var perChannel = [Int](repeating: 0, count: t.channelCount)
        var usersReached = 0

        // Walk the allocation user by user (it is sorted by candidate, so by user).
        var i = 0
        let chosen = allocation.candidates
        var channelCount = [Int](repeating: 0, count: t.channelCount)
        var u = 0
        while i < chosen.count {
            let j0 = chosen[i]
            guard j0 >= 0, j0 < t.count else { report(.invalidCandidate(index: j0)); i += 1; continue }
            // The user moves forward, past users without an assignment: O(users) in all, where a
            // binary search per user (a cache miss per step at millions of users) cost more.
            if j0 < t.userStart[u] { u = t.user(ofCandidate: j0) }
            while t.userStart[u + 1] <= j0 { u += 1 }
            let range = t.candidates(ofUser: u)
            var n = 0
            var last = -1
            for h in channelCount.indices { channelCount[h] = 0 }
            while i < chosen.count, range.contains(chosen[i]) {
                let j = chosen[i]
                i += 1
                if j == last { report(.repeatedCandidate(user: t.userIDs[u], coupon: t.couponIDs[Int(t.coupon[j])])); continue }
                last = j
                n += 1
                objective += t.uplift[j]
                totalCost += t.columns[0][j]
                rules.forEachCoefficient(of: j) { i, a in used[i] += a }
                perCoupon[Int(t.coupon[j])] += 1
                let h = t.channel(of: j)
                if h >= 0 { channelCount[h] += 1; perChannel[h] += 1 }
            }
            if n > 0 { usersReached += 1 }
            if n > problem.maxPerUser { report(.maxPerUser(user: t.userIDs[u], count: n, cap: problem.maxPerUser)) }
            for h in channelCount.indices where channelCount[h] > problem.channelCaps[h] {
                report(.channelCap(user: t.userIDs[u], channel: t.channelNames[h], count: channelCount[h], cap: problem.channelCaps[h]))
            }
        }
        for (i, kind) in rules.kinds.enumerated() {
            let limit = rules.limits[i]
            switch kind {
            case .budget(let b) where used[i] > limit + tolerance * max(1, abs(limit)):
                report(.budget(name: problem.budgets[b].name, spend: used[i], limit: limit))
            case .couponCap(let c) where used[i] > limit:   // a count: exact
                report(.couponCap(coupon: t.couponIDs[c], count: Int(used[i]), cap: Int(limit)))
            case .minROI(let r) where used[i] > limit + tolerance * max(1, abs(r * totalCost)):
                report(.minROI(uplift: objective, cost: totalCost, required: r))
            default:
                break
            }
        }
        let spend = problem.budgets.indices.map { used[$0] }
        return VerificationReport(objective: objective, budgetSpend: spend, totalCost: totalCost,
                                  usersReached: usersReached, assignmentsPerCoupon: perCoupon,
                                  assignmentsPerChannel: perChannel, violations: violations, violationCount: count)
    }
}
