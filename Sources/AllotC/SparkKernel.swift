// The per-partition kernel of allot.spark (include/allot_spark.h): the Lagrangian dual's
// per-user work on one partition's columns, with the global quantities (multipliers, rooms)
// given by the driver. It holds no state between calls but the borrowed columns.
//
// The rules are the single-machine dual's (docs/algorithms.md), written again here on raw
// columns so that a partition needs no `Problem` (whose coupon caps must name coupons present
// in the partition) and so that this file does not depend on the dual engine's internals:
//  - reduced value r_j = uplift_j - Σ_b m_b a_bj - m_cap(j) - m_roi (rate cost_j - uplift_j),
//    with the operations in the engine's order, so breakpoints are bit-identical;
//  - a user's choice: the largest positive reduced values within the frequency and channel
//    caps (greedy on a laminar matroid), ties to the smaller tie key, then the smaller row;
//  - one incentive per user: the breakpoints of a constraint are the edges of each user's upper
//    concave hull of (a_ij, r_j + m_i a_ij) and the origin; several: each user's exact steps,
//    found by evaluating the user at every crossing of two reduced values or of one with zero.

import AllotCore
import Foundation
import Synchronization

/// One partition's columns, borrowed from the caller until `allot_spark_table_free`.
/// Addresses are kept as integers and turned into pointers only inside a call.
final class SparkTable: Sendable {
    let rows: Int
    let users: Int
    let userStart: Int
    let uplift: Int
    let cost: Int
    let budgets: [Int]
    let capCount: Int
    let cap: Int
    let channel: Int        // 0: no channel column
    let channelCaps: [Int]  // Int.max: uncapped
    let maxPerUser: Int
    let hasROI: Bool
    let roiRate: Double
    let eligible: Int

    init(rows: Int, users: Int, userStart: Int, uplift: Int, cost: Int, budgets: [Int], capCount: Int, cap: Int,
         channel: Int, channelCaps: [Int], maxPerUser: Int, hasROI: Bool, roiRate: Double, eligible: Int) {
        self.rows = rows
        self.users = users
        self.userStart = userStart
        self.uplift = uplift
        self.cost = cost
        self.budgets = budgets
        self.capCount = capCount
        self.cap = cap
        self.channel = channel
        self.channelCaps = channelCaps
        self.maxPerUser = maxPerUser
        self.hasROI = hasROI
        self.roiRate = roiRate
        self.eligible = eligible
    }

    var constraintCount: Int { budgets.count + capCount + (hasROI ? 1 : 0) }
}

/// The live tables, so that a freed or foreign pointer is an error, not a crash.
let sparkTables = Mutex<[UInt: SparkTable]>([:])
let sparkNextID = Atomic<UInt>(1)

func sparkTable(_ handle: UInt) throws -> SparkTable {
    guard let table = sparkTables.withLock({ $0[handle] }) else {
        throw argument("\(handle) is not a live allot_spark_table handle (freed already, or never made)")
    }
    return table
}

/// The columns of one call, as pointers (valid for the call: the caller vouches for them).
struct SparkView {
    let users: Int
    let userStart: UnsafePointer<Int64>
    let uplift: UnsafePointer<Double>
    let cost: UnsafePointer<Double>
    let budgets: [UnsafePointer<Double>]
    let capCount: Int
    let cap: UnsafePointer<Int32>
    let channel: UnsafePointer<Int32>?
    let channelCaps: [Int]
    let channelsCapped: Bool
    let maxPerUser: Int
    let roiIndex: Int
    let roiRate: Double
    let eligible: UnsafePointer<UInt8>
    let k: Int
    /// The first budget's column (or cost): ties of the users' choices go to the cheaper.
    let tieKey: UnsafePointer<Double>

