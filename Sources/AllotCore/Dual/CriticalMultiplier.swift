/// The exact minimiser of the dual along one coordinate (a budget or the ROI floor).
///
/// A relaxed constraint's consumption as a function of its own multiplier, `S(λ)`, is a
/// nonincreasing step function; the coordinate minimiser is the smallest `λ >= 0` with
/// `S(λ) <= limit`.
extension DualEngine {
    /// The multiplier of constraint `i` that minimises the dual with the others fixed.
    /// `width` is how far this multiplier moved at its previous update: the warm start's step.
    func criticalMultiplier(_ i: Int, _ m: [Double], width: Double) -> Double {
        maxPerUser == 1 ? criticalByHull(i, m) : criticalByBracket(i, m, width: width)
    }

    // MARK: One incentive per user: hulls

    /// One incentive per user: each user's choice as `λ` grows walks the upper concave hull of
    /// its points `(a_ij, r_j + m_i a_ij)` and the origin, from the highest point towards the
    /// leftmost. The hull's edges are the breakpoints; selection finds the critical one.
    ///
    /// - Complexity: O(n log k) for the hulls (one pass), expected O(breakpoints) for the selection.
    func criticalByHull(_ i: Int, _ m: [Double]) -> Double {
        var (edges, _, base) = hullEdges(i, m, gains: false)
        return edges.smallestMultiplier(room: max(0, limits[i] - base))
    }

