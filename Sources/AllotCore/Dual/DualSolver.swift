import HeapModule
/// Method `dual`: sweeps over the Lagrangian dual's multipliers, then primal recovery.
package enum DualSolver {
    package static func solve(_ problem: Problem, options: DualOptions, threads: Int) -> Solution {
        solve(DualEngine(problem, threads: threads), options: options)
    }

    /// The same, on an engine the caller keeps (polishing reuses it for the users' margins).
    /// `transport` carries the coordinator's tasks to the engine's users (and to its sample's):
    /// threads by default; the tests pass others, which must give the same solution.
    package static func solve(_ engine: DualEngine, options: DualOptions,
                              transport: (DualEngine) -> any DualTransport = { ThreadTransport($0) }) -> Solution {
        var search = DualSearch(transport(engine), options: options,
                                start: sampledStart(engine, options: options, transport: transport))
        search.sweep()
        search.subgradientIfStalled()
        var notes = search.notes
        if let conflict = search.conflict {
            var proof = Solution(method: DualMethod().name, status: .infeasible, allocation: Allocation(candidates: []), objective: 0)
            proof.iterations = search.sweeps
            proof.notes = ["infeasible: " + conflictReason(engine, conflict)] + notes
            return proof
        }
        if let (side, least) = search.unreachable {
            var proof = Solution(method: DualMethod().name, status: .infeasible, allocation: Allocation(candidates: []), objective: 0)
            proof.iterations = search.sweeps
            proof.notes = ["infeasible: " + unreachableReason(engine, side: side, least: least)] + notes
            return proof
        }
        var (allocation, objective) = search.primal!
        let floors = engine.problem.hasFloorsOrRows
        if let (greedy, value) = safetyNet(engine.problem, options: options, threads: engine.chunks.threads,
                                           maxCandidatesPerUser: engine.maxCandidatesPerUser, gap: search.gap, notes: &notes),
           value > objective {
            let baseline = floors ? "greedy-floors" : "greedy-marginal"
            notes.append(objective == -.infinity
                ? "the dual's recovery met not every floor; the \(baseline) baseline did (\(Readable.grouped(value, decimals: 2))), so its allocation is returned under the dual's bound"
                : "the \(baseline) baseline found a better allocation than the dual's own (\(Readable.grouped(value, decimals: 2)) against \(Readable.grouped(objective, decimals: 2))), so that one is returned")
            allocation = greedy
            objective = value
        }
        if objective == -.infinity {
            // No allocation meeting every floor was found; none is returned, and nothing is proven.
            var failed = Solution(method: DualMethod().name, status: .searchFailed, allocation: Allocation(candidates: []),
                                  objective: 0)
            failed.iterations = search.sweeps
            failed.notes = notes + ["the recovery at the dual's best multipliers left a floor short (upper bound \(Readable.grouped(search.best.bound, decimals: 2)))"]
            return failed
        }
        var solution = Solution(method: DualMethod().name, status: .feasible, allocation: allocation, objective: objective,
                                upperBound: max(search.best.bound, objective))
        if solution.relativeGap ?? 1 <= DualTolerance.optimalGap { solution.status = .optimal }
        solution.iterations = search.sweeps
        solution.shadowPrices = (0..<engine.constraintCount).map {
            let (kind, name) = engine.model.names[$0]
            let m = search.best.multipliers[$0]
            return ShadowPrice(kind: kind, name: name, value: kind.isFloor && m != 0 ? -m : m)
        }
        solution.notes = notes
        return solution
    }

    /// Why side `side` is out of reach: `least` is `S(∞)`, its least consumption in ceiling form
    /// under the users' own caps (max_per_user, channel caps), which the dual's ray found.
    static func unreachableReason(_ engine: DualEngine, side: Int, least: Double) -> String {
        let problem = engine.problem
        let rules = problem.rules
        let s = engine.model.sides[side]
        let name = rules.name(s.row, in: problem)
        var what = "constraint \(name)"
        if s.row < rules.generalStart {
            switch rules.kinds[s.row] {
            case .budget: what = "spend floor of budget \(name)"
            case .couponCap: what = "coupon floor \(name)"
            case .minROI: what = name
            }
        }
        func number(_ x: Double) -> String { x == x.rounded() ? Readable.grouped(x, decimals: 0) : Readable.significant(x, 6) }
        let limits = "under max_per_user\(problem.hasChannelCaps ? " and the channel caps" : "") (the dual's bound falls without limit along its multiplier)"
        return s.floor
            ? "\(what) needs at least \(number(rules.lower[s.row])), at most \(number(-least)) is reachable \(limits)"
            : "\(what) needs at most \(number(rules.limits[s.row])), at least \(number(least)) is unavoidable \(limits)"
    }

    /// Why the floors conflict: the bound fell below the least value any allocation within the
    /// users' caps can have, so none meets every row. Names the floor sides pulling (positive
    /// multipliers), largest first.
    static func conflictReason(_ engine: DualEngine, _ conflict: (bound: Double, multipliers: [Double])) -> String {
        let model = engine.model
        let pulling = model.sides.indices.filter { (model.sides[$0].floor || model.limits[$0] < 0) && conflict.multipliers[$0] > 0 }
            .sorted { conflict.multipliers[$0] > conflict.multipliers[$1] }
            .map { "\(model.names[$0].0.rawValue):\(model.names[$0].1)" }
        let floor = model.valueFloor ?? 0
        return "the floors \(pulling.joined(separator: ", ")) cannot all be met together under the ceilings and max_per_user (the dual's bound fell to \(Readable.grouped(conflict.bound, decimals: 2)), below \(Readable.grouped(floor, decimals: 2)), the least any allocation can be worth)"
    }

    /// One user in `sampleStride` (chosen by a hash of its index) forms the warm start's sample.
    static let sampleStride = 16
    /// A warm start for the sweeps: the multipliers that solve the dual of a sample of the users
    /// (one in `sampleStride`) against their share of every limit, found the same way (and so,
    /// on a sample of at least 16,384 users, from a sample of the sample). At scale the
    /// sample's multipliers are close to the full problem's, so the full sweeps start near the
    /// optimum and each coordinate's window is narrow. Nil for a single constraint with one
    /// incentive per user (solved exactly in one pass) and for small instances.
    /// - Complexity: the sample's sweeps, each about a sixteenth of a full one, plus O(n / 16)
    ///   to copy the sample.
    static func sampledStart(_ engine: DualEngine, options: DualOptions,
                             transport: (DualEngine) -> any DualTransport) -> DualSearch.Start? {
        // A sample's own warm start may come from a smaller sample: its cold start (the first
        // sweeps, from zero, cost several passes per coordinate) then runs on 1/256 of the users.
        let minimumUsers = engine.limitScale < 1 ? options.sampleMinimumUsers / 4 : options.sampleMinimumUsers
        guard options.sampledWarmStart, engine.constraintCount > 0,
              engine.constraintCount > 1 || engine.maxPerUser > 1,
              engine.users >= sampleStride * minimumUsers else { return nil }
        let sample = self.sample(of: engine)
        var sampleOptions = options
        sampleOptions.progress = nil
        sampleOptions.subgradientSteps = 0
        var search = DualSearch(transport(sample), options: sampleOptions,
                                start: sampledStart(sample, options: sampleOptions, transport: transport))
        search.sweep(recovering: false)
        let m = search.best.multipliers
        // The sample's multipliers are off by its sampling error: a window of a few percent.
        let widths = m.indices.map { max(search.lastChange[$0], DualTolerance.sampleWindow * m[$0]) }
        return DualSearch.Start(multipliers: m, widths: widths)
    }

    /// The engine of one user in `sampleStride` (by a hash of the user id, so the same users
    /// whatever the slicing or the order of the scores; a sample of a sample hashes again with
    /// another seed) against their share of `engine`'s limits (which may already be a sample's
    /// share of the problem's).
    static func sample(of engine: DualEngine) -> DualEngine {
        let ids = engine.problem.candidates.userIDs
        let seed: UInt64 = engine.limitScale < 1 ? 0x5851_F42D_4C95_7F2D : 0
        let users = (0..<engine.users).filter { isSampled(ids[$0], seed: seed) }
        return DualEngine(engine.problem.restricted(toUsers: users), threads: engine.chunks.threads,
                          limitScale: engine.limitScale * Double(users.count) / Double(engine.users))
    }

    /// Whether user `id` is in the warm start's sample: one in `sampleStride` by FNV-1a of its
    /// UTF-8 bytes (mixed by a multiply-xorshift).
    package static func isSampled(_ id: String, seed: UInt64) -> Bool {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in id.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h >> 60 == 0
    }

    /// greedy-marginal from scratch, when `options.baselineCheck` asks for it.
    private static func safetyNet(_ problem: Problem, options: DualOptions, threads: Int, maxCandidatesPerUser: Int,
                                  gap: Double,
                                  notes: inout [String]) -> (Allocation, Double)? {
        switch options.baselineCheck {
        case .never: return nil
        case .automatic where gap <= options.targetGap:
            // The allocation is already proven within the target: greedy-marginal could only
            // add less than that.
            return nil
        case .automatic where options.pastDeadline:
            notes.append("not compared with the greedy-marginal baseline: the time limit came first")
            return nil
        case .automatic where problem.candidates.count > BaselineCheck.automaticLimit:
            notes.append("not compared with the greedy-marginal baseline: that check runs up to \(Readable.count(BaselineCheck.automaticLimit)) candidates")
            return nil
        case .automatic where maxCandidatesPerUser > Recovery.largeUser:
            notes.append("not compared with the greedy-marginal baseline: a user has more than \(Readable.count(Recovery.largeUser)) candidates, where it would be slow")
            return nil
        case .always, .automatic:
            if problem.hasFloorsOrRows {
                // greedy-marginal knows no floor: the floor-aware baseline, when it meets them.
                guard let greedy = GreedyFloors.solve(problem, threads: threads),
                      Verifier.verify(problem, greedy).isFeasible else { return nil }
                return (greedy, totalUplift(problem, greedy))
            }
            let greedy = GreedyMarginal.solve(problem, threads: threads)
            return (greedy, totalUplift(problem, greedy))
        }
    }

    static func relative(_ difference: Double, _ scale: Double) -> Double {
        max(0, difference) / max(abs(scale), DualTolerance.scaleFloor)
    }
}

