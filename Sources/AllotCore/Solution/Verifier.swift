/// One broken constraint.
public enum Violation: Equatable, Sendable, CustomStringConvertible {
    case invalidCandidate(index: Int)
    case repeatedCandidate(user: String, coupon: String)
    case budget(name: String, spend: Double, limit: Double)
    case maxPerUser(user: String, count: Int, cap: Int)
    case channelCap(user: String, channel: String, count: Int, cap: Int)
    case couponCap(coupon: String, count: Int, cap: Int)
    case minROI(uplift: Double, cost: Double, required: Double)
    /// A budget's spend below its `min`.
    case budgetFloor(name: String, spend: Double, min: Double)
    /// A coupon given to fewer users than its floor (`coupon_floors`).
    case couponFloor(coupon: String, count: Int, floor: Int)
    /// A general row (`constraints`) below its `min`.
    case rowBelow(name: String, value: Double, min: Double)
    /// A general row above its `max`.
    case rowAbove(name: String, value: Double, max: Double)

    /// Whether this is a floor left short (a budget's min, a coupon floor, a general row's min,
    /// or a general row's max below 0 passed): what a method that knows only ceilings breaks.
    public var isFloor: Bool {
        switch self {
        case .budgetFloor, .couponFloor, .rowBelow: return true
        case .rowAbove(_, _, let max): return max < 0
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .invalidCandidate(let j): return "candidate index \(j) does not exist"
        case .repeatedCandidate(let u, let c): return "user '\(u)' is given coupon '\(c)' twice"
        case .budget(let n, let s, let l): return "budget '\(n)': spend \(s) exceeds limit \(l)"
        case .maxPerUser(let u, let n, let cap): return "user '\(u)' gets \(n) incentives, more than max_per_user \(cap)"
        case .channelCap(let u, let h, let n, let cap): return "user '\(u)' gets \(n) on channel '\(h)', more than its cap \(cap)"
        case .couponCap(let c, let n, let cap): return "coupon '\(c)' goes to \(n) users, more than its cap \(cap)"
        case .minROI(let u, let c, let r): return "ROI: uplift \(u) is below \(r) x cost \(c) = \(r * c)"
        case .budgetFloor(let n, let s, let m): return "budget '\(n)': spend \(s) is below its min \(m)"
        case .couponFloor(let c, let n, let f): return "coupon '\(c)' goes to \(n) users, fewer than its floor \(f)"
        case .rowBelow(let n, let v, let m): return "constraint '\(n)': \(v) is below its min \(m)"
        case .rowAbove(let n, let v, let m): return "constraint '\(n)': \(v) exceeds its max \(m)"
        }
    }
}

/// What the verifier found.
public struct VerificationReport: Sendable {
    /// Total uplift of the allocation, recomputed.
    public var objective: Double
    /// Spend per budget of the problem, in order.
    public var budgetSpend: [Double]
    /// The sum of each general row (`Problem.rows`), in order.
    public var rowValues: [Double] = []
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
/// Tolerance: a sum constraint `s <= L` passes when `s <= L + tolerance x max(1, |L|)`, and a
/// floor `s >= L` when `s >= L - tolerance x max(1, |L|)`, which absorbs the rounding of
/// summing up to 1e8 doubles in different orders (for the ROI floor the scale is
/// `r x total cost`); counts (coupon caps and floors) are exact.
public enum Verifier {
    public static let defaultTolerance = Tolerance.feasibility
    public static let maxListed = 100

    /// The fewest assignments in a part of an allocation checked in parts (see `verify`): one
    /// of fewer than twice as many is checked whole.
    static let assignmentsPerPart = 100_000

    /// Checks every constraint of `problem` for `allocation` and recomputes what it is worth.
    ///
    /// A large allocation is cut into parts of whole users, at least `assignmentsPerPart`
    /// assignments each (at most 8 parts), checked on one thread per core, and the parts' sums
    /// are added in part order: the cut depends only on the allocation, so the report is the
    /// same whatever the thread count.
    ///
    /// - Complexity: O(allocation size x candidates per user + users spanned + constraints).
    public static func verify(_ problem: Problem, _ allocation: Allocation,
                              tolerance: Double = defaultTolerance) -> VerificationReport {
        verify(problem, allocation, tolerance: tolerance, threads: SolveOptions().threads, partSize: assignmentsPerPart)
    }

    /// `verify` with parts of at least `partSize` assignments (tests cut small allocations).
    package static func verify(_ problem: Problem, _ allocation: Allocation, tolerance: Double = defaultTolerance,
                               threads: Int, partSize: Int) -> VerificationReport {
        let t = problem.candidates
        let chosen = allocation.candidates
        let bounds = parts(chosen, of: t, size: max(1, partSize))
        let tallies = parallelMap(bounds.count - 1, threads: threads) { k in
            Tally(problem, chosen, bounds[k] ..< bounds[k + 1])
        }
        var total = Tally(problem)
        for part in tallies { total.add(part) }
        return report(problem, total, tolerance: tolerance)
    }

    /// The tally of the assignments `chosen` (ascending candidates of `problem`, whole users):
    /// what one part of an allocation held elsewhere adds (a Spark partition's, whose `problem`
    /// numbers the coupons and rows as the whole problem does: see `Catalogue`).
    /// - Complexity: O(assignments x candidates per user + users spanned).
    package static func tally(_ problem: Problem, _ chosen: [Int]) -> Tally { Tally(problem, chosen, chosen.indices) }