    /// Every user's hull edges for constraint `i` at multipliers `m` (the others' folded into the
    /// reduced values): slope and consumption drop per edge, optionally the uplift gain of each
    /// edge, and the consumption at the leftmost hull points summed over users. Edges come in
    /// user order.
    package func hullEdges(_ i: Int, _ m: [Double], gains: Bool) -> (Breakpoints, [Double], Double) {
        let parts = mapChunks(m) { range, c, mp -> (Breakpoints, [Double], Double) in
            var hull = UserHull(maxCandidatesPerUser)
            var edges = Breakpoints()
            var gained: [Double] = []
            var base = 0.0
            for u in range {
                hull.start()
                for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] {
                    let x = coefficient(i, j, c)
                    hull.add(x: x, y: reduced(j, mp, c) + mp[i] * x, uplift: c.uplift[j])
                }
                base += hull.build()
                hull.appendEdges(to: &edges, gains: &gained, collectGains: gains)
            }
            return (edges, gained, base)
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

    // MARK: Several incentives per user: bracket, then enumerate

    /// Several incentives per user. `S(λ)` is still a nonincreasing step function (the choice is
    /// an exact optimum of a parametric problem), but its steps are no longer a hull.
    /// 1. `bracket`: `[lo, hi]` with `S(lo) > limit >= S(hi)`, warm-started around the current value;
    /// 2. `narrow`: false position (Illinois) down to a relative width `DualTolerance.bracketWidth`;
    /// 3. `stepsBetween`: for the few users whose consumption differs at the two ends, every point
    ///    in `(lo, hi]` where two of their values cross, or one crosses zero, is a possible step;
    ///    evaluating the user there gives the exact steps, and selection picks the critical one.
    /// When step 3 would cost more than a few passes (users with very many candidates at the
    /// step), narrowing goes on and the bracket's feasible end is returned: the bound stays valid
    /// (any multipliers give one), only the coordinate's exactness is given up.
    func criticalByBracket(_ i: Int, _ m: [Double], width: Double) -> Double {
        guard var b = bracket(i, m, width: width) else { return 0 }
        for tolerance in [DualTolerance.bracketWidth, 1e-6, 1e-9, DualTolerance.finalBracketWidth] {
            narrow(&b, i, m, relativeWidth: tolerance)
            if let steps = stepsBetween(i, m, b.lo, b.hi) {
                var all = Breakpoints()
                var atHi = 0.0
                for (p, s) in steps {
                    all.append(contentsOf: p)
                    atHi += s
                }
                guard all.count > 0 else { return b.hi }
                let critical = all.smallestMultiplier(room: max(0, limits[i] - atHi))
                return critical > b.lo ? critical : b.hi
            }
        }
        return b.hi
    }

    /// A bracket `lo < λ* <= hi` with the consumption at both ends when known (NaN otherwise).
    struct Bracket {
        var lo: Double
        var hi: Double
        var sLo: Double
        var sHi: Double
    }

    /// Brackets the coordinate minimiser by widening steps from the current value (during the
    /// sweeps the minimiser moves about as much as it did the previous time); nil when it is 0.
    func bracket(_ i: Int, _ m: [Double], width: Double) -> Bracket? {
        let limit = limits[i]
        let current = m[i]
        if current <= 0 {
            let s0 = consumption(i, m, at: 0)
            if s0 <= limit { return nil }
            return Bracket(lo: 0, hi: top(i, m), sLo: s0, sHi: .nan)
        }
        var step = max(1e-3 * current, 0.5 * width)
        let sCurrent = consumption(i, m, at: current)
        if sCurrent <= limit {
            var b = Bracket(lo: 0, hi: current, sLo: .nan, sHi: sCurrent)
            while true {
                let candidate = current - step
                if candidate <= 0 {
                    let s0 = consumption(i, m, at: 0)
                    if s0 <= limit { return nil }
                    b.lo = 0
                    b.sLo = s0
                    return b
                }
                let s = consumption(i, m, at: candidate)
                if s > limit {
                    b.lo = candidate
                    b.sLo = s
                    return b
                }
                b.hi = candidate
                b.sHi = s
                step *= 4
            }
        }
        var b = Bracket(lo: current, hi: 0, sLo: sCurrent, sHi: .nan)
        let ceiling = top(i, m)
        while true {
            let candidate = current + step
            if candidate >= ceiling {
                b.hi = max(ceiling, current)
                return b
            }
            let s = consumption(i, m, at: candidate)
            if s <= limit {
                b.hi = candidate
                b.sHi = s
                return b
            }
            b.lo = candidate
            b.sLo = s
            step *= 4
        }
    }

    /// Above the largest ratio y/x over x > 0, no candidate consuming `i` has positive value.
    private func top(_ i: Int, _ m: [Double]) -> Double {
        let parts = mapChunks(m) { range, c, mp -> Double in
            var top = 0.0
            for j in c.userStart[range.lowerBound] ..< c.userStart[range.upperBound] where c.eligible[j] {
                let x = coefficient(i, j, c)
                if x > 0 { top = max(top, (reduced(j, mp, c) + mp[i] * x) / x) }
            }
            return top
        }
        return (parts.max() ?? 0) * (1 + 1e-12) + 1e-300
    }

    /// False position, Illinois variant, until `hi - lo <= relativeWidth * hi` (at most 100
    /// passes): at scale `S` is nearly smooth, so a few passes suffice.
    func narrow(_ b: inout Bracket, _ i: Int, _ m: [Double], relativeWidth: Double) {
        let limit = limits[i]
        var side = 0
        var passes = 0
        while passes < 100 && b.hi - b.lo > relativeWidth * b.hi {
            var next = 0.5 * (b.lo + b.hi)
            if b.sLo.isFinite, b.sHi.isFinite, b.sLo > b.sHi {
                var fLo = b.sLo - limit, fHi = b.sHi - limit
                if side == 1 { fHi *= 0.5 } else if side == -1 { fLo *= 0.5 }
                next = b.lo + (b.hi - b.lo) * fLo / (fLo - fHi)
                if !(next > b.lo && next < b.hi) { next = 0.5 * (b.lo + b.hi) }
            }
            let s = consumption(i, m, at: next)
            if s <= limit {
                b.hi = next
                b.sHi = s
                side = side == -1 ? 1 : -1
            } else {
                b.lo = next
                b.sLo = s
                side = side == 1 ? -1 : 1
            }
            passes += 1
        }
    }

    /// Σ_users a_i(choice) with multiplier `i` set to `λ`, ties to the smaller `a_ij`.
    /// - Complexity: one pass, O(n (budgets + log k) / threads).
    func consumption(_ i: Int, _ m: [Double], at λ: Double) -> Double {
        var mm = m
        mm[i] = λ
        let channelCaps = channelsCapped ? self.channelCaps : nil
        let parts = mapChunks(mm) { range, c, mp -> Double in
            var s = makeScratch()
            var total = 0.0
            for u in range {
                _ = select(u, &s, c, value: { self.reduced($0, mp, c) }, key: { self.coefficient(i, $0, c) })
                for a in 0..<s.count { total += coefficient(i, s.picked[a], c) }
                s.reset(c, channelCaps: channelCaps)
            }
            return total
        }
        return parts.reduce(0, +)
    }

    /// The exact steps in `(lo, hi]` of every user whose consumption differs at the two ends,
    /// and per chunk the consumption at `hi`; nil when enumerating them would cost more than
    /// about eight passes over the chunk (a user's crossings are quadratic in its candidates).
    func stepsBetween(_ i: Int, _ m: [Double], _ lo: Double, _ hi: Double) -> [(Breakpoints, Double)]? {
        let channelCaps = channelsCapped ? self.channelCaps : nil
        let parts = mapChunks(m) { range, c, mp -> (Breakpoints, Double)? in
            var local = Array(mp)
            var s = makeScratch()
            var steps = Breakpoints()
            var atHi = 0.0
            var xs: [Double] = []
            var ys: [Double] = []
            var crossings: [Double] = []
            func userConsumption(_ u: Int, _ λ: Double) -> Double {
                local[i] = λ
                return local.withUnsafeBufferPointer { lp in
                    _ = select(u, &s, c, value: { self.reduced($0, lp, c) }, key: { self.coefficient(i, $0, c) })
                    var total = 0.0
                    for a in 0..<s.count { total += coefficient(i, s.picked[a], c) }
                    s.reset(c, channelCaps: channelCaps)
                    return total
                }
            }
            // Work allowed: about eight passes over this chunk's candidates.
            var work = 8 * (c.userStart[range.upperBound] - c.userStart[range.lowerBound]) + 10_000
            for u in range {
                let sLo = userConsumption(u, lo)
                let sHi = userConsumption(u, hi)
                atHi += sHi
                if sLo == sHi { continue }
                let k = c.userStart[u + 1] - c.userStart[u]
                work -= k * k * (k + 1) / 2
                if work < 0 { return nil }
                xs.removeAll(keepingCapacity: true)
                ys.removeAll(keepingCapacity: true)
                for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] {
                    let x = coefficient(i, j, c)
                    xs.append(x)
                    ys.append(reduced(j, mp, c) + mp[i] * x)
                }
                crossings.removeAll(keepingCapacity: true)
                for a in xs.indices {
                    if xs[a] != 0 {
                        let p = ys[a] / xs[a]
                        if p > lo && p <= hi { crossings.append(p) }
                    }
                    for b in (a + 1)..<xs.count where xs[a] != xs[b] {
                        let p = (ys[a] - ys[b]) / (xs[a] - xs[b])
                        if p > lo && p <= hi { crossings.append(p) }
                    }
                }
                crossings.sort()
                var previous = sLo
                var last = -Double.infinity
                for p in crossings where p != last {
                    last = p
                    let sp = userConsumption(u, p)
                    if sp < previous { steps.append(p, previous - sp) }
                    previous = sp
                }
            }
            return (steps, atHi)
        }
        if parts.contains(where: { $0 == nil }) { return nil }
        return parts.map { $0! }
    }
}

