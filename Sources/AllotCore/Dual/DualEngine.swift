#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of the Lagrangian dual method.
public struct DualOptions: Sendable {
    /// At most this many coordinate-descent sweeps over the multipliers.
    public var maxSweeps: Int = 60
    /// Over-relaxation of coordinate descent: each multiplier moves this multiple of the way to
    /// its coordinate minimiser (1 is plain coordinate descent). On coupled constraints 1.5
    /// reached a given gap in about a third of the sweeps (docs/benchmarks.md).
    public var relaxation: Double = 1.5
    /// Stop when a sweep improves the bound by less than this, relative.
    public var sweepTolerance: Double = 1e-6
    /// Projected subgradient steps tried when coordinate descent stalls with a gap above
    /// `targetGap`.
    public var subgradientSteps: Int = 40
    /// Relative gap at which the search stops: coordinate descent with several constraints
    /// converges slowly near the optimum, and the last sweeps buy little.
    public var targetGap: Double = 1e-5
    /// Recover an allocation and check the gap every this many sweeps.
    public var gapCheckInterval: Int = 4
    /// When to also run `greedy-marginal` and return its allocation if it is better (a safety
    /// net, reported in the notes when it acts or is skipped).
    public var baselineCheck: BaselineCheck = .automatic
    /// Stop sweeping at this time (`monotonicSeconds()`); set from `SolveOptions.timeLimit`.
    package var deadline: Double?
    /// Called after each sweep and before each recovery.
    public var progress: ProgressHandler?
    public init() {}
}

/// Whether the dual also runs `greedy-marginal` as a safety net.
public enum BaselineCheck: Sendable {
    case always, never
    /// Up to `automaticLimit` candidates. Above it, greedy-marginal's sequential heap would take
    /// longer than the dual itself; the recovery already ends with greedy-marginal's own
    /// continuation from the dual's allocation.
    case automatic
    public static let automaticLimit = 20_000_000
}