/// The search over the multipliers.
///
/// A sweep evaluates the dual at the current multipliers (one pass over the users, which also
/// yields every capped candidate's margin), then
/// 1. moves every coupon cap's multiplier towards its coordinate minimiser at once (a block,
///    Jacobi update: each cap's minimiser is the (cap + 1)-th largest margin of its coupon's
///    candidates, found by selection through the coupon → candidates index), by `couponStep`,
///    which is halved whenever a sweep raises the bound;
/// 2. sets each budget's and the ROI floor's multiplier in turn to its exact minimiser with the
///    others fixed (hull or bracket), over-relaxed by `relaxation` when there are several
///    multipliers (cyclic coordinate descent, Zhang et al., WWW 2020).
///
/// - Complexity of a sweep: one pass plus the coordinates' passes (one each with one incentive
///   per user; a warm-started bracket of a few passes otherwise), each O(n (budgets + log k) /
///   threads), plus O(capped candidates) for the block: independent of the number of coupon caps.
struct DualSearch {
    let rounds: DualRounds
    var model: DualModel { rounds.model }
    let options: DualOptions
    var m: [Double]
    var best: (bound: Double, multipliers: [Double])
    /// Every relaxed constraint's consumption at `best.multipliers`.
    var bestConsumption: [Double]?
    var sweeps = 0
    var notes: [String] = []
    var primal: (allocation: Allocation, value: Double)?
    var gap = Double.infinity
    /// The best bound when the last allocation was recovered.
    var recoveredBound: Double?
    /// How far each coordinate moved at its last update: the warm start of its bracket.
    var lastChange: [Double]
    var couponStep: Double
    var lastBound = Double.infinity
    /// Under a time limit, a sweep starts only if it and the final recovery fit before the
    /// deadline: the last durations seen (a recovery costs about an evaluation at first).
    var sweepSeconds = 0.0
    var recoverySeconds = 0.0
    /// The capped candidates' positive margins at the last evaluation.
    var margins: [CapMargin] = []
    /// The last sweep's move, the multipliers before a jump, whether `m` is a jump not yet
    /// evaluated, and the sweeps left without jumps (see `extrapolate`).
    var previousMove: [Double]?
    /// A side the dual proved out of reach (a ray of the full problem's dual) and its least
    /// consumption `S(∞)`: then no allocation meets it, and the search stops.
    var unreachable: (side: Int, least: Double)?
    /// A bound below `DualModel.valueFloor` (the least value of any allocation within the users'
    /// caps): the floors cannot all be met together. The bound and the multipliers that gave it.
    var conflict: (bound: Double, multipliers: [Double])?
    /// Every side's consumption at the last evaluation (for skipping slack floor sides).
    var lastConsumption: [Double]?
    var beforeJump: [Double] = []
    var extrapolated = false
    var jumpsPaused = 0