/// One user's upper concave hull of the points `(x, y)` and the origin, for `hullEdges`.
struct UserHull {
    struct Point {
        var x: Double
        var y: Double
        var uplift: Double
    }
    var points: [Point]
    var count = 0
    var hull: [Int]
    var hullCount = 0

    init(_ k: Int) {
        points = [Point](repeating: Point(x: 0, y: 0, uplift: 0), count: k + 1)
        hull = [Int](repeating: 0, count: k + 1)
    }

    /// Starts a user with the origin (giving nothing).
    mutating func start() {
        points[0] = Point(x: 0, y: 0, uplift: 0)
        count = 1
    }

    mutating func add(x: Double, y: Double, uplift: Double) {
        points[count] = Point(x: x, y: y, uplift: uplift)
        count += 1
    }

    /// Sorts the points (x ascending, y descending), builds the upper hull by monotone chain,
    /// keeping one point per x (the highest), and returns the x of its leftmost point.
    /// - Complexity: O(k log k) (insertion sort for small k).
    mutating func build() -> Double {
        let n = count
        points.withUnsafeMutableBufferPointer { p in
            let before = { (a: Point, b: Point) in a.x != b.x ? a.x < b.x : a.y > b.y }
            if n <= 24 {
                for a in 1..<max(n, 1) {
                    let q = p[a]
                    var b = a - 1
                    while b >= 0, before(q, p[b]) {
                        p[b + 1] = p[b]
                        b -= 1
                    }
                    p[b + 1] = q
                }
            } else {
                var prefix = UnsafeMutableBufferPointer(rebasing: p[0..<n])
                prefix.sort(by: before)
            }
        }
        var h = 0
        var lastX = -Double.infinity
        for a in 0..<n {
            let p = points[a]
            if p.x == lastX { continue }
            lastX = p.x
            while h >= 2 {
                let o = points[hull[h - 2]], q = points[hull[h - 1]]
                let cross = (q.x - o.x) * (p.y - o.y) - (q.y - o.y) * (p.x - o.x)
                if cross >= 0 { h -= 1 } else { break }
            }
            hull[h] = a
            h += 1
        }
        hullCount = h
        return points[hull[0]].x
    }

