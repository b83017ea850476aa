/// The exact minimiser of the dual along one coordinate (a side of a budget, a coupon floor,
/// the ROI floor or a general row), found by the coordinator from merged worker aggregates.
///
/// A side's consumption in ceiling form as a function of its own multiplier, `S(λ)`, is a
/// nonincreasing step function (for a floor side, `-Σ a_ij x_j`: the row's sum rises with the
/// floor's multiplier); the coordinate minimiser is the smallest `λ >= 0` with `S(λ) <= limit`.
/// When even `S(∞)`, the least the users' own caps allow, is above the limit, there is none:
/// the dual falls without limit along the side (a ray), which proves the side unreachable.
extension DualRounds {
    /// What a coordinate update found.
    enum CoordinateMinimiser: Equatable {
        /// The minimiser.
        case at(Double)
        /// No minimiser: `S(λ)` stays at `consumption` (above the limit beyond the verifier's
        /// tolerance) however large `λ` grows. No allocation meets this side, whatever the others.
        case ray(consumption: Double)

        /// The minimiser, or `+∞` along a ray.
        var multiplier: Double {
            if case .at(let λ) = self { return λ }
            return .infinity
        }
    }

    /// The multiplier of side `i` that minimises the dual with the others fixed.
    /// `width` is how far this multiplier moved at its previous update: the warm start's step.
    func criticalMultiplier(_ i: Int, _ m: [Double], width: Double) -> CoordinateMinimiser {
        model.maxPerUser == 1 ? criticalByHull(i, m) : criticalByBracket(i, m, width: width)
    }

    /// Whether `S(∞) = consumption` proves side `i` unreachable: above its limit by more than the
    /// verifier's tolerance (so an allocation the verifier accepts is never called impossible).
    func isRay(_ i: Int, _ consumption: Double) -> Bool {
        let limit = model.limits[i]
        return consumption > limit + Tolerance.feasibility * max(1, abs(limit))
    }

    // MARK: One incentive per user: hulls

    /// One incentive per user: each user's choice as `λ` grows walks the upper concave hull of
    /// its points `(a_ij, r_j + m_i a_ij)` and the origin, from the highest point towards the
    /// leftmost. The hull's edges are the breakpoints; selection finds the critical one.
    ///
    /// - Complexity: one pass (O(n log k)), expected O(breakpoints) for the selection.
    func criticalByHull(_ i: Int, _ m: [Double]) -> CoordinateMinimiser {
        var merged = transport.run(.hull(constraint: i, m: m))
        // The leftmost hull points are the choices at λ = ∞.
        let least = merged.sums[0].value
        if isRay(i, least) { return .ray(consumption: least) }
        return .at(merged.steps.smallestMultiplier(room: max(0, model.limits[i] - least)))
    }

    // MARK: Several incentives per user: a window, walked exactly