    /// Where the sweeps start, and how far each multiplier is expected to move at first.
    struct Start {
        var multipliers: [Double]
        var widths: [Double]
    }

    init(_ transport: any DualTransport, options: DualOptions, start: Start? = nil) {
        rounds = DualRounds(transport)
        self.options = options
        let k = rounds.model.constraintCount
        m = start?.multipliers ?? [Double](repeating: 0, count: k)
        best = (.infinity, m)
        lastChange = start?.widths ?? m
        couponStep = k == 1 ? 1 : options.couponStep
    }

    /// Recovers an allocation at the best multipliers, keeps the best one, updates the gap.
    mutating func checkGap() {
        options.progress?(.recovery)
        let start = monotonicSeconds()
        defer { recoverySeconds = monotonicSeconds() - start }
        let (a, v) = rounds.transport.recover(best.multipliers)
        recoveredBound = best.bound
        if primal == nil || v > primal!.value { primal = (a, v) }
        gap = primalGap!
    }

    /// The relative gap between the best bound and the best allocation (nil before the first).
    var primalGap: Double? { primal.map { DualSolver.relative(best.bound - $0.value, best.bound) } }

    /// Sweeps until the gap is within the target, the bound stops improving, or
    /// `options.maxSweeps`. With a single multiplier, one exact update suffices. Without
    /// `recovering` (the warm start's sample), only the bound is followed: no allocation is made.
    mutating func sweep(recovering: Bool = true) {
        let k = model.constraintCount
        var stale = 0
        while true {
            let start = monotonicSeconds()
            let improved = evaluate()
            options.progress?(.dualSweep(sweep: sweeps, bound: best.bound,
                                         gap: primalGap))
            if sweeps == 0 { recoverySeconds = monotonicSeconds() - start }
            stale = improved ? 0 : stale + 1
            if k == 0 || (k == 1 && sweeps == 1) || sweeps == options.maxSweeps { break }
            if !recovering, stale >= options.patience { break }
            if recovering, sweeps > 0, stale >= options.patience || sweeps % options.gapCheckInterval == 0 {
                if stale >= options.patience, let recovered = recoveredBound,
                   best.bound >= recovered - options.sweepTolerance * abs(recovered) {
                    // Stalled, and the bound has not moved (beyond the tolerance) since the last
                    // recovery: its multipliers are as good; recovering again only costs time.
                    gap = primalGap!
                    break
                }
                checkGap()
                if stale >= options.patience || gap <= options.targetGap { break }
            }
            if timeIsUp() {
                notes.append("stopped at the time limit after \(Readable.count(sweeps)) passes over the users; the gap above is what was proven by then")
                break
            }
            if conflict != nil { return }
            update()
            sweepSeconds = monotonicSeconds() - start
            if unreachable != nil { return }
        }
        if recovering, primal == nil || gap.isInfinite { checkGap() }
    }