    init(_ t: SparkTable) {
        func pointer<T>(_ a: Int, _: T.Type) -> UnsafePointer<T> { UnsafePointer(bitPattern: a)! }
        users = t.users
        userStart = pointer(t.userStart, Int64.self)
        uplift = pointer(t.uplift, Double.self)
        cost = pointer(t.cost, Double.self)
        budgets = t.budgets.map { pointer($0, Double.self) }
        capCount = t.capCount
        cap = pointer(t.cap, Int32.self)
        channel = t.channel == 0 ? nil : pointer(t.channel, Int32.self)
        channelCaps = t.channelCaps
        channelsCapped = t.maxPerUser > 1 && t.channel != 0 && t.channelCaps.contains { $0 != Int.max }
        maxPerUser = t.maxPerUser
        roiIndex = t.hasROI ? t.budgets.count + t.capCount : -1
        roiRate = t.roiRate
        eligible = pointer(t.eligible, UInt8.self)
        k = t.constraintCount
        tieKey = budgets.first ?? cost
    }

    @inline(__always) func range(_ u: Int) -> Range<Int> { Int(userStart[u]) ..< Int(userStart[u + 1]) }

    /// `r_j(m)`, with the dual engine's operations in its order.
    @inline(__always)
    func reduced(_ j: Int, _ m: UnsafePointer<Double>) -> Double {
        var r = uplift[j]
        for b in 0..<budgets.count { r -= m[b] * budgets[b][j] }
        let c = Int(cap[j])
        if c >= 0 { r -= m[budgets.count + c] }
        if roiIndex >= 0 { r -= m[roiIndex] * (roiRate * cost[j] - uplift[j]) }
        return r
    }

    /// `a_ij`.
    @inline(__always)
    func coefficient(_ i: Int, _ j: Int) -> Double {
        if i < budgets.count { return budgets[i][j] }
        if i == roiIndex { return roiRate * cost[j] - uplift[j] }
        return Int(cap[j]) == i - budgets.count ? 1 : 0
    }

    /// Per-user scratch space: no allocation per user.
    struct Scratch {
        var index: [Int] = []
        var value: [Double] = []
        var key: [Double] = []
        var channelCount: [Int]
        init(channels: Int) { channelCount = [Int](repeating: 0, count: max(channels, 1)) }
    }

    /// User `u`'s choice for values `value(j)`: the largest positive values within the caps, ties
    /// to the smaller `key(j)`, then the smaller row. Picks in `scratch.index[0..<count]`.
    @inline(__always)
    func select(_ u: Int, _ s: inout Scratch, value: (Int) -> Double, key: (Int) -> Double) -> (count: Int, total: Double) {
        let rows = range(u)
        if maxPerUser == 1 {
            var best = -1
            var bestValue = 0.0
            var bestKey = 0.0
            for j in rows where eligible[j] != 0 {
                let r = value(j)
                if r > bestValue || (r == bestValue && best >= 0 && key(j) < bestKey) {
                    best = j
                    bestValue = r
                    bestKey = key(j)
                }
            }
            if best < 0 { return (0, 0) }
            if s.index.isEmpty { s.index.append(0) }
            s.index[0] = best
            return (1, bestValue)
        }
        s.index.removeAll(keepingCapacity: true)
        s.value.removeAll(keepingCapacity: true)
        s.key.removeAll(keepingCapacity: true)
        for j in rows where eligible[j] != 0 {
            let r = value(j)
            if r > 0 {
                s.index.append(j)
                s.value.append(r)
                s.key.append(key(j))
            }
        }
        let n = s.index.count
        // Insertion sort by (value desc, key asc, row asc): users have few candidates.
        if n > 1 {
            for a in 1..<n {
                let (ij, vj, kj) = (s.index[a], s.value[a], s.key[a])
                var b = a - 1
                while b >= 0 {
                    let before = s.value[b] > vj || (s.value[b] == vj && (s.key[b] < kj || (s.key[b] == kj && s.index[b] < ij)))
                    if before { break }
                    s.index[b + 1] = s.index[b]
                    s.value[b + 1] = s.value[b]
                    s.key[b + 1] = s.key[b]
                    b -= 1
                }
                s.index[b + 1] = ij
                s.value[b + 1] = vj
                s.key[b + 1] = kj
            }
        }
        var taken = 0
        var total = 0.0
        for a in 0..<n where taken < maxPerUser {
            let j = s.index[a]
            if channelsCapped, let channel {
                let h = Int(channel[j])
                if h >= 0 {
                    if s.channelCount[h] >= channelCaps[h] { continue }
                    s.channelCount[h] += 1
                }
            }
            s.index[taken] = j
            total += s.value[a]
            taken += 1
        }
        if channelsCapped, let channel {
            for a in 0..<taken where channel[s.index[a]] >= 0 { s.channelCount[Int(channel[s.index[a]])] = 0 }
        }
        return (taken, total)
    }