    /// Several incentives per user. `S(λ)` is still a nonincreasing step function (the choice is
    /// an exact optimum of a parametric problem), but its steps are no longer a hull.
    /// 1. A **window** `(lo, hi]` around the current value, as wide as the multiplier's previous
    ///    move (from 0: the bracket up to the largest ratio).
    /// 2. One pass **walks** every user's choice across the window (`DualTask.walk`): the exact
    ///    steps of `S` inside it, and `S(lo)`, `S(hi)`. When the minimiser lies inside, selection
    ///    over the steps gives it exactly: one pass per coordinate when the warm start is good.
    /// 3. Otherwise the window moves (4 times wider each time) towards the side that holds the
    ///    minimiser; when some user cannot be walked across it within its work budget (users
    ///    with very many crossings in it), false position narrows it first, one pass a step.
    /// If the window cannot be narrowed enough to walk (users with huge numbers of candidates at
    /// the step), its feasible end `hi` is returned: the bound stays valid (any multipliers give
    /// one); only the coordinate's exactness is given up.
    func criticalByBracket(_ i: Int, _ m: [Double], width: Double) -> CoordinateMinimiser {
        let limit = model.limits[i]
        let current = m[i]
        var b: Bracket
        // Above `ceiling` (`top`) no user's choice changes: S(ceiling) = S(∞).
        var ceiling: Double?
        if current > 0, width > 0 {
            let w = max(min(2 * width, 0.5 * current), 1e-6 * current)
            b = Bracket(lo: max(0, current - w), hi: current + w, sLo: .nan, sHi: .nan)
        } else {
            guard let start = bracket(i, m, width: width) else { return .at(0) }
            b = start
        }
        for _ in 0..<200 {
            let walked = walk(i, m, b.lo, b.hi)
            b.sLo = walked.sLo
            b.sHi = walked.sHi
            if b.sLo <= limit {
                // The minimiser is at or below lo.
                if b.lo <= 0 { return .at(0) }
                let w = b.hi - b.lo
                (b.lo, b.hi) = (max(0, b.lo - 4 * w), b.lo)
                b.sHi = walked.sLo
                continue
            }
            if b.sHi > limit {
                // The minimiser is above hi, if anywhere: past the ceiling S stays at S(∞).
                if ceiling == nil { ceiling = top(i, m) }
                if b.hi >= ceiling! { return isRay(i, b.sHi) ? .ray(consumption: b.sHi) : .at(b.hi) }
                let w = b.hi - b.lo
                (b.lo, b.hi) = (b.hi, min(b.hi + 4 * w, ceiling!))
                continue
            }
            guard var steps = walked.steps else {
                // Too many crossings to walk: narrow by false position, then walk again.
                let relativeWidth = (b.hi - b.lo) / b.hi
                if relativeWidth <= DualTolerance.finalBracketWidth { return .at(b.hi) }
                narrow(&b, i, m, relativeWidth: max(DualTolerance.finalBracketWidth,
                                                    min(DualTolerance.bracketWidth, 0.01 * relativeWidth)))
                continue
            }
            guard steps.count > 0 else { return .at(b.hi) }
            let critical = steps.smallestMultiplier(room: max(0, limit - b.sHi))
            return .at(critical > b.lo ? critical : b.hi)
        }
        return .at(b.hi)
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
        let limit = model.limits[i]
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

    /// A multiplier above which no user's choice changes (`DualTask.top`): above the largest
    /// ratio y/x over x > 0 no candidate consuming `i` has positive value, and users with
    /// negative coefficients have their last crossing below it too.
    func top(_ i: Int, _ m: [Double]) -> Double {
        transport.run(.top(constraint: i, m: m)).top * (1 + 1e-12) + 1e-300
    }

    /// False position, Illinois variant, until `hi - lo <= relativeWidth * hi` or after `passes`
    /// passes: at scale `S` is nearly smooth, so a few passes suffice.
    func narrow(_ b: inout Bracket, _ i: Int, _ m: [Double], relativeWidth: Double, passes limitPasses: Int = 100) {
        let limit = model.limits[i]
        var side = 0
        var passes = 0
        while passes < limitPasses && b.hi - b.lo > relativeWidth * b.hi {
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

    /// Σ_users a_i(choice) with multiplier `i` set to `λ`, ties to the smaller `a_ij`: one pass.
    func consumption(_ i: Int, _ m: [Double], at λ: Double) -> Double {
        var mm = m
        mm[i] = λ
        return transport.run(.consumption(constraint: i, m: mm)).sums[0].value
    }

    /// What one walk found: `S(lo)`, `S(hi)`, and the steps of `S` in `(lo, hi]` (nil when
    /// some user could not be walked within its work budget).
    struct Walk {
        var sLo: Double
        var sHi: Double
        var steps: Breakpoints?
    }

    /// Walks every user's choice as multiplier `i` goes from `lo` to `hi` (`DualTask.walk`).
    func walk(_ i: Int, _ m: [Double], _ lo: Double, _ hi: Double) -> Walk {
        let merged = transport.run(.walk(constraint: i, m: m, lo: lo, hi: hi))
        return Walk(sLo: merged.sums[0].value, sHi: merged.sums[1].value, steps: merged.complete ? merged.steps : nil)
    }
}

/// The worker's side of the coordinate passes: each runs over a range of whole users.
extension DualEngine {
    /// Every user's hull edges for constraint `i` at `m` (the others' multipliers folded into
    /// the reduced values), and the consumption at the users' leftmost hull points (`sums[0]`).
    /// - Complexity: O(candidates log k).
    func hull(_ i: Int, _ range: Range<Int>, _ c: Columns, _ mp: UnsafeBufferPointer<Double>,
              _ np: UnsafeBufferPointer<Double>) -> DualAggregate {
        var hull = UserHull(maxCandidatesPerUser)
        var out = DualAggregate(sums: 1)
        for u in range {
            hull.start()
            for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] {
                let x = coefficient(i, j, c)
                hull.add(x: x, y: reduced(j, np, c) + mp[i] * x, uplift: c.uplift[j])
            }
            out.sums[0].add(hull.build())
            hull.appendEdges(to: &out.steps)
        }
        return out
    }

    /// A multiplier above which no user's choice changes along side `i` (`top`): the largest
    /// ratio y/x over the candidates with x > 0 (above it none of them has a positive value);
    /// for a user with a candidate of x < 0 (a floor side, a signed row), whose lines keep
    /// rising, the largest `(max y - min y) / (smallest gap between distinct x)` over its lines
    /// and the line 0, beyond which no two of its lines cross.
    /// - Complexity: O(candidates), O(k log k) for a user with a negative coefficient.
    func top(_ i: Int, _ range: Range<Int>, _ c: Columns, _ mp: UnsafeBufferPointer<Double>,
             _ np: UnsafeBufferPointer<Double>) -> DualAggregate {
        var out = DualAggregate(sums: 0)
        var xs: [Double] = []
        for u in range {
            var negative = false
            var yMin = 0.0, yMax = 0.0
            for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] {
                let x = coefficient(i, j, c)
                let y = reduced(j, np, c) + mp[i] * x
                if x > 0 { out.top = max(out.top, y / x) }
                if x < 0 { negative = true }
                yMin = min(yMin, y)
                yMax = max(yMax, y)
            }
            guard negative else { continue }
            xs.removeAll(keepingCapacity: true)
            xs.append(0)
            for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] { xs.append(coefficient(i, j, c)) }
            xs.sort()
            var gap = Double.infinity
            for a in 1..<xs.count where xs[a] > xs[a - 1] { gap = min(gap, xs[a] - xs[a - 1]) }
            if gap < .infinity { out.top = max(out.top, (yMax - yMin) / gap) }
        }
        return out
    }