    /// Whether another sweep and the final recovery would pass the deadline.
    func timeIsUp() -> Bool {
        guard let deadline = options.deadline else { return false }
        return monotonicSeconds() + sweepSeconds + recoverySeconds >= deadline
    }

    /// One sweep: evaluate, then update every multiplier.
    mutating func step() {
        _ = evaluate()
        update()
    }

    /// The dual at the current multipliers (keeping the best) and the caps' margins; whether
    /// the best bound improved by more than `options.sweepTolerance`. Halves the caps' step when
    /// the bound rose since the last evaluation.
    mutating func evaluate() -> Bool {
        var evaluation = rounds.evaluate(m, margins: true)
        if extrapolated {
            extrapolated = false
            if evaluation.bound >= lastBound {
                // The jump did not pay: back to where the sweep ended, and no jump for a while.
                m = beforeJump
                evaluation = rounds.evaluate(m, margins: true)
                jumpsPaused = 2
            }
        }
        // The first evaluation improves on no bound at all (inf - tolerance x inf would be NaN).
        let improved = best.bound.isInfinite || evaluation.bound < best.bound - options.sweepTolerance * abs(best.bound)
        if evaluation.bound < best.bound {
            best = (evaluation.bound, m)
            bestConsumption = evaluation.consumption
        }
        margins = evaluation.margins
        lastConsumption = evaluation.consumption
        if let floor = model.valueFloor, model.limitScale == 1, conflict == nil {
            var scale = abs(floor) + 1
            for i in m.indices { scale += abs(m[i] * model.limits[i]) }
            if evaluation.bound < floor - 1e-9 * scale { conflict = (evaluation.bound, m) }
        }
        if evaluation.bound > lastBound { couponStep = max(DualTolerance.minimumCouponStep, 0.5 * couponStep) }
        lastBound = evaluation.bound
        return improved
    }