    /// Σ_u (best total reduced value) and the consumption of the choices; marks them in `chosen`.
    func evaluate(_ m: UnsafePointer<Double>, _ consumption: UnsafeMutablePointer<Double>,
                  _ chosen: UnsafeMutablePointer<UInt8>?, channels: Int) -> Double {
        var s = Scratch(channels: channels)
        var total = 0.0
        for i in 0..<k { consumption[i] = 0 }
        for u in 0..<users {
            let (count, value) = select(u, &s, value: { reduced($0, m) }, key: { tieKey[$0] })
            total += value
            for a in 0..<count {
                let j = s.index[a]
                chosen?[j] = 1
                for i in 0..<k { consumption[i] += coefficient(i, j) }
            }
        }
        return total
    }

    /// The steps of constraint `i`'s consumption `S_i(λ)` in `(lo, hi]`, the others' multipliers
    /// fixed: `S_i(λ) = atHi + Σ { drop : λ < point <= hi }` for λ in [lo, hi].
    func steps(_ i: Int, _ m: UnsafePointer<Double>, lo: Double, hi: Double, channels: Int,
               emit: (Double, Double) -> Void) -> Double {
        maxPerUser == 1 ? hullSteps(i, m, lo: lo, hi: hi, emit: emit) : crossingSteps(i, m, lo: lo, hi: hi, channels: channels, emit: emit)
    }

    /// One incentive per user: the edges of each user's upper hull, as the dual engine builds it.
    private func hullSteps(_ i: Int, _ m: UnsafePointer<Double>, lo: Double, hi: Double, emit: (Double, Double) -> Void) -> Double {
        let mi = m[i]
        var xs: [Double] = [], ys: [Double] = []
        var order: [Int] = [], hull: [Int] = []
        var atHi = 0.0
        for u in 0..<users {
            xs.removeAll(keepingCapacity: true)
            ys.removeAll(keepingCapacity: true)
            xs.append(0)
            ys.append(0)
            for j in range(u) where eligible[j] != 0 {
                let x = coefficient(i, j)
                xs.append(x)
                ys.append(reduced(j, m) + mi * x)
            }
            let n = xs.count
            order.removeAll(keepingCapacity: true)
            for a in 0..<n { order.append(a) }
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
            hull.removeAll(keepingCapacity: true)
            var lastX = -Double.infinity
            for a in 0..<n {
                let p = order[a]
                if xs[p] == lastX { continue }
                lastX = xs[p]
                while hull.count >= 2 {
                    let o = hull[hull.count - 2], q = hull[hull.count - 1]
                    let cross = (xs[q] - xs[o]) * (ys[p] - ys[o]) - (ys[q] - ys[o]) * (xs[p] - xs[o])
                    if cross >= 0 { hull.removeLast() } else { break }
                }
                hull.append(p)
            }
            atHi += xs[hull[0]]
            var e = 1
            while e < hull.count, ys[hull[e]] > ys[hull[e - 1]] {
                let dx = xs[hull[e]] - xs[hull[e - 1]]
                let p = (ys[hull[e]] - ys[hull[e - 1]]) / dx
                if p > hi { atHi += dx } else if p > lo { emit(p, dx) }
                e += 1
            }
        }
        return atHi
    }

