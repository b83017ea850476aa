import Dispatch
import Synchronization

/// Settings of the Lagrangian dual method.
public struct DualOptions: Sendable {
    /// At most this many sweeps over the multipliers.
    public var maxSweeps: Int = 200
    /// Over-relaxation of the budget and ROI coordinates: each such multiplier moves this
    /// multiple of the way to its coordinate minimiser (1 is plain coordinate descent).
    public var relaxation: Double = 1.5
    /// The step of the block update of the coupon caps, as a share of the way to every cap's
    /// coordinate minimiser. Halved whenever a sweep raises the bound (the simultaneous update
    /// overshot), down to `DualTolerance.minimumCouponStep`.
    public var couponStep: Double = 1
    /// Stop when `patience` sweeps in a row improve the best bound by less than this, relative.
    public var sweepTolerance: Double = DualTolerance.sweep
    /// See `sweepTolerance`.
    public var patience: Int = 3
    /// Projected subgradient steps tried when the sweeps stall with a gap above `targetGap`.
    public var subgradientSteps: Int = 40
    /// Relative gap at which the search stops.
    public var targetGap: Double = DualTolerance.targetGap
    /// Recover an allocation and check the gap every this many sweeps.
    public var gapCheckInterval: Int = 4
    /// When to also run `greedy-marginal` and return its allocation if it is better (a safety
    /// net, reported in the notes when it acts or is skipped).
    public var baselineCheck: BaselineCheck = .automatic
    /// On instances up to 100,000 candidates, also try the tie-move exchange after the recovery
    /// (`Recovery.tryTieMoves`; `allot.spark` has no such step, so its tests turn it off).
    public var tieMoves: Bool = true
    /// Extrapolate the multipliers along successive sweeps' moves (see `DualSearch.extrapolate`).
    public var extrapolate: Bool = true
    /// Start the sweeps from the multipliers of a sample of the users (one in 16) when there
    /// are at least 65,536 users and more than one multiplier or incentive per user.
    public var sampledWarmStart: Bool = true
    /// The warm start is used when its sample has at least this many users (a quarter of it for
    /// a sample's own sample; tests lower it).
    package var sampleMinimumUsers = 4_096
    /// Stop sweeping at this time (`monotonicSeconds()`); set from `SolveOptions.timeLimit`.
    package var deadline: Double?
    /// Called after each sweep and before each recovery.
    public var progress: ProgressHandler?
    public init() {}
}

/// The tolerances of the dual method, in one place.
public enum DualTolerance {
    /// A sweep that improves the best bound by less than this, relative, does not count as
    /// progress (the default of `DualOptions.sweepTolerance`; see `DualOptions.patience`).
    public static let sweep = 1e-6
    /// Default target relative gap (`DualOptions.targetGap`).
    public static let targetGap = 1e-5
    /// A relative gap at most this is reported as `optimal` (the shared `Tolerance`).
    public static let optimalGap = Tolerance.optimalGap
    /// Floor of the scale of a relative gap, so that a zero bound does not divide by zero.
    public static let scaleFloor = Tolerance.gapDenominatorFloor
    /// False position narrows a coordinate's bracket to this relative width before the exact
    /// enumeration of the steps inside it.
    public static let bracketWidth = 1e-3
    /// When enumerating the steps would be too costly (users with very many candidates at the
    /// step), narrowing goes on to this relative width and the bracket's feasible end is used.
    public static let finalBracketWidth = 1e-13
    /// A subgradient step must improve the best bound by more than this, relative.
    public static let improvement = 1e-12
    /// The largest jump of the extrapolation, in multiples of the last sweep's move.
    public static let maximumJump = 8.0
    /// The subgradient steps stop after this many in a row that do not improve the bound.
    public static let subgradientPatience = 3
    /// The first window of a coordinate after the sampled warm start, relative to its value:
    /// the sample's multipliers are off by its sampling error.
    public static let sampleWindow = 0.02
    /// Smallest step of the coupon caps' block update.
    public static let minimumCouponStep = 1.0 / 64
}