    /// Updates the caps in one block, then the budgets and the ROI floor in turn.
    mutating func update() {
        sweeps += 1
        let before = m
        updateCaps()
        updateCoordinates()
        if unreachable != nil { return }
        if options.extrapolate { extrapolate(from: before) }
    }

    /// Momentum for the zig-zag of coupled constraints. When two successive sweeps move the
    /// multipliers in about the same direction, the second by a ratio `r < 1` of the first, the
    /// moves still to come sum to about `r / (1 - r)` times the last one (a geometric series):
    /// jump there (at most `DualTolerance.maximumJump` times the last move). The next
    /// evaluation checks the jump: if the bound there is not below the last one evaluated, the
    /// multipliers go back to where the sweep ended (one more pass) and jumps pause for two
    /// sweeps. The certificate is untouched: every evaluated point gives a valid bound.
    mutating func extrapolate(from before: [Double]) {
        let move = zip(m, before).map { $0 - $1 }
        defer { previousMove = move }
        if jumpsPaused > 0 {
            jumpsPaused -= 1
            return
        }
        guard model.constraintCount > 1, let previous = previousMove else { return }
        let dot = zip(move, previous).reduce(0) { $0 + $1.0 * $1.1 }
        let norm = move.reduce(0) { $0 + $1 * $1 }
        let previousNorm = previous.reduce(0) { $0 + $1 * $1 }
        guard norm > 0, previousNorm > 0, dot >= 0.5 * (norm * previousNorm).squareRoot() else { return }
        let r = (norm / previousNorm).squareRoot()
        guard r < 1 else { return }
        let jump = min(r / (1 - r), DualTolerance.maximumJump)
        beforeJump = m
        m = m.indices.map { max(0, m[$0] + jump * move[$0]) }
        extrapolated = true
    }

    /// The block update of every coupon cap's multiplier, from the margins of the last pass.
    mutating func updateCaps() {
        guard !model.capMultipliers.isEmpty else { return }
        let targets = rounds.capTargets(margins)
        for (q, i) in model.capMultipliers.enumerated() {
            m[i] = max(0, m[i] + couponStep * (targets[q] - m[i]))
        }
    }

    /// Each budget's and the ROI floor's multiplier in turn, exactly, over-relaxed.
    mutating func updateCoordinates() {
        let single = model.constraintCount == 1
        for i in model.coordinates {
            // A floor side or general row at 0 that the last evaluation found slack has its
            // minimiser at 0 there: no pass (the bound holds at any multipliers; only this
            // coordinate's update waits for the next sweep if others moved it since).
            let side = model.sides[i]
            if m[i] == 0, side.floor || side.row >= model.generalStart,
               let c = lastConsumption, c[i] <= model.limits[i] { continue }
            let target: Double
            switch rounds.criticalMultiplier(i, m, width: lastChange[i]) {
            case .at(let t): target = t
            case .ray(let least):
                // A sample's share of a floor can be out of its reach when the whole's is not:
                // only the full problem's ray proves anything. The sample keeps its multiplier.
                guard model.limitScale == 1 else { continue }
                unreachable = (i, least)
                return
            }
            lastChange[i] = abs(target - m[i])
            m[i] = single ? target : max(0, m[i] + options.relaxation * (target - m[i]))
        }
    }