    /// Several incentives per user: each user's exact steps in (lo, hi], found by evaluating it
    /// at every point where two reduced values cross or one crosses zero.
    private func crossingSteps(_ i: Int, _ m: UnsafePointer<Double>, lo: Double, hi: Double, channels: Int,
                               emit: (Double, Double) -> Void) -> Double {
        var local = Array(UnsafeBufferPointer(start: m, count: k))
        var s = Scratch(channels: channels)
        var xs: [Double] = [], ys: [Double] = [], points: [Double] = []
        var atHi = 0.0
        func userConsumption(_ u: Int, _ λ: Double) -> Double {
            local[i] = λ
            return local.withUnsafeBufferPointer { lp in
                let lb = lp.baseAddress!
                let (count, _) = select(u, &s, value: { reduced($0, lb) }, key: { coefficient(i, $0) })
                var total = 0.0
                for a in 0..<count { total += coefficient(i, s.index[a]) }
                return total
            }
        }
        for u in 0..<users {
            xs.removeAll(keepingCapacity: true)
            ys.removeAll(keepingCapacity: true)
            // Above `top`, no candidate consuming i has a positive value: the choice is that at +∞.
            var top = 0.0
            for j in range(u) where eligible[j] != 0 {
                let x = coefficient(i, j)
                xs.append(x)
                ys.append(reduced(j, m) + m[i] * x)
                if x > 0 { top = max(top, ys[ys.count - 1] / x) }
            }
            top = top * (1 + 1e-12) + 1e-300
            let sLo = userConsumption(u, lo)
            let sHi = userConsumption(u, min(hi, max(top, lo)))
            atHi += sHi
            if sLo == sHi { continue }
            points.removeAll(keepingCapacity: true)
            for a in xs.indices {
                if xs[a] != 0 {
                    let p = ys[a] / xs[a]
                    if p > lo && p <= hi { points.append(p) }
                }
                for b in (a + 1)..<xs.count where xs[a] != xs[b] {
                    let p = (ys[a] - ys[b]) / (xs[a] - xs[b])
                    if p > lo && p <= hi { points.append(p) }
                }
            }
            points.sort()
            // The choice is constant between consecutive points: evaluate it inside each
            // interval (at the midpoint, or at the upper end after the last point), where no two
            // values tie, rather than at the points, where rounding may pick either side.
            var previous = sLo
            var a = 0
            while a < points.count {
                let p = points[a]
                var b = a + 1
                while b < points.count && points[b] == p { b += 1 }
                let c = b < points.count ? userConsumption(u, 0.5 * (p + points[b])) : sHi
                if c < previous { emit(p, previous - c) }
                previous = c
                a = b
            }
        }
        return atHi
    }

    /// Each user's best move from `chosen` (add a candidate, or exchange a held one for a better
    /// one), as greedy-marginal ranks moves: tier 1 (no extra weight) before tier 0, then extra
    /// uplift per extra weight, then extra uplift, then the smaller row. Only moves that the
    /// user's caps allow and whose extra consumption of every constraint fits its room count.
    func bestMoves(chosen: UnsafePointer<UInt8>, weight: UnsafePointer<Double>, room: UnsafePointer<Double>,
                   add: UnsafeMutablePointer<Int64>, remove: UnsafeMutablePointer<Int64>,
                   tier: UnsafeMutablePointer<Int8>, key: UnsafeMutablePointer<Double>, gain: UnsafeMutablePointer<Double>) {
        var held: [Int] = []
        for u in 0..<users {
            add[u] = -1
            remove[u] = -1
            let rows = range(u)
            held.removeAll(keepingCapacity: true)
            for j in rows where chosen[j] != 0 { held.append(j) }
            var best: (tier: Int8, key: Double, gain: Double, add: Int, remove: Int)?
            func consider(_ j: Int, _ i: Int?) {
                let g = uplift[j] - (i.map { uplift[$0] } ?? 0)
                let w = weight[j] - (i.map { weight[$0] } ?? 0)
                let move: (tier: Int8, key: Double, gain: Double, add: Int, remove: Int) =
                    w > 0 ? (0, g / w, g, j, i ?? -1) : (1, g, g, j, i ?? -1)
                if let b = best {
                    // greedy-marginal's order; rows ascending within a user
                    if (move.tier, move.key, move.gain) < (b.tier, b.key, b.gain) { return }
                    if (move.tier, move.key, move.gain) == (b.tier, b.key, b.gain), (move.add, move.remove) > (b.add, b.remove) { return }
                }
                for c in 0..<k {
                    let delta = coefficient(c, j) - (i.map { coefficient(c, $0) } ?? 0)
                    if delta > 0 && delta > room[c] { return }
                }
                guard userAllows(u, add: j, remove: i, chosen: chosen) else { return }
                best = move
            }
            for j in rows where chosen[j] == 0 && eligible[j] != 0 {
                if held.count < maxPerUser { consider(j, nil) }
                for i in held where uplift[j] > uplift[i] { consider(j, i) }
            }
            if let b = best {
                add[u] = Int64(b.add)
                remove[u] = Int64(b.remove)
                tier[u] = b.tier
                key[u] = b.key
                gain[u] = b.gain
            }
        }
    }