    /// Σ_users a_i(choice) at `m` (`sums[0]`), ties to the smaller `a_ij`.
    /// - Complexity: O(candidates (budgets + log k)).
    func consumption(_ i: Int, _ range: Range<Int>, _ c: Columns, _ np: UnsafeBufferPointer<Double>) -> DualAggregate {
        let channelCaps = channelsCapped ? self.channelCaps : nil
        var s = makeScratch()
        var out = DualAggregate(sums: 1)
        for u in range {
            _ = select(u, &s, c, value: { self.reduced($0, np, c) }, key: { self.coefficient(i, $0, c) })
            var total = 0.0
            for a in 0..<s.count { total += coefficient(i, s.picked[a], c) }
            out.sums[0].add(total)
            s.reset(c, channelCaps: channelCaps)
        }
        return out
    }

    /// A user walks its crossings while they cost at most this many line visits per candidate,
    /// plus `walkBudgetBase`: about eight passes over its candidates. The budget is per user, so
    /// whether the walk is complete does not depend on how the users are sliced.
    static let walkBudgetPerCandidate = 8
    static let walkBudgetBase = 10_000

    /// Walks every user's choice as multiplier `i` goes from `lo` to `hi`, the others fixed:
    /// `sums[0] = S(lo)`, `sums[1] = S(hi)`, and the steps of `S` in `(lo, hi]`, `complete`
    /// false when some user ran out of its work budget (its ends are still counted).
    ///
    /// Along the coordinate, candidate `j`'s value is a line `y_j - λ x_j`, and "giving nothing"
    /// is the line 0. The greedy's choice depends only on the order of these lines, so it can
    /// change only where two lines that are adjacent in that order cross: a kinetic sort. Each
    /// user's lines are sorted once at `lo` (ties to the smaller `x`: the order just after `lo`);
    /// then the next crossing of adjacent lines is swapped, and the user's consumption (the
    /// greedy over the lines above 0, within the caps) is re-read when the swap is above the
    /// line 0. Each pair swaps at most once, so the walk ends.
    ///
    /// - Complexity: O(k log k + e k) for a user with k candidates and e crossings in the
    ///   window, at most about nine passes over its candidates (its budget).
    func walk(_ i: Int, _ lo: Double, _ hi: Double, _ range: Range<Int>, _ c: Columns,
              _ mp: UnsafeBufferPointer<Double>, _ np: UnsafeBufferPointer<Double>) -> DualAggregate {
        let channelCaps = channelsCapped ? self.channelCaps : nil
        var lines = KineticLines(maxCandidatesPerUser, channels: max(c.channel.isEmpty ? 0 : channelCaps?.count ?? 0, 1))
        var out = DualAggregate(sums: 2)
        var used = 0
        defer { walkWork.add(used, ordering: .relaxed) }
        var local = Array(mp)
        var localNet = Array(np)
        let row = model.sides[i].row
        var s = makeScratch()
        func userConsumption(_ u: Int, _ λ: Double) -> Double {
            local[i] = λ
            localNet[row] = (model.ceilingSide[row] >= 0 ? local[model.ceilingSide[row]] : 0)
                - (model.floorSide[row] >= 0 ? local[model.floorSide[row]] : 0)
            return localNet.withUnsafeBufferPointer { lp in
                _ = select(u, &s, c, value: { self.reduced($0, lp, c) }, key: { self.coefficient(i, $0, c) })
                var total = 0.0
                for a in 0..<s.count { total += coefficient(i, s.picked[a], c) }
                s.reset(c, channelCaps: channelCaps)
                return total
            }
        }
        for u in range {
            let k = c.userStart[u + 1] - c.userStart[u]
            let budget = Self.walkBudgetPerCandidate * k + Self.walkBudgetBase
            var work = budget
            defer { used += budget - work }
            if !out.complete {
                // The walk is incomplete anyway: only the ends count.
                out.sums[0].add(userConsumption(u, lo))
                out.sums[1].add(userConsumption(u, hi))
                continue
            }
            lines.start()
            for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] {
                let x = coefficient(i, j, c)
                let y = reduced(j, np, c) + mp[i] * x
                // A line below 0 across the whole window never matters.
                if x >= 0 ? y - lo * x <= 0 : y - hi * x < 0 { continue }
                let h = channelCaps != nil && !c.channel.isEmpty ? Int(c.channel[j]) : -1
                lines.add(x: x, y: y, channel: h)
            }
            lines.sort(at: lo)
            let first = lines.consumption(maxPerUser: maxPerUser, channelCaps: channelCaps)
            out.sums[0].add(first)
            work -= lines.count
            if let last = lines.walk(from: lo, to: hi, consumption: first, maxPerUser: maxPerUser,
                                     channelCaps: channelCaps, work: &work, steps: &out.steps) {
                out.sums[1].add(last)
            } else {
                out.complete = false
                out.steps = Breakpoints()
                out.sums[1].add(userConsumption(u, hi))
            }
        }
        return out
    }
}