    /// The sweeps can stall at a kink of the dual where no block improves; then try projected
    /// subgradient steps (Polyak step towards the best primal value), keeping the best bound.
    mutating func subgradientIfStalled() {
        let k = model.constraintCount
        guard k > 1, unreachable == nil, conflict == nil, gap > options.targetGap, options.subgradientSteps > 0, !timeIsUp(),
              let objective = primal?.value else { return }
        var x = best.multipliers
        // The best point's evaluation is known: no pass to redo it.
        var evaluation = bestConsumption.map { DualRounds.Evaluation(bound: best.bound, consumption: $0) } ?? rounds.evaluate(x)
        var improved = false
        var sinceImproved = 0
        for step in 0..<options.subgradientSteps {
            // The gap left is then the allocation's, not the bound's.
            if timeIsUp() || sinceImproved == DualTolerance.subgradientPatience { break }
            sinceImproved += 1
            let g = (0..<k).map { model.limits[$0] - evaluation.consumption[$0] }
            let norm = g.reduce(0) { $0 + $1 * $1 }
            if norm == 0 { break }
            let alpha = (evaluation.bound - objective) / norm / Double(1 + step / 10)
            for i in 0..<k { x[i] = max(0, x[i] - alpha * g[i]) }
            evaluation = rounds.evaluate(x)
            if evaluation.bound < best.bound - DualTolerance.improvement * abs(best.bound) {
                best = (evaluation.bound, x)
                bestConsumption = evaluation.consumption
                improved = true
                sinceImproved = 0
            }
        }
        if improved {
            notes.append("the upper bound took extra steps to tighten (the limits pull against each other)")
            checkGap()
        }
    }
}

/// From the multipliers to a feasible allocation.
enum Recovery {
    /// 1. Every user takes its subproblem's choice (ties to the cheaper candidate).
    /// 2. While a relaxed constraint is broken (users at a tie can all fall on the same side),
    ///    drop the assignments that lose the least uplift per unit of excess they remove.
    /// 3. Fill what capacity is left with the incremental greedy started from this allocation:
    ///    users trade up (or add) in descending order of extra uplift per extra normalised cost,
    ///    as long as every constraint holds. With one budget and one incentive per user, this
    ///    continues the walk along the hulls exactly where the multiplier stopped it.
    ///
    /// With floors or general rows, step 2 is `meetRows` (moves that relieve the rows on either
    /// side), and the fill keeps every floor met. The value is `-∞` when the allocation breaks a
    /// floor still: the recovery failed (which proves nothing about the floors).
    static func recover(_ engine: DualEngine, _ m: [Double]) -> (Allocation, Double) {
        let problem = engine.problem
        let t = problem.candidates
        var state = CapacityState(problem)
        let picks = engine.choices(m)
        var userOf = [Int32](repeating: 0, count: 0)
        userOf.reserveCapacity(picks.count)
        do {
            var u = 0
            for j in picks {
                while t.userStart[u + 1] <= j { u += 1 }
                state.add(j, user: u)
                userOf.append(Int32(u))
            }
        }
        let value = { engine.reduced($0, at: m) }
        let twoSided = problem.hasFloorsOrRows
        if twoSided {
            meetRows(engine, &state, value: value)
        } else {
            repair(engine, &state, picks: picks, userOf: userOf, value: value)
        }
        GreedyMarginal.improve(&state, threads: engine.chunks.threads, maxCandidates: largeUser, batched: true)
        fillLargeUsers(engine, &state, m)
        let allocation = state.allocation
        if twoSided, !Verifier.verify(problem, allocation).isFeasible { return (allocation, -.infinity) }
        return (allocation, totalUplift(problem, allocation))
    }

    /// One user's move in `meetRows`: add `add`, drop `drop`, or both (a swap); -1 for none.
    struct RowMove: Comparable {
        /// Reduced value given up per unit of violation removed.
        var key: Double
        var user: Int32
        var drop: Int32
        var add: Int32
        static func < (a: RowMove, b: RowMove) -> Bool {
            (a.key, a.user, a.drop, a.add) < (b.key, b.user, b.drop, b.add)
        }
    }