/// The Lagrangian dual engine (method `dual`). See docs/algorithms.md.
///
/// Relaxes the global constraints (budgets, per-coupon caps, the ROI floor) with multipliers
/// `m >= 0`. The rest splits into one problem per user: take the candidates of largest positive
/// reduced value within the user's frequency and channel caps. For any `m >= 0`,
///
///     D(m) = Σ_users max_{allowed sets S} Σ_{j ∈ S} r_j(m) + Σ_i m_i limit_i
///
/// is an upper bound on the optimum (weak duality): that bound is the certificate.
package final class DualEngine {
    enum Kind { case budget(column: UnsafePointer<Double>), coupon(Int32), roi }

    let problem: Problem
    let users: Int
    let uplift: UnsafePointer<Double>
    let cost: UnsafePointer<Double>
    let coupon: UnsafePointer<Int32>
    let channel: UnsafePointer<Int32>?
    let userStart: UnsafePointer<Int>
    package let eligible: [Bool]
    let eligiblePointer: UnsafePointer<Bool>
    /// Consumption column of the first budget (or cost): primal ties go to the cheaper candidate.
    let tieKey: UnsafePointer<Double>

    let kinds: [Kind]
    let names: [(ShadowPrice.Kind, String)]
    let limits: [Double]
    let budgetColumns: [UnsafePointer<Double>]
    /// Per coupon, the index of its cap's multiplier, or -1.
    let couponMultiplier: [Int]
    let roiIndex: Int
    let roiRate: Double
    let maxPerUser: Int
    let channelCaps: [Int]
    let channelsCapped: Bool
    let chunks: UserChunks
    let maxCandidatesPerUser: Int
    /// How far each multiplier moved at its last update: the warm start's bracket width.
    var lastChange: [Double]

    package init(_ problem: Problem, threads: Int) {
        self.problem = problem
        let t = problem.candidates
        users = t.userCount
        // The arrays are immutable members of `problem`, which this engine keeps alive.
        uplift = t.uplift.withUnsafeBufferPointer { $0.baseAddress! }
        cost = t.columns[0].withUnsafeBufferPointer { $0.baseAddress! }
        coupon = t.coupon.withUnsafeBufferPointer { $0.baseAddress! }
        channel = t.hasChannels ? t.channel.withUnsafeBufferPointer { $0.baseAddress! } : nil
        userStart = t.userStart.withUnsafeBufferPointer { $0.baseAddress! }
        eligible = (0..<t.count).map(problem.isEligible)
        eligiblePointer = eligible.withUnsafeBufferPointer { $0.baseAddress! }
        budgetColumns = problem.budgets.map { b in t.columns[b.column].withUnsafeBufferPointer { $0.baseAddress! } }
        tieKey = budgetColumns.first ?? cost

        var kinds: [Kind] = budgetColumns.map { .budget(column: $0) }
        var names: [(ShadowPrice.Kind, String)] = problem.budgets.map { (.budget, $0.name) }
        var limits = problem.budgets.map(\.limit)
        var couponMultiplier = [Int](repeating: -1, count: t.couponCount)
        for c in 0..<t.couponCount where problem.couponCaps[c] != Problem.uncapped && problem.couponCaps[c] > 0 {
            // A cap at least the number of users who could take the coupon never binds.
            couponMultiplier[c] = kinds.count
            kinds.append(.coupon(Int32(c)))
            names.append((.couponCap, t.couponIDs[c]))
            limits.append(Double(problem.couponCaps[c]))
        }
        if let r = problem.minROI {
            roiIndex = kinds.count
            roiRate = r
            kinds.append(.roi)
            names.append((.minROI, "min_roi"))
            limits.append(0)
        } else {
            roiIndex = -1
            roiRate = 0
        }
        self.kinds = kinds
        self.names = names
        self.limits = limits
        self.couponMultiplier = couponMultiplier
        maxPerUser = problem.maxPerUser
        channelCaps = problem.channelCaps
        channelsCapped = problem.maxPerUser > 1 && problem.hasChannelCaps && t.hasChannels
        chunks = UserChunks(users: users, threads: threads)
        var k = 0
        for u in 0..<users { k = max(k, t.userStart[u + 1] - t.userStart[u]) }
        maxCandidatesPerUser = k
        lastChange = [Double](repeating: 0, count: kinds.count)
    }

    package var constraintCount: Int { kinds.count }

    // MARK: Reduced values

    /// `r_j(m) = uplift_j - Σ_i m_i a_ij`.
    @inline(__always)
    package func reduced(_ j: Int, _ m: UnsafePointer<Double>) -> Double {
        var r = uplift[j]
        for b in 0..<budgetColumns.count { r -= m[b] * budgetColumns[b][j] }
        let k = couponMultiplier[Int(coupon[j])]
        if k >= 0 { r -= m[k] }
        if roiIndex >= 0 { r -= m[roiIndex] * (roiRate * cost[j] - uplift[j]) }
        return r
    }

    /// `a_ij`: what candidate `j` consumes of relaxed constraint `i`.
    @inline(__always)
    func coefficient(_ i: Int, _ j: Int) -> Double {
        switch kinds[i] {
        case .budget(let column): return column[j]
        case .coupon(let c): return coupon[j] == c ? 1 : 0
        case .roi: return roiRate * cost[j] - uplift[j]
        }
    }

    // MARK: The per-user problem

    /// Scratch space of one worker: no allocation per user or candidate.
    struct Scratch {
        var index: [Int]
        var value: [Double]
        var key: [Double]
        var channelCount: [Int]
        init(_ k: Int, channels: Int) {
            index = [Int](repeating: 0, count: k + 1)
            value = [Double](repeating: 0, count: k + 1)
            key = [Double](repeating: 0, count: k + 1)
            channelCount = [Int](repeating: 0, count: max(channels, 1))
        }
    }

    func makeScratch() -> Scratch { Scratch(maxCandidatesPerUser, channels: problem.candidates.channelCount) }

    /// Solves user `u`'s subproblem for reduced values `value(j)`: the candidates of largest
    /// positive value within the frequency and channel caps, ties to the smaller `key(j)`, then
    /// the smaller index. Greedy is exact here: the sets allowed by a total cap and per-channel
    /// caps form a (laminar) matroid. Writes the picks to `scratch.index[0..<count]`.
    ///
    /// - Complexity: O(k) for one incentive per user, O(k log k) otherwise.
    @inline(__always)
    func select(_ u: Int, _ scratch: inout Scratch, value: (Int) -> Double, key: (Int) -> Double) -> (count: Int, total: Double) {
        let range = userStart[u] ..< userStart[u + 1]
        if maxPerUser == 1 {
            var best = -1
            var bestValue = 0.0
            var bestKey = 0.0
            for j in range where eligiblePointer[j] {
                let r = value(j)
                if r > bestValue || (r == bestValue && best >= 0 && key(j) < bestKey) {
                    best = j
                    bestValue = r
                    bestKey = key(j)
                }
            }
            if best < 0 { return (0, 0) }
            scratch.index[0] = best
            return (1, bestValue)
        }
        var n = 0
        for j in range where eligiblePointer[j] {
            let r = value(j)
            if r > 0 {
                scratch.index[n] = j
                scratch.value[n] = r
                scratch.key[n] = key(j)
                n += 1
            }
        }
        // Insertion sort by (value desc, key asc, index asc): users have few candidates.
        if n > 1 {
            for a in 1..<n {
                let (ij, vj, kj) = (scratch.index[a], scratch.value[a], scratch.key[a])
                var b = a - 1
                while b >= 0 {
                    let before = scratch.value[b] > vj || (scratch.value[b] == vj && (scratch.key[b] < kj || (scratch.key[b] == kj && scratch.index[b] < ij)))
                    if before { break }
                    scratch.index[b + 1] = scratch.index[b]
                    scratch.value[b + 1] = scratch.value[b]
                    scratch.key[b + 1] = scratch.key[b]
                    b -= 1
                }
                scratch.index[b + 1] = ij
                scratch.value[b + 1] = vj
                scratch.key[b + 1] = kj
            }
        }
        var taken = 0
        var total = 0.0
        for a in 0..<n where taken < maxPerUser {
            let j = scratch.index[a]
            if channelsCapped, let channel {
                let h = Int(channel[j])
                if h >= 0 {
                    if scratch.channelCount[h] >= channelCaps[h] { continue }
                    scratch.channelCount[h] += 1
                }
            }
            scratch.index[taken] = j
            total += scratch.value[a]
            taken += 1
        }
        if channelsCapped, let channel {
            for a in 0..<taken where channel[scratch.index[a]] >= 0 { scratch.channelCount[Int(channel[scratch.index[a]])] = 0 }
            // Entries skipped above were never incremented beyond caps of taken ones.
        }
        return (taken, total)
    }

    // MARK: Dual value and consumption

    struct Evaluation {
        /// D(m): an upper bound on the optimum.
        var bound: Double
        /// Σ_j a_ij over the subproblems' choices, per relaxed constraint.
        var consumption: [Double]
    }

    /// One pass over all users at multipliers `m`.
    /// - Complexity: O(n x constraints / threads).
    func evaluate(_ m: [Double]) -> Evaluation {
        let parts = m.withUnsafeBufferPointer { mp in
            chunks.map { _, range -> (Double, [Double]) in
                var scratch = makeScratch()
                var total = 0.0
                var consumption = [Double](repeating: 0, count: constraintCount)
                let mb = mp.baseAddress!
                for u in range {
                    let (count, value) = select(u, &scratch, value: { self.reduced($0, mb) }, key: { self.tieKey[$0] })
                    total += value
                    for a in 0..<count {
                        let j = scratch.index[a]
                        for i in 0..<constraintCount { consumption[i] += coefficient(i, j) }
                    }
                }
                return (total, consumption)
            }
        }
        var bound = 0.0
        var consumption = [Double](repeating: 0, count: constraintCount)
        for (value, c) in parts {
            bound += value
            for i in c.indices { consumption[i] += c[i] }
        }
        for i in 0..<constraintCount { bound += m[i] * limits[i] }
        return Evaluation(bound: bound, consumption: consumption)
    }

    /// The subproblems' choices at `m`, ties to the cheaper candidate.
    func choices(_ m: [Double]) -> [Int] {
        let parts = m.withUnsafeBufferPointer { mp in
            chunks.map { _, range -> [Int] in
                var scratch = makeScratch()
                var picks: [Int] = []
                let mb = mp.baseAddress!
                for u in range {
                    let (count, _) = select(u, &scratch, value: { self.reduced($0, mb) }, key: { self.tieKey[$0] })
                    for a in 0..<count { picks.append(scratch.index[a]) }
                }
                return picks
            }
        }
        return parts.flatMap { $0 }
    }

    // MARK: One coordinate

    /// The multiplier of constraint `i` that minimises the dual with the others fixed: the
    /// smallest `λ >= 0` at which the subproblems' consumption of `i` is within its limit.
    func criticalMultiplier(_ i: Int, _ m: [Double]) -> Double {
        maxPerUser == 1 ? criticalByHull(i, m) : criticalByBracket(i, m)
    }

    /// One incentive per user: each user's choice as `λ` grows walks the upper concave hull of
    /// its points `(a_ij, r_j + m_i a_ij)` and the origin, from the highest point towards the
    /// leftmost. The hull's edges are the breakpoints; selection finds the critical one.
    ///
    /// - Complexity: O(n log k) for the hulls, expected O(breakpoints) for the selection.
    func criticalByHull(_ i: Int, _ m: [Double]) -> Double {
        var (edges, _, base) = hullEdges(i, m, gains: false)
        return edges.smallestMultiplier(room: max(0, limits[i] - base))
    }

    /// Every user's hull edges for constraint `i` at multipliers `m` (the others' folded into the
    /// reduced values): slope and consumption drop per edge, optionally the uplift gain of each
    /// edge, and the consumption at the leftmost hull points summed over users. Edges come in
    /// user order.
    package func hullEdges(_ i: Int, _ m: [Double], gains: Bool) -> (Breakpoints, [Double], Double) {
        let parts = m.withUnsafeBufferPointer { mp in
            chunks.map { _, range -> (Breakpoints, [Double], Double) in
                let mb = mp.baseAddress!
                let mi = mb[i]
                var xs = [Double](repeating: 0, count: maxCandidatesPerUser + 1)
                var ys = xs
                var order = [Int](repeating: 0, count: maxCandidatesPerUser + 1)
                var hull = order
                var points = Breakpoints()
                var gained: [Double] = []
                var base = 0.0
                for u in range {
                    var n = 1
                    xs[0] = 0
                    ys[0] = 0
                    for j in userStart[u] ..< userStart[u + 1] where eligiblePointer[j] {
                        let x = coefficient(i, j)
                        xs[n] = x
                        ys[n] = reduced(j, mb) + mi * x
                        n += 1
                    }
                    // Sort point indices by x ascending, y descending.
                    for a in 0..<n { order[a] = a }
                    if n > 1 {
                        for a in 1..<n {
                            let p = order[a]
                            var b = a - 1
                            while b >= 0, xs[order[b]] > xs[p] || (xs[order[b]] == xs[p] && ys[order[b]] < ys[p]) {
                                order[b + 1] = order[b]
                                b -= 1
                            }
                            order[b + 1] = p
                        }
                    }
                    // Upper hull, monotone chain, one point per x (the highest).
                    var h = 0
                    var lastX = -Double.infinity
                    for a in 0..<n {
                        let p = order[a]
                        if xs[p] == lastX { continue }
                        lastX = xs[p]
                        while h >= 2 {
                            let o = hull[h - 2], q = hull[h - 1]
                            let cross = (xs[q] - xs[o]) * (ys[p] - ys[o]) - (ys[q] - ys[o]) * (xs[p] - xs[o])
                            if cross >= 0 { h -= 1 } else { break }
                        }
                        hull[h] = p
                        h += 1
                    }
                    base += xs[hull[0]]
                    var k = 1
                    while k < h, ys[hull[k]] > ys[hull[k - 1]] {
                        let dx = xs[hull[k]] - xs[hull[k - 1]]
                        points.append((ys[hull[k]] - ys[hull[k - 1]]) / dx, dx)
                        if gains { gained.append(uplift(ofHullPoint: hull[k], u, i, mb, xs, ys) - uplift(ofHullPoint: hull[k - 1], u, i, mb, xs, ys)) }
                        k += 1
                    }
                }
                return (points, gained, base)
            }
        }
        var all = Breakpoints()
        all.points.reserveCapacity(parts.reduce(0) { $0 + $1.0.count })
        all.drops.reserveCapacity(all.points.capacity)
        var gained: [Double] = []
        var base = 0.0
        for (p, g, b) in parts {
            all.append(contentsOf: p)
            gained.append(contentsOf: g)
            base += b
        }
        return (all, gained, base)
    }

    /// The uplift of hull point `p` of user `u` (point 0 is the origin: nothing).
    private func uplift(ofHullPoint p: Int, _ u: Int, _ i: Int, _ m: UnsafePointer<Double>, _ xs: [Double], _ ys: [Double]) -> Double {
        if p == 0 { return 0 }
        // Points were filled in the order of the user's eligible candidates.
        var n = 0
        for j in userStart[u] ..< userStart[u + 1] where eligiblePointer[j] {
            n += 1
            if n == p { return self.uplift[j] }
        }
        return 0
    }

    /// Several incentives per user. The consumption of `i` as a function of `λ` is still a
    /// nonincreasing step function (the choice is an exact optimum of a parametric problem),
    /// but its steps are no longer a hull. Bisection brackets the critical multiplier in
    /// `[lo, hi]`; then, for the few users whose consumption differs between the two ends, every
    /// point in `(lo, hi]` where two of their reduced values cross, or one crosses zero, is a
    /// possible step: evaluating the user there gives the exact steps, and selection picks the
    /// critical one. Exact, like the hull method.
    func criticalByBracket(_ i: Int, _ m: [Double]) -> Double {
        let limit = limits[i]
        func fits(_ λ: Double) -> Bool { consumption(i, m, at: λ) <= limit }
        // Above the largest ratio y/x over x > 0, no candidate consuming i has positive value.
        // Computed only when the warm start does not bracket the minimiser.
        var topCache: Double?
        func top() -> Double {
            if let topCache { return topCache }
            let parts = m.withUnsafeBufferPointer { mp in
                chunks.map { _, range -> Double in
                    let mb = mp.baseAddress!
                    var top = 0.0
                    for j in userStart[range.lowerBound] ..< userStart[range.upperBound] where eligiblePointer[j] {
                        let x = coefficient(i, j)
                        if x > 0 { top = max(top, (reduced(j, mb) + mb[i] * x) / x) }
                    }
                    return top
                }
            }
            let value = parts.max()! * (1 + 1e-12) + 1e-300
            topCache = value
            return value
        }
        var lo = 0.0
        var hi = 0.0
        var sLo = Double.nan   // consumption at lo and hi, when known
        var sHi = Double.nan
        let current = m[i]
        if current > 0 {
            // Warm start: during coordinate descent the minimiser moves about as much as it did
            // in the previous sweep, so bracket it by widening steps of that size.
            var width = max(1e-3 * current, 0.5 * lastChange[i])
            let sCurrent = consumption(i, m, at: current)
            if sCurrent <= limit {
                hi = current
                sHi = sCurrent
                while true {
                    let candidate = current - width
                    if candidate <= 0 {
                        let s0 = consumption(i, m, at: 0)
                        if s0 <= limit { return 0 }
                        lo = 0
                        sLo = s0
                        break
                    }
                    let s = consumption(i, m, at: candidate)
                    if s > limit { lo = candidate; sLo = s; break }
                    hi = candidate
                    sHi = s
                    width *= 4
                }
            } else {
                lo = current
                sLo = sCurrent
                while true {
                    let candidate = current + width
                    if candidate >= top() { hi = max(top(), current); break }
                    let s = consumption(i, m, at: candidate)
                    if s <= limit { hi = candidate; sHi = s; break }
                    lo = candidate
                    sLo = s
                    width *= 4
                }
            }
        } else {
            let s0 = consumption(i, m, at: 0)
            if s0 <= limit { return 0 }
            sLo = s0
            hi = top()
        }
        // Narrow the bracket by false position (Illinois variant): at scale S is nearly smooth,
        // so a few passes suffice. Exactness comes from the enumeration that follows.
        var passes = 0
        var side = 0
        while passes < 14 && hi - lo > 1e-3 * hi {
            var next = 0.5 * (lo + hi)
            if sLo.isFinite, sHi.isFinite, sLo > sHi {
                var fLo = sLo - limit, fHi = sHi - limit
                if side == 1 { fHi *= 0.5 } else if side == -1 { fLo *= 0.5 }
                next = lo + (hi - lo) * fLo / (fLo - fHi)
                if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
            }
            let s = consumption(i, m, at: next)
            if s <= limit { hi = next; sHi = s; side = side == -1 ? 1 : -1 } else { lo = next; sLo = s; side = side == 1 ? -1 : 1 }
            passes += 1
        }
        let parts = stepsBetween(i, m, lo, hi)
        var steps = Breakpoints()
        var atHi = 0.0
        for (p, s) in parts {
            steps.append(contentsOf: p)
            atHi += s
        }
        var λ = hi
        if steps.count > 0 {
            let critical = steps.smallestMultiplier(room: max(0, limit - atHi))
            if critical > lo { λ = critical }
        }
        lastChange[i] = abs(λ - current)
        return λ
    }

    /// Σ_users a_i(choice) with multiplier `i` set to `λ`, ties to the smaller `a_ij`.
    func consumption(_ i: Int, _ m: [Double], at λ: Double) -> Double {
        var mm = m
        mm[i] = λ
        let parts = mm.withUnsafeBufferPointer { mp in
            chunks.map { _, range -> Double in
                var scratch = makeScratch()
                let mb = mp.baseAddress!
                var s = 0.0
                for u in range {
                    let (count, _) = select(u, &scratch, value: { self.reduced($0, mb) }, key: { self.coefficient(i, $0) })
                    for a in 0..<count { s += coefficient(i, scratch.index[a]) }
                }
                return s
            }
        }
        return parts.reduce(0, +)
    }

    /// The exact steps in `(lo, hi]` of every user whose consumption differs at the two ends,
    /// and per chunk the consumption at `hi`.
    private func stepsBetween(_ i: Int, _ m: [Double], _ lo: Double, _ hi: Double) -> [(Breakpoints, Double)] {
        m.withUnsafeBufferPointer { mp in
            chunks.map { _, range -> (Breakpoints, Double) in
                let mb = mp.baseAddress!
                var local = Array(UnsafeBufferPointer(start: mb, count: constraintCount))
                var scratch = makeScratch()
                var steps = Breakpoints()
                var atHi = 0.0
                var xs: [Double] = []
                var ys: [Double] = []
                var candidates: [Double] = []
                func userConsumption(_ u: Int, _ λ: Double) -> Double {
                    local[i] = λ
                    return local.withUnsafeBufferPointer { lp in
                        let lb = lp.baseAddress!
                        let (count, _) = select(u, &scratch, value: { self.reduced($0, lb) }, key: { self.coefficient(i, $0) })
                        var s = 0.0
                        for a in 0..<count { s += coefficient(i, scratch.index[a]) }
                        return s
                    }
                }
                for u in range {
                    let sLo = userConsumption(u, lo)
                    let sHi = userConsumption(u, hi)
                    atHi += sHi
                    if sLo == sHi { continue }
                    xs.removeAll(keepingCapacity: true)
                    ys.removeAll(keepingCapacity: true)
                    for j in userStart[u] ..< userStart[u + 1] where eligiblePointer[j] {
                        let x = coefficient(i, j)
                        xs.append(x)
                        ys.append(reduced(j, mb) + mb[i] * x)
                    }
                    candidates.removeAll(keepingCapacity: true)
                    for a in xs.indices {
                        if xs[a] != 0 {
                            let p = ys[a] / xs[a]
                            if p > lo && p <= hi { candidates.append(p) }
                        }
                        for b in (a + 1)..<xs.count where xs[a] != xs[b] {
                            let p = (ys[a] - ys[b]) / (xs[a] - xs[b])
                            if p > lo && p <= hi { candidates.append(p) }
                        }
                    }
                    candidates.sort()
                    var previous = sLo
                    var last = -Double.infinity
                    for p in candidates where p != last {
                        last = p
                        let s = userConsumption(u, p)
                        if s < previous { steps.append(p, previous - s) }
                        previous = s
                    }
                }
                return (steps, atHi)
            }
        }
    }
}

extension DualOptions {
    var pastDeadline: Bool { deadline.map { monotonicSeconds() >= $0 } ?? false }
}