    /// The edges walked as `λ` grows: from the leftmost point rightwards while the hull rises.
    func appendEdges(to edges: inout Breakpoints, gains: inout [Double], collectGains: Bool) {
        var k = 1
        while k < hullCount, points[hull[k]].y > points[hull[k - 1]].y {
            let (p, q) = (points[hull[k - 1]], points[hull[k]])
            let dx = q.x - p.x
            edges.append((q.y - p.y) / dx, dx)
            if collectGains { gains.append(q.uplift - p.uplift) }
            k += 1
        }
    }
}

/// Breakpoints of a nonincreasing step function, and the selection that finds where it crosses
/// a level.
///
/// `S(λ) = base + Σ { w_e : p_e > λ }` over breakpoints `p_e` with drops `w_e >= 0`. The
/// multiplier that minimises the dual along that coordinate is the smallest `λ >= 0` with
/// `S(λ) <= limit`.
package struct Breakpoints: Sendable {
    package var points: [Double] = []
    package var drops: [Double] = []

    mutating func append(_ p: Double, _ w: Double) {
        points.append(p)
        drops.append(w)
    }

    mutating func append(contentsOf other: Breakpoints) {
        points.append(contentsOf: other.points)
        drops.append(contentsOf: other.drops)
    }

    package var count: Int { points.count }

    /// The smallest `λ >= 0` with `Σ { w_e : p_e > λ } <= room`: 0 when every drop fits,
    /// otherwise the breakpoint at which the cumulative drop, taken in descending order of
    /// breakpoint, first exceeds `room`.
    ///
    /// Weighted quickselect (three-way partition around a deterministic median-of-three pivot),
    /// in place: expected O(n), no sort.
    package mutating func smallestMultiplier(room: Double) -> Double {
        var total = 0.0
        for k in points.indices where points[k] > 0 { total += drops[k] }
        if total <= room { return 0 }
        return points.withUnsafeMutableBufferPointer { p in
            drops.withUnsafeMutableBufferPointer { w in
                Self.select(p, room: room) { w[$0] } swap: { w.swapAt($0, $1) }
            }
        }
    }

    /// The same with every drop 1: the smallest `λ >= 0` with at most `room` values above it
    /// (a coupon cap from its candidates' margins). Reorders `values`.
    static func smallestMultiplier(units values: UnsafeMutableBufferPointer<Double>, room: Double) -> Double {
        var positive = 0
        for v in values where v > 0 { positive += 1 }
        if Double(positive) <= room { return 0 }
        return select(values, room: room) { _ in 1 } swap: { _, _ in }
    }

    /// Weighted selection on `p` (with weights `weight(k)`, swapped alongside by `swap`).
    @inline(__always)
    private static func select(_ p: UnsafeMutableBufferPointer<Double>, room: Double,
                               weight: (Int) -> Double, swap: (Int, Int) -> Void) -> Double {
        var lo = 0
        var hi = p.count          // active range [lo, hi)
        var room = room
        while hi - lo > 0 {
            let pivot = medianOfThree(p[lo], p[lo + (hi - lo) / 2], p[hi - 1])
            // Partition into [greater | equal | less].
            var gt = lo, i = lo, lt = hi
            var sumGreater = 0.0, sumEqual = 0.0
            while i < lt {
                let x = p[i]
                if x > pivot {
                    sumGreater += weight(i)
                    p.swapAt(gt, i); swap(gt, i)
                    gt += 1; i += 1
                } else if x < pivot {
                    lt -= 1
                    p.swapAt(i, lt); swap(i, lt)
                } else {
                    sumEqual += weight(i)
                    i += 1
                }
            }
            if sumGreater > room {
                hi = gt
            } else if sumGreater + sumEqual > room {
                return max(pivot, 0)
            } else {
                room -= sumGreater + sumEqual
                lo = lt
            }
        }
        // Everything above the remaining range fitted: only breakpoints <= 0 remain.
        return 0
    }

    @inline(__always)
    private static func medianOfThree(_ a: Double, _ b: Double, _ c: Double) -> Double {
        max(min(a, b), min(max(a, b), c))
    }
}