    /// Whether user `u`'s channel caps allow adding `j` (optionally in place of `i`).
    private func userAllows(_ u: Int, add j: Int, remove i: Int?, chosen: UnsafePointer<UInt8>) -> Bool {
        guard let channel else { return true }
        let h = Int(channel[j])
        guard h >= 0, channelCaps[h] != Int.max else { return true }
        if let i, channel[i] == channel[j] { return true }
        var n = 0
        for r in range(u) where chosen[r] != 0 && channel[r] == channel[j] { n += 1 }
        return n < channelCaps[h]
    }
}

// MARK: - Exported functions (declared in include/allot_spark.h)

/// The most pairwise crossing points `crossingSteps` may hold for one user (16 bytes each).
let sparkMaxCrossings = 1 << 25

@_cdecl("allot_spark_table_new")
public func allot_spark_table_new(_ rows: Int64, _ users: Int64, _ userStart: UnsafePointer<Int64>?,
                                  _ uplift: UnsafePointer<Double>?, _ cost: UnsafePointer<Double>?,
                                  _ budgetCount: Int32, _ budgets: UnsafePointer<UnsafePointer<Double>?>?,
                                  _ capCount: Int32, _ cap: UnsafePointer<Int32>?,
                                  _ channel: UnsafePointer<Int32>?, _ channelCount: Int32, _ channelCaps: UnsafePointer<Int64>?,
                                  _ maxPerUser: Int64, _ hasROI: Int32, _ roiRate: Double,
                                  _ eligible: UnsafePointer<UInt8>?) -> UInt {
    guarded(0) {
        guard rows >= 0, users >= 0, budgetCount >= 0, capCount >= 0, channelCount >= 0 else { throw argument("negative count") }
        guard maxPerUser >= 1 else { throw argument("max_per_user must be at least 1") }
        guard let userStart, let uplift, let cost, let cap, let eligible else { throw argument("a required column is NULL") }
        guard userStart[0] == 0, userStart[Int(users)] == rows else { throw argument("user_start must run from 0 to rows") }
        for u in 0..<Int(users) where userStart[u] > userStart[u + 1] { throw argument("user_start must not decrease") }
        if maxPerUser > 1 {
            // crossingSteps holds every pairwise crossing of a user's reduced values: k(k-1)/2
            // points. Past sparkMaxCrossings (512 MiB) that user is refused with a message
            // instead of an allocation that aborts the Python worker (issue 25, finding 3).
            let k = (0..<Int(users)).map { Int(userStart[$0 + 1] - userStart[$0]) }.max() ?? 0
            if k * (k - 1) / 2 > sparkMaxCrossings {
                throw InputError(file: "allot.spark", "a user has \(k) candidates with max_per_user \(maxPerUser): "
                                 + "allot.spark's kernel would hold \(k * (k - 1) / 2) crossing points for that user "
                                 + "(more than \(sparkMaxCrossings)); solve such users with allot.solve on one machine")
            }
        }
        var columns: [Int] = []
        for b in 0..<Int(budgetCount) {
            guard let column = budgets?[b] else { throw argument("budget column \(b) is NULL") }
            columns.append(Int(bitPattern: column))
        }
        for r in 0..<Int(rows) where cap[r] < -1 || cap[r] >= capCount { throw argument("cap index out of range at row \(r)") }
        var caps: [Int] = []
        if let channel {
            guard let channelCaps else { throw argument("channel_caps is NULL") }
            for h in 0..<Int(channelCount) { caps.append(channelCaps[h] == Int64.max ? Int.max : Int(channelCaps[h])) }
            for r in 0..<Int(rows) where channel[r] < -1 || channel[r] >= channelCount { throw argument("channel out of range at row \(r)") }
        }
        let table = SparkTable(rows: Int(rows), users: Int(users), userStart: Int(bitPattern: userStart),
                               uplift: Int(bitPattern: uplift), cost: Int(bitPattern: cost), budgets: columns,
                               capCount: Int(capCount), cap: Int(bitPattern: cap),
                               channel: channel.map { Int(bitPattern: $0) } ?? 0, channelCaps: caps,
                               maxPerUser: Int(maxPerUser), hasROI: hasROI != 0, roiRate: roiRate,
                               eligible: Int(bitPattern: eligible))
        let id = sparkNextID.add(1, ordering: .relaxed).oldValue
        sparkTables.withLock { $0[id] = table }
        return id
    }
}