/// One user's candidates as lines `y - λ x` along one coordinate, with "giving nothing" as the
/// line 0, kept in their order at the current `λ`: the kinetic sort of `DualEngine.walk`.
struct KineticLines {
    struct Line {
        var x: Double
        var y: Double
        var channel: Int32
        /// Position among the user's candidates (-1: the line 0), the last tie-break.
        var index: Int32
    }
    var lines: [Line]
    var count = 0
    var channelCount: [Int]

    init(_ k: Int, channels: Int) {
        lines = [Line](repeating: Line(x: 0, y: 0, channel: -1, index: -1), count: k + 1)
        channelCount = [Int](repeating: 0, count: channels)
    }

    /// Starts a user with the line 0.
    mutating func start() {
        lines[0] = Line(x: 0, y: 0, channel: -1, index: -1)
        count = 1
    }

    mutating func add(x: Double, y: Double, channel: Int) {
        lines[count] = Line(x: x, y: y, channel: Int32(channel), index: Int32(count - 1))
        count += 1
    }

    /// Orders the lines as they stand just after `λ`: descending value, then ascending `x`
    /// (the one that falls slower comes first), then by position (the line 0 first).
    mutating func sort(at λ: Double) {
        let n = count
        lines.withUnsafeMutableBufferPointer { p in
            p.sortPrefix(n) { a, b in
                let va = a.y - λ * a.x, vb = b.y - λ * b.x
                return va != vb ? va > vb : (a.x != b.x ? a.x < b.x : a.index < b.index)
            }
        }
    }