/// Whether the dual also runs `greedy-marginal` as a safety net.
public enum BaselineCheck: Sendable {
    case always, never
    /// Up to `automaticLimit` candidates, when no user has more than 256 candidates
    /// (greedy-marginal's move search is O(k x F) per user), and when the gap is above the
    /// target (otherwise greedy-marginal could add less than the target): there it costs a
    /// fraction of a second. Above that the recovery stands on its own (it ends with greedy-marginal's own
    /// continuation from the dual's allocation); docs/benchmarks.md shows what the net still
    /// catches.
    case automatic
    public static let automaticLimit = 1_000_000
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
///
/// The engine is immutable (and so `Sendable`): the multipliers and every scratch buffer belong
/// to the caller or to one worker. The candidate arrays are read through pointers that live
/// only inside `withColumns`.
package final class DualEngine: Sendable {
    enum Kind: Sendable {
        /// Budget `b` (index into `problem.budgets`).
        case budget(Int)
        case coupon(Int32)
        case roi
    }

    let problem: Problem
    let users: Int
    /// Whether each candidate can be part of a feasible allocation and is worth giving.
    package let eligible: [Bool]
    let kinds: [Kind]
    let names: [(ShadowPrice.Kind, String)]
    let limits: [Double]
    /// Per coupon, the index of its cap's multiplier, or -1.
    let couponMultiplier: [Int32]
    /// The multipliers updated one at a time (budgets and the ROI floor), in order.
    let coordinates: [Int]
    /// The coupon caps' multipliers, in coupon order: updated together in one block.
    let capMultipliers: [Int]
    /// Coupon → candidates index: the eligible candidates of the coupon of cap multiplier
    /// `capMultipliers[k]` own the slots `capSlotStart[k] ..< capSlotStart[k + 1]`, and
    /// `slot[j]` is candidate `j`'s slot (-1 when it has none). Empty without coupon caps.
    let capSlotStart: [Int]
    let slot: [Int32]
    let roiIndex: Int
    let roiRate: Double
    let maxPerUser: Int
    let channelCaps: [Int]
    let channelsCapped: Bool
    let chunks: UserChunks
    let maxCandidatesPerUser: Int
    /// Candidates visited by the passes over the users (hull, consumption, block pass), for the
    /// test that a sweep's cost does not grow with the number of coupon caps.
    let candidateVisits = Atomic<Int>(0)
    /// The share of the problem's limits that `limits` holds (1, or a sample's share).
    let limitScale: Double

    /// - Parameter limitScale: every relaxed constraint's limit is multiplied by it (the
    ///   warm start solves a sample of the users against their share of the limits).
    package init(_ problem: Problem, threads: Int, limitScale: Double = 1) {
        self.problem = problem
        self.limitScale = limitScale
        let t = problem.candidates
        users = t.userCount
        eligible = (0..<t.count).map(problem.isEligible)

        // The relaxed constraints are the problem's global ones (`ConstraintRules`), in its
        // order; a coupon capped at 0 has only ineligible candidates and needs no multiplier.
        var kinds: [Kind] = []
        var names: [(ShadowPrice.Kind, String)] = []
        var limits: [Double] = []
        var couponMultiplier = [Int32](repeating: -1, count: t.couponCount)
        var capMultipliers: [Int] = []
        var coordinates: [Int] = []
        var roiIndex = -1
        var roiRate = 0.0
        let rules = problem.rules
        for (i, kind) in rules.kinds.enumerated() {
            switch kind {
            case .budget(let b):
                coordinates.append(kinds.count)
                kinds.append(.budget(b))
                names.append((.budget, problem.budgets[b].name))
            case .couponCap(let c):
                guard rules.limits[i] > 0 else { continue }
                couponMultiplier[c] = Int32(kinds.count)
                capMultipliers.append(kinds.count)
                kinds.append(.coupon(Int32(c)))
                names.append((.couponCap, t.couponIDs[c]))
            case .minROI(let r):
                roiIndex = kinds.count
                roiRate = r
                coordinates.append(kinds.count)
                kinds.append(.roi)
                names.append((.minROI, "min_roi"))
            }
            limits.append(rules.limits[i] * limitScale)
        }
        self.roiIndex = roiIndex
        self.roiRate = roiRate
        self.kinds = kinds
        self.names = names
        self.limits = limits
        self.couponMultiplier = couponMultiplier
        self.coordinates = coordinates
        self.capMultipliers = capMultipliers
        (capSlotStart, slot) = Self.couponIndex(t, eligible, couponMultiplier, capMultipliers)
        maxPerUser = problem.maxPerUser
        channelCaps = problem.channelCaps
        channelsCapped = problem.maxPerUser > 1 && problem.hasChannelCaps && t.hasChannels
        chunks = UserChunks(users: users, threads: threads)
        var k = 0
        for u in 0..<users { k = max(k, t.userStart[u + 1] - t.userStart[u]) }
        maxCandidatesPerUser = k
    }

    /// The coupon → candidates index: slots grouped by cap, in candidate order within a cap.
    /// - Complexity: O(n + caps).
    private static func couponIndex(_ t: CandidateTable, _ eligible: [Bool], _ couponMultiplier: [Int32],
                                    _ capMultipliers: [Int]) -> ([Int], [Int32]) {
        guard !capMultipliers.isEmpty else { return ([0], []) }
        var position = [Int](repeating: -1, count: couponMultiplier.count)   // coupon → cap position
        for (k, i) in capMultipliers.enumerated() {
            if let c = couponMultiplier.firstIndex(of: Int32(i)) { position[c] = k }
        }
        var start = [Int](repeating: 0, count: capMultipliers.count + 1)
        for j in 0..<t.count where eligible[j] {
            let k = position[Int(t.coupon[j])]
            if k >= 0 { start[k + 1] += 1 }
        }
        for k in 0..<capMultipliers.count { start[k + 1] += start[k] }
        var next = start
        var slot = [Int32](repeating: -1, count: t.count)
        for j in 0..<t.count where eligible[j] {
            let k = position[Int(t.coupon[j])]
            if k >= 0 {
                slot[j] = Int32(next[k])
                next[k] += 1
            }
        }
        return (start, slot)
    }

    package var constraintCount: Int { kinds.count }
    var capSlotCount: Int { capSlotStart.last ?? 0 }

    // MARK: Columns, lent for the duration of a call

    /// Read-only views of the candidate arrays, valid only inside `withColumns`. Never stored.
    ///
    /// `@unchecked Sendable` is safe: the views are read-only, and the workers that read them
    /// (through `mapChunks`) all finish before `withColumns` returns and the arrays' lending ends.
    struct Columns: @unchecked Sendable {
        let uplift: UnsafeBufferPointer<Double>
        let cost: UnsafeBufferPointer<Double>
        let coupon: UnsafeBufferPointer<Int32>
        /// Empty when the scores have no channel column.
        let channel: UnsafeBufferPointer<Int32>
        let userStart: UnsafeBufferPointer<Int>
        let eligible: UnsafeBufferPointer<Bool>
        let budgets: [UnsafeBufferPointer<Double>]
        let couponMultiplier: UnsafeBufferPointer<Int32>
        let slot: UnsafeBufferPointer<Int32>
    }

    /// Lends `body` views of the candidate arrays; they must not escape it.
    func withColumns<R>(_ body: (Columns) -> R) -> R {
        let t = problem.candidates
        return t.uplift.withUnsafeBufferPointer { uplift in
            t.columns[0].withUnsafeBufferPointer { cost in
                t.coupon.withUnsafeBufferPointer { coupon in
                    t.channel.withUnsafeBufferPointer { channel in
                        t.userStart.withUnsafeBufferPointer { userStart in
                            eligible.withUnsafeBufferPointer { eligible in
                                couponMultiplier.withUnsafeBufferPointer { couponMultiplier in
                                    slot.withUnsafeBufferPointer { slot in
                                        Self.withBuffers(problem.budgets.map { t.columns[$0.column] }[...], []) { budgets in
                                            body(Columns(uplift: uplift, cost: cost, coupon: coupon, channel: channel,
                                                         userStart: userStart, eligible: eligible, budgets: budgets,
                                                         couponMultiplier: couponMultiplier, slot: slot))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func withBuffers<R>(_ arrays: ArraySlice<[Double]>, _ lent: [UnsafeBufferPointer<Double>],
                                       _ body: ([UnsafeBufferPointer<Double>]) -> R) -> R {
        guard let first = arrays.first else { return body(lent) }
        return first.withUnsafeBufferPointer { withBuffers(arrays.dropFirst(), lent + [$0], body) }
    }

    // MARK: Reduced values

    /// `r_j(m) = uplift_j - Σ_i m_i a_ij`.
    /// - Complexity: O(budgets).
    @inline(__always)
    func reduced(_ j: Int, _ m: UnsafeBufferPointer<Double>, _ c: Columns) -> Double {
        var r = c.uplift[j]
        for b in 0..<c.budgets.count { r -= m[b] * c.budgets[b][j] }
        let k = Int(c.couponMultiplier[Int(c.coupon[j])])
        if k >= 0 { r -= m[k] }
        if roiIndex >= 0 { r -= m[roiIndex] * (roiRate * c.cost[j] - c.uplift[j]) }
        return r
    }

    /// `r_j(m)`, outside the hot loops (`m` lent by the caller for the call).
    package func reduced(_ j: Int, _ m: UnsafePointer<Double>) -> Double {
        let t = problem.candidates
        var r = t.uplift[j]
        for (b, budget) in problem.budgets.enumerated() { r -= m[b] * t.columns[budget.column][j] }
        let k = Int(couponMultiplier[Int(t.coupon[j])])
        if k >= 0 { r -= m[k] }
        if roiIndex >= 0 { r -= m[roiIndex] * (roiRate * t.columns[0][j] - t.uplift[j]) }
        return r
    }

    /// `r_j(m)` for multipliers held in an array (the uplift itself when there are none).
    package func reduced(_ j: Int, at m: [Double]) -> Double {
        m.withUnsafeBufferPointer { mp in mp.isEmpty ? problem.candidates.uplift[j] : reduced(j, mp.baseAddress!) }
    }

    /// `a_ij`: what candidate `j` consumes of relaxed constraint `i`.
    @inline(__always)
    func coefficient(_ i: Int, _ j: Int, _ c: Columns) -> Double {
        switch kinds[i] {
        case .budget(let b): return c.budgets[b][j]
        case .coupon(let k): return c.coupon[j] == k ? 1 : 0
        case .roi: return roiRate * c.cost[j] - c.uplift[j]
        }
    }

    /// `a_ij`, outside the hot loops.
    func coefficient(_ i: Int, _ j: Int) -> Double {
        let t = problem.candidates
        switch kinds[i] {
        case .budget(let b): return t.columns[problem.budgets[b].column][j]
        case .coupon(let k): return t.coupon[j] == k ? 1 : 0
        case .roi: return roiRate * t.columns[0][j] - t.uplift[j]
        }
    }

    /// Runs `body` on every chunk of users with the columns and the multipliers lent, and
    /// counts the candidates visited.
    func mapChunks<T: Sendable>(_ m: [Double], _ body: @Sendable (Range<Int>, Columns, UnsafeBufferPointer<Double>) -> T) -> [T] {
        withColumns { c in
            m.withUnsafeBufferPointer { mp in
                let lent = Lent(mp)
                return chunks.map { _, range in
                    self.candidateVisits.add(c.userStart[range.upperBound] - c.userStart[range.lowerBound], ordering: .relaxed)
                    return body(range, c, lent.buffer)
                }
            }
        }
    }

    // MARK: The per-user problem

    /// Scratch space of one worker: no allocation per user or candidate.
    func makeScratch() -> UserSelection {
        UserSelection(maxCandidatesPerUser, channels: problem.candidates.channelCount)
    }

    /// Solves user `u`'s subproblem for reduced values `value(j)`; see `UserSelection.select`.
    @inline(__always)
    func select(_ u: Int, _ s: inout UserSelection, _ c: Columns, value: (Int) -> Double, key: (Int) -> Double) -> Double {
        s.select(c.userStart[u] ..< c.userStart[u + 1], c, maxPerUser: maxPerUser,
                 channelCaps: channelsCapped ? channelCaps : nil, value: value, key: key)
    }

    // MARK: The full pass: bound, consumption, and the coupon caps' margins

    struct Evaluation {
        /// D(m): an upper bound on the optimum.
        var bound: Double
        /// Σ_j a_ij over the subproblems' choices, per relaxed constraint.
        var consumption: [Double]
    }

    /// One pass over all users at multipliers `m`: the bound, every constraint's consumption,
    /// and, when `margins` is given (one entry per cap slot), each capped candidate's margin:
    /// the largest value of its coupon's multiplier at which the user still takes it, all other
    /// multipliers fixed (see `UserSelection.margin`).
    ///
    /// - Complexity: O(n (budgets + log k) / threads) for k candidates per user (O(n budgets)
    ///   with one incentive per user), plus O(caps): independent of the number of coupon caps.
    func evaluate(_ m: [Double], margins: UnsafeMutableBufferPointer<Double>? = nil) -> Evaluation {
        let coordinates = self.coordinates
        let channelCaps = channelsCapped ? self.channelCaps : nil
        // Which cap slots the choices hold, to count each cap's consumption.
        var held = [Bool](repeating: false, count: capSlotCount)
        // Slots belong to candidates, candidates to one user, users to one chunk: every worker
        // writes only its own slots of `held` and `margins`.
        let lentMargins = margins.map(Lent.init)
        let parts = held.withUnsafeMutableBufferPointer { heldBuffer in
            let held = Lent(heldBuffer)
            return mapChunks(m) { range, c, mp -> (Double, [Double]) in
                let margins = lentMargins?.buffer
                var s = makeScratch()
                var total = 0.0
                var consumption = [Double](repeating: 0, count: coordinates.count)
                for u in range {
                    total += select(u, &s, c, value: { self.reduced($0, mp, c) }, key: { c.budgets.first?[$0] ?? c.cost[$0] })
                    for a in 0..<s.count {
                        let j = s.picked[a]
                        for (q, i) in coordinates.enumerated() { consumption[q] += coefficient(i, j, c) }
                        if c.slot.count > 0, c.slot[j] >= 0 { held.buffer[Int(c.slot[j])] = true }
                    }
                    if let margins, !c.slot.isEmpty {
                        s.prepareMargins(c, channelCaps: channelCaps)
                        for j in c.userStart[u] ..< c.userStart[u + 1] where c.slot[j] >= 0 {
                            let own = mp[Int(c.couponMultiplier[Int(c.coupon[j])])]
                            margins[Int(c.slot[j])] = s.margin(j, c, value: self.reduced(j, mp, c) + own,
                                                                channelCaps: channelCaps, maxPerUser: maxPerUser)
                        }
                    }
                    s.reset(c, channelCaps: channelCaps)
                }
                return (total, consumption)
            }
        }
        var bound = 0.0
        var consumption = [Double](repeating: 0, count: constraintCount)
        for (value, part) in parts {
            bound += value
            for (q, i) in coordinates.enumerated() { consumption[i] += part[q] }
        }
        for (k, i) in capMultipliers.enumerated() {
            var n = 0
            for p in capSlotStart[k] ..< capSlotStart[k + 1] where held[p] { n += 1 }
            consumption[i] = Double(n)
        }
        for i in 0..<constraintCount { bound += m[i] * limits[i] }
        return Evaluation(bound: bound, consumption: consumption)
    }

    /// The subproblems' choices at `m`, ties to the cheaper candidate.
    func choices(_ m: [Double]) -> [Int] {
        let parts = mapChunks(m) { range, c, mp -> [Int] in
            var s = makeScratch()
            var picks: [Int] = []
            for u in range {
                _ = select(u, &s, c, value: { self.reduced($0, mp, c) }, key: { c.budgets.first?[$0] ?? c.cost[$0] })
                for a in 0..<s.count { picks.append(s.picked[a]) }
                s.reset(c, channelCaps: channelsCapped ? channelCaps : nil)
            }
            return picks.sorted()
        }
        return parts.flatMap { $0 }
    }

    // MARK: The coupon caps, in one block

    /// Every cap's coordinate minimiser from the margins of one pass: the smallest `λ >= 0`
    /// with at most `cap` margins above it, found by selection in the cap's own slots.
    /// `margins` is reordered in place.
    ///
    /// - Complexity: O(slots) expected, in parallel over caps: independent of their number.
    func capTargets(_ margins: UnsafeMutableBufferPointer<Double>) -> [Double] {
        let limits = self.limits
        let capMultipliers = self.capMultipliers
        let start = capSlotStart
        // Each cap reorders only its own slots.
        let lent = Lent(margins)
        return parallelMap(capMultipliers.count, threads: chunks.threads) { k in
            let values = UnsafeMutableBufferPointer(rebasing: lent.buffer[start[k] ..< start[k + 1]])
            return Breakpoints.smallestMultiplier(units: values, room: limits[capMultipliers[k]])
        }
    }
}

/// One user's subproblem: the greedy over its candidates, and each candidate's threshold.
///
/// The sets a user may receive (at most F, at most C_h per channel h) are the independent sets
/// of a laminar matroid, so greedy by descending reduced value is exact, and candidate `j` is in
/// the greedy's choice exactly when its value exceeds a threshold that depends on the others
/// only (see `margin`).
struct UserSelection {
    struct Entry {
        var value: Double
        var key: Double
        var index: Int
        /// Descending value, then ascending key, then ascending index.
        @inline(__always)
        static func before(_ a: Entry, _ b: Entry) -> Bool {
            a.value != b.value ? a.value > b.value : (a.key != b.key ? a.key < b.key : a.index < b.index)
        }
    }

    /// Positive candidates of the current user, sorted by `Entry.before` (with one incentive
    /// per user only the best is kept).
    var entries: [Entry]
    var entryCount = 0
    /// The chosen candidates: `picked[0..<count]`.
    var picked: [Int]
    var count = 0
    var isPicked: [Bool]
    var firstCandidate = 0
    /// Per channel: picks, best value left out, smallest value picked.
    var channelCount: [Int]
    var channelBestOut: [Double]
    var channelMinIn: [Double]
    /// The best value left out among candidates whose channel is not full; the smallest pick.
    var bestOutNotFull = 0.0
    var minIn = 0.0
    /// With one incentive per user: the best and second best value.
    var best = 0.0
    var second = 0.0

    init(_ k: Int, channels: Int) {
        entries = [Entry](repeating: Entry(value: 0, key: 0, index: 0), count: k + 1)
        picked = [Int](repeating: 0, count: k + 1)
        isPicked = [Bool](repeating: false, count: k + 1)
        channelCount = [Int](repeating: 0, count: max(channels, 1))
        channelBestOut = [Double](repeating: 0, count: max(channels, 1))
        channelMinIn = channelBestOut
    }

    /// Chooses the candidates of largest positive value within the caps, ties to the smaller
    /// `key(j)`, then the smaller index, and returns their total value.
    ///
    /// - Complexity: O(k) with one incentive per user; O(k log k) otherwise (insertion sort for
    ///   small k, the standard library's sort above), whatever the frequency and channel caps.
    @inline(__always)
    mutating func select(_ range: Range<Int>, _ c: DualEngine.Columns, maxPerUser: Int, channelCaps: [Int]?,
                         value: (Int) -> Double, key: (Int) -> Double) -> Double {
        firstCandidate = range.lowerBound
        count = 0
        entryCount = 0
        if maxPerUser == 1 {
            var bestIndex = -1
            var bestKey = 0.0
            best = 0
            second = 0
            for j in range where c.eligible[j] {
                let r = value(j)
                if r > best || (r == best && bestIndex >= 0 && key(j) < bestKey) {
                    second = max(second, best)
                    bestIndex = j
                    best = r
                    bestKey = key(j)
                } else if r > second {
                    second = r
                }
            }
            if bestIndex < 0 { return 0 }
            picked[0] = bestIndex
            isPicked[bestIndex - firstCandidate] = true
            count = 1
            return best
        }
        for j in range where c.eligible[j] {
            let r = value(j)
            if r > 0 {
                entries[entryCount] = Entry(value: r, key: key(j), index: j)
                entryCount += 1
            }
        }
        var total = 0.0
        minIn = 0
        if (channelCaps == nil || c.channel.isEmpty), entryCount > maxPerUser, entryCount > UserSelection.selectionThreshold {
            // Without channel caps the choice is the top `maxPerUser`: selection, no sort.
            selectTop(maxPerUser)
            minIn = .infinity
            for a in 0..<maxPerUser {
                let j = entries[a].index
                picked[a] = j
                isPicked[j - firstCandidate] = true
                total += entries[a].value
                minIn = min(minIn, entries[a].value)
            }
            count = maxPerUser
            return total
        }
        sortEntries()
        for a in 0..<entryCount where count < maxPerUser {
            let j = entries[a].index
            if let channelCaps, !c.channel.isEmpty {
                let h = Int(c.channel[j])
                if h >= 0 {
                    if channelCount[h] >= channelCaps[h] { continue }
                    channelCount[h] += 1
                    channelMinIn[h] = entries[a].value
                }
            }
            picked[count] = j
            isPicked[j - firstCandidate] = true
            total += entries[a].value
            minIn = entries[a].value
            count += 1
        }
        return total
    }

    /// Above this many positive candidates (and without channel caps), `select` finds the top
    /// `maxPerUser` by selection, in expected O(k), instead of sorting.
    static let selectionThreshold = 256

    /// Moves the `n` first entries in `Entry.before` order (a strict total order) to the front,
    /// in no particular order: quickselect with a deterministic median-of-three pivot.
    /// - Complexity: expected O(entries).
    private mutating func selectTop(_ n: Int) {
        let total = entryCount
        entries.withUnsafeMutableBufferPointer { e in
            var lo = 0, hi = total - 1
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                // Median of three, by `before`, moved to `hi`.
                if Entry.before(e[mid], e[lo]) { e.swapAt(mid, lo) }
                if Entry.before(e[hi], e[lo]) { e.swapAt(hi, lo) }
                if Entry.before(e[mid], e[hi]) { e.swapAt(mid, hi) }
                let pivot = e[hi]
                var store = lo
                for a in lo..<hi where Entry.before(e[a], pivot) {
                    e.swapAt(a, store)
                    store += 1
                }
                e.swapAt(store, hi)
                if store == n - 1 || store == n { return }
                if store > n { hi = store - 1 } else { lo = store + 1 }
            }
        }
    }

    private mutating func sortEntries() {
        let n = entryCount
        entries.withUnsafeMutableBufferPointer { $0.sortPrefix(n, by: Entry.before) }
    }

    /// Candidate `j`'s margin after `select`: `own - threshold`, where `own` is its value with
    /// its own coupon's multiplier left out. `j` is chosen exactly when its coupon's multiplier
    /// is below the margin (the others fixed). The threshold is what `j` must beat:
    /// - if chosen: the best candidate left out that could take its place (same channel, or a
    ///   channel with room), or 0;
    /// - if not: the smallest choice of its channel when that channel is full, else the smallest
    ///   choice when the frequency cap is full, else 0.
    /// Call `prepareMargins` once per user first.
    @inline(__always)
    func margin(_ j: Int, _ c: DualEngine.Columns, value own: Double, channelCaps: [Int]?, maxPerUser: Int) -> Double {
        let chosen = isPicked[j - firstCandidate]
        if maxPerUser == 1 {
            return own - (chosen ? max(0, second) : max(0, best))
        }
        var h = -1
        if let channelCaps, !c.channel.isEmpty, c.channel[j] >= 0, channelCaps[Int(c.channel[j])] != Problem.uncapped {
            h = Int(c.channel[j])
        }
        var threshold = 0.0
        if chosen {
            threshold = max(0, bestOutNotFull)
            if h >= 0 { threshold = max(threshold, channelBestOut[h]) }
        } else if h >= 0, channelCount[h] >= channelCaps![h] {
            threshold = channelMinIn[h]
        } else if count >= maxPerUser {
            threshold = minIn
        }
        return own - threshold
    }

    /// After `select`, finds the best candidates left out (per channel, and among channels with
    /// room), for `margin`.
    /// - Complexity: O(k).
    @inline(__always)
    mutating func prepareMargins(_ c: DualEngine.Columns, channelCaps: [Int]?) {
        bestOutNotFull = 0
        if let channelCaps, !c.channel.isEmpty {
            for a in 0..<entryCount {
                let h = Int(c.channel[entries[a].index])
                if h >= 0 { channelBestOut[h] = 0 }
            }
            for a in 0..<entryCount where !isPicked[entries[a].index - firstCandidate] {
                let h = Int(c.channel[entries[a].index])
                let v = entries[a].value
                if h >= 0, channelCaps[h] != Problem.uncapped {
                    channelBestOut[h] = max(channelBestOut[h], v)
                    if channelCount[h] >= channelCaps[h] { continue }
                }
                bestOutNotFull = max(bestOutNotFull, v)
            }
        } else {
            // The best value left out (entries are sorted, or selected with the picks in front).
            for a in min(count, entryCount)..<entryCount where !isPicked[entries[a].index - firstCandidate] {
                bestOutNotFull = max(bestOutNotFull, entries[a].value)
                if entryCount <= UserSelection.selectionThreshold { break }
            }
        }
    }

    /// Clears the per-user marks.
    @inline(__always)
    mutating func reset(_ c: DualEngine.Columns, channelCaps: [Int]?) {
        for a in 0..<count { isPicked[picked[a] - firstCandidate] = false }
        if channelCaps != nil, !c.channel.isEmpty {
            for a in 0..<count {
                let h = Int(c.channel[picked[a]])
                if h >= 0 { channelCount[h] = 0 }
            }
        }
    }
}

extension DualOptions {
    var pastDeadline: Bool { deadline.map { monotonicSeconds() >= $0 } ?? false }
}