@_cdecl("allot_spark_table_free")
public func allot_spark_table_free(_ handle: UInt) {
    guarded(()) {
        if handle == 0 { return }
        let removed = sparkTables.withLock { $0.removeValue(forKey: handle) }
        if removed == nil { throw argument("\(handle) is not a live allot_spark_table handle (freed already, or never made)") }
    }
}

@_cdecl("allot_spark_constraint_count")
public func allot_spark_constraint_count(_ handle: UInt) -> Int32 {
    guarded(-1) { Int32(try sparkTable(handle).constraintCount) }
}

@_cdecl("allot_spark_evaluate")
public func allot_spark_evaluate(_ handle: UInt, _ m: UnsafePointer<Double>?, _ value: UnsafeMutablePointer<Double>?,
                                 _ consumption: UnsafeMutablePointer<Double>?, _ chosen: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded(-1) {
        let t = try sparkTable(handle)
        guard let m, let value, let consumption else { throw argument("a pointer argument is NULL") }
        let view = SparkView(t)
        if let chosen { for r in 0..<t.rows { chosen[r] = 0 } }
        value.pointee = view.evaluate(m, consumption, chosen, channels: t.channelCaps.count)
        return 0
    }
}

@_cdecl("allot_spark_steps")
public func allot_spark_steps(_ handle: UInt, _ m: UnsafePointer<Double>?, _ constraint: Int32, _ lo: Double, _ hi: Double,
                              _ points: UnsafeMutablePointer<Double>?, _ drops: UnsafeMutablePointer<Double>?,
                              _ capacity: Int64, _ atHi: UnsafeMutablePointer<Double>?) -> Int64 {
    guarded(-1) {
        let t = try sparkTable(handle)
        guard let m, let points, let drops, let atHi else { throw argument("a pointer argument is NULL") }
        guard constraint >= 0, Int(constraint) < t.constraintCount else { throw argument("constraint \(constraint) out of range") }
        guard lo >= 0, hi >= lo else { throw argument("need 0 <= lo <= hi") }
        var n: Int64 = 0
        atHi.pointee = SparkView(t).steps(Int(constraint), m, lo: lo, hi: hi, channels: t.channelCaps.count) { p, w in
            if n < capacity {
                points[Int(n)] = p
                drops[Int(n)] = w
            }
            n += 1
        }
        // More steps than room: the count tells the caller how much to allocate.
        return n
    }
}

@_cdecl("allot_spark_best_moves")
public func allot_spark_best_moves(_ handle: UInt, _ chosen: UnsafePointer<UInt8>?, _ weight: UnsafePointer<Double>?,
                                   _ room: UnsafePointer<Double>?, _ add: UnsafeMutablePointer<Int64>?,
                                   _ remove: UnsafeMutablePointer<Int64>?, _ tier: UnsafeMutablePointer<Int8>?,
                                   _ key: UnsafeMutablePointer<Double>?, _ gain: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded(-1) {
        let t = try sparkTable(handle)
        guard let chosen, let weight, let room, let add, let remove, let tier, let key, let gain else {
            throw argument("a pointer argument is NULL")
        }
        SparkView(t).bestMoves(chosen: chosen, weight: weight, room: room, add: add, remove: remove, tier: tier, key: key, gain: gain)
        return 0
    }
}