    /// The greedy over the lines above the line 0, in order, within the caps: the sum of `x`
    /// over the choice (the user's consumption of the coordinate's constraint).
    /// - Complexity: O(k).
    mutating func consumption(maxPerUser: Int, channelCaps: [Int]?) -> Double {
        var taken = 0
        var total = 0.0
        var a = 0
        while a < count, lines[a].index >= 0, taken < maxPerUser {
            let h = Int(lines[a].channel)
            if let channelCaps, h >= 0 {
                if channelCount[h] >= channelCaps[h] {
                    a += 1
                    continue
                }
                channelCount[h] += 1
            }
            total += lines[a].x
            taken += 1
            a += 1
        }
        if channelCaps != nil {
            for b in 0..<a where lines[b].channel >= 0 { channelCount[Int(lines[b].channel)] = 0 }
        }
        return total
    }

    /// Swaps adjacent lines at their crossings in `(from, to]`, in order, appending every
    /// drop of the consumption as a step; returns the consumption at `to`, or nil when `work`
    /// (decremented by k per crossing) runs out.
    mutating func walk(from: Double, to: Double, consumption first: Double, maxPerUser: Int, channelCaps: [Int]?,
                       work: inout Int, steps: inout Breakpoints) -> Double? {
        var λ = from
        var current = first
        var atλ = first     // the consumption just before the crossings at λ
        while true {
            // The next crossing of two adjacent lines: the upper one falls faster.
            var next = Double.infinity
            var at = -1
            for a in 0 ..< count - 1 {
                let (p, q) = (lines[a], lines[a + 1])
                guard p.x > q.x else { continue }
                let cross = max(λ, (p.y - q.y) / (p.x - q.x))
                if cross < next {
                    next = cross
                    at = a
                }
            }
            if next > λ {
                if current < atλ { steps.append(λ, atλ - current) }
                atλ = current
            }
            guard at >= 0, next <= to else { break }
            work -= count
            if work < 0 { return nil }
            λ = next
            lines.swapAt(at, at + 1)
            // Only swaps above the line 0 (or of it) can change the choice.
            var zero = 0
            while lines[zero].index >= 0 { zero += 1 }
            if at < zero || lines[at].index < 0 {
                current = consumption(maxPerUser: maxPerUser, channelCaps: channelCaps)
            }
        }
        return current
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
            p.sortPrefix(n) { a, b in a.x != b.x ? a.x < b.x : a.y > b.y }
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
    func appendEdges(to edges: inout Breakpoints) {
        var k = 1
        while k < hullCount, points[hull[k]].y > points[hull[k - 1]].y {
            let (p, q) = (points[hull[k - 1]], points[hull[k]])
            let dx = q.x - p.x
            edges.append((q.y - p.y) / dx, dx)
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
package struct Breakpoints: Sendable, Equatable {
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
    /// in place: expected O(n), no sort. Every comparison of a sum of drops with `room` is
    /// decided as the exact sum would decide it (`exceeds`), so the answer is a function of the
    /// multiset of breakpoints: the same in whatever order the slices of users delivered them.
    package mutating func smallestMultiplier(room: Double) -> Double {
        var total = 0.0
        for k in points.indices where points[k] > 0 { total += drops[k] }
        let all = Self.exceeds(total, terms: points.count, room: room) {
            var s = ExactSum()
            for k in points.indices where points[k] > 0 { s.add(drops[k]) }
            return s
        }
        if !all { return 0 }
        return points.withUnsafeMutableBufferPointer { p in
            drops.withUnsafeMutableBufferPointer { w in
                var lo = 0
                var hi = p.count          // active range [lo, hi)
                var taken = 0.0           // the drops of p[0 ..< lo], all above the active range
                while hi - lo > 0 {
                    let pivot = Self.medianOfThree(p[lo], p[lo + (hi - lo) / 2], p[hi - 1])
                    // Partition into [greater | equal | less].
                    var gt = lo, i = lo, lt = hi
                    var greater = 0.0, equal = 0.0
                    while i < lt {
                        let x = p[i]
                        if x > pivot {
                            greater += w[i]
                            p.swapAt(gt, i); w.swapAt(gt, i)
                            gt += 1; i += 1
                        } else if x < pivot {
                            lt -= 1
                            p.swapAt(i, lt); w.swapAt(i, lt)
                        } else {
                            equal += w[i]
                            i += 1
                        }
                    }
                    // The drops above the pivot are those of p[0 ..< gt]; with it, p[0 ..< lt].
                    let weights = UnsafeBufferPointer(w)
                    if Self.exceeds(taken + greater, terms: gt, room: room, exact: { Self.exactSum(weights, gt) }) {
                        hi = gt
                    } else if Self.exceeds(taken + greater + equal, terms: lt, room: room, exact: { Self.exactSum(weights, lt) }) {
                        return max(pivot, 0)
                    } else {
                        taken += greater + equal
                        lo = lt
                    }
                }
                // Everything above the remaining range fitted: only breakpoints <= 0 remain.
                return 0
            }
        }
    }

    private static func exactSum(_ w: UnsafeBufferPointer<Double>, _ n: Int) -> ExactSum {
        var s = ExactSum()
        for k in 0..<n { s.add(w[k]) }
        return s
    }

    /// Whether a sum of `terms` nonnegative drops exceeds `room`, given `sum`, its value added
    /// in some order in floating point: decided from `sum` when it is farther from `room` than
    /// its rounding error can be (`terms` ulps of `sum`, doubled), else from `exact()`. Either way
    /// the answer is the exact sum's, so it does not depend on the order of the additions.
    @inline(__always)
    static func exceeds(_ sum: Double, terms: Int, room: Double, exact: () -> ExactSum) -> Bool {
        let error = 2 * Double(terms + 1) * Double.ulpOfOne * abs(sum) + Double.leastNormalMagnitude
        if sum - room > error { return true }
        if room - sum > error { return false }
        return exact().exceeds(room)
    }

    /// The same with every drop 1: the smallest `λ >= 0` with at most `room` values above it
    /// (a coupon cap from its candidates' margins), the `(⌊room⌋ + 1)`-th largest value: a
    /// function of the multiset of values. Reorders `values`. Counts are exact in a double.
    static func smallestMultiplier(units values: UnsafeMutableBufferPointer<Double>, room: Double) -> Double {
        var positive = 0
        for v in values where v > 0 { positive += 1 }
        if Double(positive) <= room { return 0 }
        let p = values
        var lo = 0
        var hi = p.count
        var room = room
        while hi - lo > 0 {
            let pivot = medianOfThree(p[lo], p[lo + (hi - lo) / 2], p[hi - 1])
            var gt = lo, i = lo, lt = hi
            while i < lt {
                let x = p[i]
                if x > pivot {
                    p.swapAt(gt, i)
                    gt += 1; i += 1
                } else if x < pivot {
                    lt -= 1
                    p.swapAt(i, lt)
                } else {
                    i += 1
                }
            }
            let greater = Double(gt - lo), equal = Double(lt - gt)
            if greater > room {
                hi = gt
            } else if greater + equal > room {
                return max(pivot, 0)
            } else {
                room -= greater + equal
                lo = lt
            }
        }
        return 0
    }

    @inline(__always)
    private static func medianOfThree(_ a: Double, _ b: Double, _ c: Double) -> Double {
        max(min(a, b), min(max(a, b), c))
    }
}

extension UnsafeMutableBufferPointer {
    /// Sorts the first `n` elements by `before`: insertion sort up to 24 of them (a user's few
    /// candidates, the common case), the standard library's sort above.
    /// - Complexity: O(n²) up to 24 elements, O(n log n) above.
    @inline(__always)
    func sortPrefix(_ n: Int, by before: (Element, Element) -> Bool) {
        if n <= 1 { return }
        if n <= 24 {
            for a in 1..<n {
                let q = self[a]
                var b = a - 1
                while b >= 0, before(q, self[b]) {
                    self[b + 1] = self[b]
                    b -= 1
                }
                self[b + 1] = q
            }
        } else {
            var prefix = UnsafeMutableBufferPointer(rebasing: self[0..<n])
            prefix.sort(by: before)
        }
    }
}