    /// With floors or general rows: until every row is within its bounds, the user moves (an
    /// addition, a drop, or a swap of a held candidate for another) that give up the least
    /// reduced value at the multipliers (`value`) per unit of violation removed. The violation
    /// is the sum over rows of the distance to the bound passed, scaled by `max(1, |bound|)`
    /// (`GreedyFloors.rowShortfall`), so a move may trade a little of one row for more of
    /// another, but every move lowers the total: the loop ends. Users at a tie of the dual give
    /// up almost nothing, so they move first. Lazy: a popped move is recomputed against the
    /// current rows and taken only if it still comes first. Ends short when no move relieves.
    /// - Complexity: O(k x F x rows) per user move search (k candidates, F held), once per
    ///   user and once per move taken or re-keyed, plus the heap's O(log users).
    static func meetRows(_ engine: DualEngine, _ state: inout CapacityState, value: (Int) -> Double) {
        let problem = engine.problem
        let rules = problem.rules
        let t = problem.candidates
        func total() -> Double {
            var v = 0.0
            for k in 0..<rules.count { v += GreedyFloors.rowShortfall(rules, k, state.used[k]) }
            return v
        }
        guard total() > 0 else { return }
        var delta = [Double](repeating: 0, count: rules.count)
        func relief(add i: Int, drop j: Int) -> Double {
            if i >= 0 { rules.forEachCoefficient(of: i) { k, a in delta[k] += a } }
            if j >= 0 { rules.forEachCoefficient(of: j) { k, a in delta[k] -= a } }
            var r = 0.0
            for k in 0..<rules.count where delta[k] != 0 {
                r += GreedyFloors.rowShortfall(rules, k, state.used[k]) - GreedyFloors.rowShortfall(rules, k, state.used[k] + delta[k])
                delta[k] = 0
            }
            return r
        }
        func best(_ u: Int) -> RowMove? {
            var found: RowMove?
            func consider(add i: Int, drop j: Int) {
                let r = relief(add: i, drop: j)
                guard r > 0 else { return }
                let lost = (j >= 0 ? value(j) : 0) - (i >= 0 ? value(i) : 0)
                let move = RowMove(key: lost / r, user: Int32(u), drop: Int32(j), add: Int32(i))
                if found.map({ move < $0 }) ?? true { found = move }
            }
            let range = t.candidates(ofUser: u)
            for j in range where state.chosen[j] {
                consider(add: -1, drop: j)
                for i in range where !state.chosen[i] && engine.eligible[i] && state.userAllows(user: u, add: i, remove: j) {
                    consider(add: i, drop: j)
                }
            }
            if Int(state.userCount[u]) < problem.maxPerUser {
                for i in range where !state.chosen[i] && engine.eligible[i] && state.userAllows(user: u, add: i) {
                    consider(add: i, drop: -1)
                }
            }
            return found
        }
        var heap = Heap<RowMove>((0..<t.userCount).compactMap { best($0) })
        var moves = 0
        while let top = heap.popMin(), moves < 4 * t.count + 1_000 {
            let u = Int(top.user)
            guard let fresh = best(u) else { continue }
            if let next = heap.min, next < fresh {
                heap.insert(fresh)
                continue
            }
            if fresh.drop >= 0 { state.remove(Int(fresh.drop), user: u) }
            if fresh.add >= 0 { state.add(Int(fresh.add), user: u) }
            moves += 1
            if total() <= 0 { return }
            if let next = best(u) { heap.insert(next) }
        }
    }

    /// Users with more candidates than this are filled by `fillLargeUsers` rather than by
    /// greedy-marginal, whose move search is O(k x F) per user.
    static let largeUser = 256

    /// Each user with more than `largeUser` candidates adds, in descending order of reduced
    /// value at `m`, every eligible candidate its caps and the global constraints still allow.
    /// - Complexity: O(k log k) per such user (plus the channel-cap checks).
    private static func fillLargeUsers(_ engine: DualEngine, _ state: inout CapacityState, _ m: [Double]) {
        let t = engine.problem.candidates
        for u in 0..<t.userCount where t.candidates(ofUser: u).count > largeUser {
            let order = t.candidates(ofUser: u).filter { engine.eligible[$0] && !state.chosen[$0] }
                .map { (engine.reduced($0, at: m), $0) }
                .sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
            for (_, j) in order {
                if state.userCount[u] >= engine.maxPerUser { break }
                state.tryAdd(j, user: u)
            }
        }
    }

    /// Excess over each relaxed constraint's limit (0 when kept), in `ConstraintRules`' terms,
    /// with the verifier's tolerance turned around: recovery aims strictly inside.
    private static func excess(_ engine: DualEngine, _ state: CapacityState) -> [Double] {
        zip(state.used, engine.problem.rules.limits).map { max(0, $0 - $1) }
    }