    /// The report of the parts' merged tally against `problem`'s global constraints (`problem`
    /// may hold no candidates: only its rules, names and catalogue are read).
    package static func report(_ problem: Problem, _ total: Tally, tolerance: Double = defaultTolerance) -> VerificationReport {
        var total = total
        let t = problem.candidates
        let rules = problem.rules
        func above(_ s: Double, _ bound: Double) -> Bool { bound < .infinity && s > bound + tolerance * max(1, abs(bound)) }
        func below(_ s: Double, _ bound: Double) -> Bool { bound > -.infinity && s < bound - tolerance * max(1, abs(bound)) }
        for i in 0..<rules.count {
            let limit = rules.limits[i], floor = rules.lower[i], used = total.used[i]
            guard i < rules.generalStart else {
                let name = problem.rows[i - rules.generalStart].name
                if above(used, limit) { total.report(.rowAbove(name: name, value: used, max: limit)) }
                if below(used, floor) { total.report(.rowBelow(name: name, value: used, min: floor)) }
                continue
            }
            switch rules.kinds[i] {
            case .budget(let b):
                if above(used, limit) { total.report(.budget(name: problem.budgets[b].name, spend: used, limit: limit)) }
                if below(used, floor) { total.report(.budgetFloor(name: problem.budgets[b].name, spend: used, min: floor)) }
            case .couponCap(let c):   // a count: exact
                if used > limit { total.report(.couponCap(coupon: t.couponIDs[c], count: Int(used), cap: Int(limit))) }
                if used < floor { total.report(.couponFloor(coupon: t.couponIDs[c], count: Int(used), floor: Int(floor))) }
            case .minROI(let r) where used > limit + tolerance * max(1, abs(r * total.totalCost)):
                total.report(.minROI(uplift: total.objective, cost: total.totalCost, required: r))
            case .minROI:
                break
            }
        }
        let spend = problem.budgets.indices.map { total.used[$0] }
        var report = VerificationReport(objective: total.objective, budgetSpend: spend, totalCost: total.totalCost,
                                        usersReached: total.usersReached, assignmentsPerCoupon: total.perCoupon,
                                        assignmentsPerChannel: total.perChannel, violations: total.violations,
                                        violationCount: total.count)
        report.rowValues = Array(total.used[rules.generalStart...])
        return report
    }

    /// Where the parts of `chosen` (ascending candidates) start, and its end: even cuts moved
    /// forward to where a user's assignments start.
    private static func parts(_ chosen: [Int], of t: CandidateTable, size: Int) -> [Int] {
        let n = chosen.count
        let count = max(1, min(8, n / size))
        var bounds = [0]
        for k in 1..<count {
            var b = max(bounds[k - 1], n * k / count)
            let j = chosen[b - 1]
            if j >= 0, j < t.count {
                let end = t.userStart[t.user(ofCandidate: j) + 1]  // the user's candidates end here
                while b < n, chosen[b] >= j, chosen[b] < end { b += 1 }
            }
            bounds.append(b)
        }
        bounds.append(n)
        return bounds
    }

    /// What a part of an allocation (whole users) adds up to and the violations in it: the
    /// users' own (repeats, frequency and channel caps) and, after `report`, the global ones.
    package struct Tally: Sendable {
        package var objective = 0.0
        package var totalCost = 0.0
        package var used: [Double]
        package var perCoupon: [Int]
        package var perChannel: [Int]
        package var usersReached = 0
        package var violations: [Violation] = []
        package var count = 0

        package init(_ problem: Problem) {
            used = [Double](repeating: 0, count: problem.rules.count)
            perCoupon = [Int](repeating: 0, count: problem.candidates.couponCount)
            perChannel = [Int](repeating: 0, count: problem.candidates.channelCount)
        }

        mutating func report(_ v: Violation) {
            count += 1
            if violations.count < maxListed { violations.append(v) }
        }

        /// Adds a later part.
        package mutating func add(_ part: Tally) {
            objective += part.objective
            totalCost += part.totalCost
            for i in used.indices { used[i] += part.used[i] }
            for c in perCoupon.indices { perCoupon[c] += part.perCoupon[c] }
            for h in perChannel.indices { perChannel[h] += part.perChannel[h] }
            usersReached += part.usersReached
            violations += part.violations.prefix(maxListed - violations.count)
            count += part.count
        }

        /// Walks `chosen[range]` user by user (it is sorted by candidate, so by user).
        init(_ problem: Problem, _ chosen: [Int], _ range: Range<Int>) {
            self.init(problem)
            let t = problem.candidates
            let rules = problem.rules
            var i = range.lowerBound
            var channelCount = [Int](repeating: 0, count: t.channelCount)
            var u = 0
            if let first = chosen[range].first(where: { $0 >= 0 && $0 < t.count }) { u = t.user(ofCandidate: first) }
            while i < range.upperBound {
                let j0 = chosen[i]
                guard j0 >= 0, j0 < t.count else { report(.invalidCandidate(index: j0)); i += 1; continue }
                // The user moves forward, past users without an assignment: O(users) in all, where a
                // binary search per user (a cache miss per step at millions of users) cost more.
                if j0 < t.userStart[u] { u = t.user(ofCandidate: j0) }
                while t.userStart[u + 1] <= j0 { u += 1 }
                let users = t.candidates(ofUser: u)
                var n = 0
                var last = -1
                for h in channelCount.indices { channelCount[h] = 0 }
                while i < range.upperBound, users.contains(chosen[i]) {
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
        }
    }
}
