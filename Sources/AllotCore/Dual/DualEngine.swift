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

/// The worker of the Lagrangian dual (method `dual`). See docs/algorithms.md.
///
/// Relaxes the global constraints of `ConstraintRules` (budgets, per-coupon caps and floors, the
/// ROI floor, general rows) with one multiplier `m_s >= 0` per finite side `s` of every row
/// (`DualModel.sides`: a floor `lo <= a x` is the ceiling `-a x <= -lo`, so its multiplier raises
/// the reduced value of the candidates it needs). The rest splits into one problem per user:
/// take the candidates of largest positive reduced value within the user's frequency and
/// channel caps. For any `m >= 0`,
///
///     D(m) = Σ_users max_{allowed sets S} Σ_{j ∈ S} r_j(m) + Σ_s m_s limit_s
///
/// is an upper bound on the optimum of every feasible allocation (weak duality, floors as
/// ceilings: docs/algorithms.md): that bound is the certificate. The worker folds the sides into
/// one net multiplier per row (`DualModel.net`), so a pass costs what it did without floors.
///
/// The engine is one half of the dual: `work(_:users:)` runs one `DualTask` over any range of
/// whole users and returns a `DualAggregate`, whose `merge` is exact (see `ExactSum`). The other
/// half, the coordinator (`DualSearch`, `DualRounds`), never reads a candidate: it sends tasks
/// through a `DualTransport` (threads here, Spark in allot.spark) and reads merged aggregates.
///
/// The engine is immutable (and so `Sendable`): every scratch buffer belongs to one call. The
/// candidate arrays are read through pointers that live only inside `withColumns`.
package final class DualEngine: Sendable {
    let problem: Problem
    let users: Int
    /// Whether each candidate may be part of an optimal allocation (`Problem.mayBeUseful`: it
    /// fits alone and is worth giving or helps a row). Without floors and general rows, the
    /// candidates of uplift > 0 that fit alone.
    package let eligible: [Bool]
    /// The spec-level description the coordinator reads (limits, which multipliers are
    /// coordinates and which are coupon caps, names).
    package let model: DualModel
    /// Per coupon, the multiplier of its cap (its row's ceiling side), or -1.
    let couponMultiplier: [Int32]
    /// Per coupon, its count row (`ConstraintRules.couponConstraint`), or -1.
    let couponRow: [Int32]
    let generalStart: Int
    /// Per coupon, the position of its cap in `model.capMultipliers`, or -1.
    let couponCapPosition: [Int32]
    let roiIndex: Int
    let roiRate: Double
    let maxPerUser: Int
    let channelCaps: [Int]
    let channelsCapped: Bool
    let chunks: UserChunks
    let maxCandidatesPerUser: Int
    /// Candidates visited by the worker passes, for the tests that count work.
    let candidateVisits = Atomic<Int>(0)
    /// Line visits of the walks (`walk`), for the test that a user's walk stays within its budget.
    let walkWork = Atomic<Int>(0)

    var kinds: [ConstraintRules.Kind] { problem.rules.kinds }
    var limits: [Double] { model.limits }
    var coordinates: [Int] { model.coordinates }
    var capMultipliers: [Int] { model.capMultipliers }
    var names: [(ShadowPrice.Kind, String)] { model.names }
    var limitScale: Double { model.limitScale }
    package var constraintCount: Int { model.constraintCount }

    /// - Parameter limitScale: every relaxed constraint's limit is multiplied by it (the
    ///   warm start solves a sample of the users against their share of the limits).
    package init(_ problem: Problem, threads: Int, limitScale: Double = 1) {
        self.problem = problem
        let t = problem.candidates
        users = t.userCount
        eligible = (0..<t.count).map(problem.mayBeUseful)
        let rules = problem.rules
        let model = DualModel(problem, limitScale: limitScale)
        self.model = model
        couponRow = rules.couponConstraint.map { Int32($0) }
        couponMultiplier = rules.couponConstraint.map { Int32($0 >= 0 ? model.ceilingSide[$0] : -1) }
        generalStart = rules.generalStart
        var position = [Int32](repeating: -1, count: t.couponCount)
        for (k, s) in model.capMultipliers.enumerated() {
            if case .couponCap(let c) = rules.kinds[model.sides[s].row] { position[c] = Int32(k) }
        }
        couponCapPosition = position
        roiIndex = rules.roiConstraint
        if rules.roiConstraint >= 0, case .minROI(let r) = rules.kinds[rules.roiConstraint] { roiRate = r } else { roiRate = 0 }
        maxPerUser = problem.maxPerUser
        channelCaps = problem.channelCaps
        channelsCapped = problem.maxPerUser > 1 && problem.hasChannelCaps && t.hasChannels
        chunks = UserChunks(users: users, threads: threads)
        var k = 0
        for u in 0..<users { k = max(k, t.userStart[u + 1] - t.userStart[u]) }
        maxCandidatesPerUser = k
    }

    // MARK: Columns, lent for the duration of a call

    /// Read-only views of the candidate arrays, valid only inside `withColumns`. Never stored.
    ///
    /// `@unchecked Sendable` is safe: the views are read-only, and the workers that read them
    /// all finish before `withColumns` returns and the arrays' lending ends.
    struct Columns: @unchecked Sendable {
        let uplift: UnsafeBufferPointer<Double>
        let cost: UnsafeBufferPointer<Double>
        let coupon: UnsafeBufferPointer<Int32>
        /// Empty when the scores have no channel column.
        let channel: UnsafeBufferPointer<Int32>
        let userStart: UnsafeBufferPointer<Int>
        let eligible: UnsafeBufferPointer<Bool>
        let budgets: [UnsafeBufferPointer<Double>]
        /// The general rows' columns.
        let general: [UnsafeBufferPointer<Double>]
        let couponMultiplier: UnsafeBufferPointer<Int32>
        let couponRow: UnsafeBufferPointer<Int32>
        let capPosition: UnsafeBufferPointer<Int32>
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
                                    couponCapPosition.withUnsafeBufferPointer { capPosition in
                                        couponRow.withUnsafeBufferPointer { couponRow in
                                            let rules = problem.rules
                                            let budgetCount = rules.budgetColumns.count
                                            return Self.withBuffers((rules.budgetColumns + rules.generalColumns)[...], []) { columns in
                                                body(Columns(uplift: uplift, cost: cost, coupon: coupon, channel: channel,
                                                             userStart: userStart, eligible: eligible,
                                                             budgets: Array(columns[..<budgetCount]),
                                                             general: Array(columns[budgetCount...]),
                                                             couponMultiplier: couponMultiplier, couponRow: couponRow,
                                                             capPosition: capPosition))
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
    }

    private static func withBuffers<R>(_ arrays: ArraySlice<[Double]>, _ lent: [UnsafeBufferPointer<Double>],
                                       _ body: ([UnsafeBufferPointer<Double>]) -> R) -> R {
        guard let first = arrays.first else { return body(lent) }
        return first.withUnsafeBufferPointer { withBuffers(arrays.dropFirst(), lent + [$0], body) }
    }

    // MARK: Reduced values

    /// `r_j(m) = uplift_j - Σ_i net_i a_ij`, with the coefficients of `ConstraintRules` and the
    /// rows' net multipliers `net` (`DualModel.net`: a row's ceiling multiplier less its floor's).
    /// - Complexity: O(budgets + general rows).
    @inline(__always)
    func reduced(_ j: Int, _ net: UnsafeBufferPointer<Double>, _ c: Columns) -> Double {
        var r = c.uplift[j]
        for b in 0..<c.budgets.count { r -= net[b] * c.budgets[b][j] }
        let k = Int(c.couponRow[Int(c.coupon[j])])
        if k >= 0 { r -= net[k] }
        if roiIndex >= 0 { r -= net[roiIndex] * (roiRate * c.cost[j] - c.uplift[j]) }
        for g in 0..<c.general.count { r -= net[generalStart + g] * c.general[g][j] }
        return r
    }

    /// `r_j(m)` at the side multipliers `m`, outside the hot loops (`m` lent by the caller for the call).
    package func reduced(_ j: Int, _ m: UnsafePointer<Double>) -> Double {
        var r = problem.candidates.uplift[j]
        let up = model.ceilingSide, down = model.floorSide
        problem.rules.forEachCoefficient(of: j) { i, a in
            r -= ((up[i] >= 0 ? m[up[i]] : 0) - (down[i] >= 0 ? m[down[i]] : 0)) * a
        }
        return r
    }

    /// `r_j(m)` for multipliers held in an array (the uplift itself when there are none).
    package func reduced(_ j: Int, at m: [Double]) -> Double {
        m.withUnsafeBufferPointer { mp in mp.isEmpty ? problem.candidates.uplift[j] : reduced(j, mp.baseAddress!) }
    }

    /// What candidate `j` consumes of side `s` in ceiling form: `a_ij` of its row `i` for a
    /// ceiling, `-a_ij` for a floor (`ConstraintRules`' rule, read through the lent columns).
    @inline(__always)
    func coefficient(_ s: Int, _ j: Int, _ c: Columns) -> Double {
        let side = model.sides[s]
        let a = rowCoefficient(side.row, j, c)
        return side.floor ? -a : a
    }

    /// `a_ij` of row `i` (`ConstraintRules.coefficient`, through the lent columns).
    @inline(__always)
    func rowCoefficient(_ i: Int, _ j: Int, _ c: Columns) -> Double {
        guard i < generalStart else { return c.general[i - generalStart][j] }
        switch kinds[i] {
        case .budget(let b): return c.budgets[b][j]
        case .couponCap(let k): return Int(c.coupon[j]) == k ? 1 : 0
        case .minROI(let r): return r * c.cost[j] - c.uplift[j]
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

    // MARK: The worker

    /// Runs `task` over the users `users` (whole users, any range) and returns what they
    /// contribute. Pure: the result depends only on the task and on those users' candidates, and
    /// the coordinator's answer depends only on the exact merge of every range's result.
    /// - Complexity: see each task (`DualTask`); always O(candidates of `users` x (budgets + log k)).
    package func work(_ task: DualTask, users: Range<Int>) -> DualAggregate {
        withColumns { c in
            candidateVisits.add(c.userStart[users.upperBound] - c.userStart[users.lowerBound], ordering: .relaxed)
            return task.m.withUnsafeBufferPointer { mp in
                model.net(mp).withUnsafeBufferPointer { np in
                    switch task {
                    case .evaluate(_, let margins): return evaluate(users, c, mp, np, margins: margins)
                    case .hull(let i, _): return hull(i, users, c, mp, np)
                    case .consumption(let i, _): return consumption(i, users, c, np)
                    case .walk(let i, _, let lo, let hi): return walk(i, lo, hi, users, c, mp, np)
                    case .top(let i, _): return top(i, users, c, mp, np)
                    }
                }
            }
        }
    }

    /// The task over every user, run by `threads` workers on fixed chunks and merged in chunk order.
    package func runOnThreads(_ task: DualTask) -> DualAggregate {
        let parts = chunks.map { _, range in self.work(task, users: range) }
        var total = parts[0]
        for p in parts.dropFirst() { total.merge(p) }
        return total
    }

    // MARK: The full pass: bound, consumption, and the coupon caps' margins

    /// The users' part of the bound, every constraint's consumption (coordinates as exact sums,
    /// caps as the cap of each capped pick) and, with `margins`, each capped candidate's
    /// positive margin: the largest value of its coupon's multiplier at which the user still
    /// takes it, all other multipliers fixed (see `UserSelection.margin`).
    ///
    /// - Complexity: O(candidates (budgets + log k)) (O(candidates x budgets) with one incentive
    ///   per user): independent of the number of coupon caps.
    private func evaluate(_ range: Range<Int>, _ c: Columns, _ mp: UnsafeBufferPointer<Double>,
                          _ np: UnsafeBufferPointer<Double>, margins: Bool,
                          everyMargin: ((Int, Double) -> Void)? = nil) -> DualAggregate {
        let coordinates = self.coordinates
        let channelCaps = channelsCapped ? self.channelCaps : nil
        var out = DualAggregate(sums: coordinates.count)
        var s = makeScratch()
        var user = [Double](repeating: 0, count: coordinates.count)
        let hasCaps = !capMultipliers.isEmpty
        for u in range {
            out.bound.add(select(u, &s, c, value: { self.reduced($0, np, c) }, key: { c.budgets.first?[$0] ?? c.cost[$0] }))
            for q in user.indices { user[q] = 0 }
            for a in 0..<s.count {
                let j = s.picked[a]
                for (q, i) in coordinates.enumerated() { user[q] += coefficient(i, j, c) }
                if hasCaps, c.eligible[j] {
                    let k = c.capPosition[Int(c.coupon[j])]
                    if k >= 0 { out.capPicks.append(k) }
                }
            }
            for q in user.indices { out.sums[q].add(user[q]) }
            if margins, hasCaps {
                s.prepareMargins(c, channelCaps: channelCaps)
                for j in c.userStart[u] ..< c.userStart[u + 1] where c.eligible[j] {
                    let k = c.capPosition[Int(c.coupon[j])]
                    guard k >= 0 else { continue }
                    let own = mp[Int(c.couponMultiplier[Int(c.coupon[j])])]
                    let margin = s.margin(j, c, value: self.reduced(j, np, c) + own, channelCaps: channelCaps, maxPerUser: maxPerUser)
                    if margin > 0 { out.margins.append(CapMargin(cap: k, margin: margin)) }
                    everyMargin?(j, margin)
                }
            }
            s.reset(c, channelCaps: channelCaps)
        }
        return out
    }

    /// Every capped eligible candidate's margin at `m` (positive or not), by candidate: what
    /// `DualTask.evaluate` computes, for the tests.
    func capMargins(_ m: [Double]) -> [Int: Double] {
        var all: [Int: Double] = [:]
        withColumns { c in
            m.withUnsafeBufferPointer { mp in
                model.net(mp).withUnsafeBufferPointer { np in
                    _ = evaluate(0..<users, c, mp, np, margins: true) { all[$0] = $1 }
                }
            }
        }
        return all
    }

    /// The subproblems' choices at `m` over all users (ties to the cheaper candidate), for the
    /// recovery.
    func choices(_ m: [Double]) -> [Int] {
        let parts = withColumns { c in
            model.net(m).withUnsafeBufferPointer { mq in
                let lent = Lent(mq)
                return chunks.map { _, range -> [Int] in
                    let mp = lent.buffer
                    var s = makeScratch()
                    var picks: [Int] = []
                    for u in range {
                        _ = select(u, &s, c, value: { self.reduced($0, mp, c) }, key: { c.budgets.first?[$0] ?? c.cost[$0] })
                        for a in 0..<s.count { picks.append(s.picked[a]) }
                        s.reset(c, channelCaps: channelsCapped ? channelCaps : nil)
                    }
                    return picks.sorted()
                }
            }
        }
        return parts.flatMap { $0 }
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