    /// A step back for one user: drop a held candidate, or downgrade it to another of the
    /// user's candidates that uses less of the broken constraints.
    struct Retreat: Comparable {
        /// Uplift lost per unit of relative excess removed.
        var key: Double
        var user: Int32
        var drop: Int32
        var to: Int32
        static func < (a: Retreat, b: Retreat) -> Bool {
            (a.key, a.user, a.drop, a.to) < (b.key, b.user, b.drop, b.to)
        }
    }

    /// Steps back, cheapest first, until every relaxed constraint holds. A step's cost is the
    /// reduced value it gives up at the multipliers (`value`), per unit of relative excess it
    /// removes: users at a tie of the dual give up almost nothing, so they move first, as
    /// complementary slackness asks.
    private static func repair(_ engine: DualEngine, _ state: inout CapacityState, picks: [Int], userOf: [Int32],
                               value: (Int) -> Double) {
        var e = excess(engine, state)
        guard e.contains(where: { $0 > 0 }) else { return }
        let t = engine.problem.candidates
        let rules = engine.problem.rules
        var broken = e.indices.filter { e[$0] > 0 }
        func relief(_ j: Int, _ i: Int?, _ e: [Double]) -> Double {
            var r = 0.0
            for c in broken {
                r += (rules.coefficient(c, j) - (i.map { rules.coefficient(c, $0) } ?? 0)) / e[c]
            }
            return r
        }
        func bestRetreat(_ u: Int, _ e: [Double]) -> Retreat? {
            var best: Retreat?
            let range = t.candidates(ofUser: u)
            for j in range where state.chosen[j] {
                let r = relief(j, nil, e)
                if r > 0 {
                    let step = Retreat(key: value(j) / r, user: Int32(u), drop: Int32(j), to: -1)
                    if best.map({ step < $0 }) ?? true { best = step }
                }
                for i in range where !state.chosen[i] && engine.eligible[i] {
                    let r = relief(j, i, e)
                    guard r > 0 else { continue }
                    let step = Retreat(key: (value(j) - value(i)) / r, user: Int32(u), drop: Int32(j), to: Int32(i))
                    if best.map({ step < $0 }) ?? true, state.userAllows(user: u, add: i, remove: j),
                       state.globalAllows(add: i, remove: j) {
                        best = step
                    }
                }
            }
            return best
        }

        // A user with more than `largeUser` candidates only drops (a downgrade search would be
        // O(k x held)): all its drops go on the heap at once, each checked again when it comes off.
        func isLarge(_ u: Int) -> Bool { t.candidates(ofUser: u).count > largeUser }
        var heap = Heap<Retreat>()
        var last: Int32 = -1
        for (a, u) in userOf.enumerated() {
            if isLarge(Int(u)) {
                let j = picks[a]
                let r = relief(j, nil, e)
                if r > 0 { heap.insert(Retreat(key: value(j) / r, user: u, drop: Int32(j), to: -1)) }
            } else if u != last, let r = bestRetreat(Int(u), e) {
                heap.insert(r)
            }
            last = u
        }
        while let step = heap.popMin() {
            let u = Int(step.user)
            let j = Int(step.drop)
            let i = step.to >= 0 ? Int(step.to) : nil
            let valid = state.chosen[j] && relief(j, i, e) > 0
                && (i.map { state.userAllows(user: u, add: $0, remove: j) && state.globalAllows(add: $0, remove: j) } ?? true)
            if valid {
                state.remove(j, user: u)
                if let i { state.add(i, user: u) }
                e = excess(engine, state)
                broken = e.indices.filter { e[$0] > 0 }
                if broken.isEmpty { return }
            }
            if !isLarge(u), let next = bestRetreat(u, e) { heap.insert(next) }
        }
        // Nothing relieves the excess any more (cannot happen for budgets and caps): drop what consumes it.
        for (a, j) in picks.enumerated() where state.chosen[j] {
            guard broken.contains(where: { rules.coefficient($0, j) > 0 }) else { continue }
            state.remove(j, user: Int(userOf[a]))
            e = excess(engine, state)
            broken = e.indices.filter { e[$0] > 0 }
            if broken.isEmpty { return }
        }
    }

}

