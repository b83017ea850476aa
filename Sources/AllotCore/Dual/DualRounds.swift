/// One dual, many transports: the worker (`DualEngine.work`) runs a `DualTask` over a slice of
/// whole users and returns a `DualAggregate`; a `DualTransport` runs the task over every user
/// (threads on one machine, Spark partitions in allot.spark, random slices in the tests) and
/// merges the slices' aggregates; the coordinator (`DualSearch`, through `DualRounds`) reads
/// only merged aggregates and the `DualModel`, never a candidate.
///
/// Merging is exact (see `ExactSum`), associative and commutative, and every answer the
/// coordinator draws from an aggregate is a function of the multiset of what the users
/// contributed: so the multipliers, the bound and the allocation do not depend on how the users
/// are sliced, how many threads run, or in which order the slices are merged.

/// A request of the coordinator to the workers: what to compute, at which multipliers `m`
/// (indexed as `ConstraintRules` numbers the constraints).
package enum DualTask: Sendable, Equatable {
    /// The users' part of the bound `D(m)`, each coordinate's consumption, the capped picks and,
    /// with `margins`, every capped candidate's positive margin.
    case evaluate(m: [Double], margins: Bool)
    /// Constraint `constraint`'s hull edges (one incentive per user).
    case hull(constraint: Int, m: [Double])
    /// Constraint `constraint`'s consumption at `m` (ties to the smaller coefficient).
    case consumption(constraint: Int, m: [Double])
    /// The steps of constraint `constraint`'s consumption as its multiplier goes from `lo` to `hi`.
    case walk(constraint: Int, m: [Double], lo: Double, hi: Double)
    /// The largest ratio of reduced value (without `constraint`'s own term) to coefficient.
    case top(constraint: Int, m: [Double])

    package var m: [Double] {
        switch self {
        case .evaluate(let m, _), .hull(_, let m), .consumption(_, let m), .walk(_, let m, _, _), .top(_, let m): return m
        }
    }
}

/// A capped candidate's margin (see `UserSelection.margin`), with its cap's position in
/// `DualModel.capMultipliers`.
package struct CapMargin: Sendable, Equatable {
    package var cap: Int32
    package var margin: Double
}

/// What a slice of users returns for one task; `merge` combines two slices exactly.
///
/// Which fields a task fills: `evaluate` the bound, `sums` (one per coordinate), `capPicks`
/// and `margins`; `hull` `sums[0]` (the base consumption) and `steps`; `consumption` `sums[0]`;
/// `walk` `sums[0]` (S(lo)), `sums[1]` (S(hi)), `steps` and `complete`; `top` `top`.
/// Lists (`capPicks`, `margins`, `steps`) are multisets: their order carries no meaning.
package struct DualAggregate: Sendable, Equatable {
    package var bound = ExactSum()
    package var sums: [ExactSum]
    package var capPicks: [Int32] = []
    package var margins: [CapMargin] = []
    package var steps = Breakpoints()
    package var complete = true
    package var top = 0.0

    package init(sums: Int) { self.sums = [ExactSum](repeating: ExactSum(), count: sums) }

    /// Adds `other`'s users: exact, associative and commutative (up to the order of the lists).
    package mutating func merge(_ other: DualAggregate) {
        bound.merge(other.bound)
        if sums.count < other.sums.count { sums += [ExactSum](repeating: ExactSum(), count: other.sums.count - sums.count) }
        for q in other.sums.indices { sums[q].merge(other.sums[q]) }
        capPicks.append(contentsOf: other.capPicks)
        margins.append(contentsOf: other.margins)
        if complete && other.complete { steps.append(contentsOf: other.steps) } else { steps = Breakpoints() }
        complete = complete && other.complete
        top = max(top, other.top)
    }
}

/// What the coordinator knows of the problem without its candidates: the relaxed constraints'
/// sides, their limits and names, and the per-user frequency cap (which chooses the
/// coordinate update).
///
/// **Sides.** Every finite side of every row of `ConstraintRules` has its own multiplier, in
/// row order, the ceiling (`hi`) before the floor (`lo`). The worker writes each side as a
/// ceiling: the ceiling side keeps `Σ_j a_ij x_j <= hi_i`, the floor side `Σ_j (-a_ij) x_j <=
/// -lo_i`, so a floor's multiplier raises the reduced value of the candidates its row needs.
/// Without floors and general rows every row has one side, its ceiling, and the numbering is
/// the rows' own.
package struct DualModel: Sendable {
    /// One multiplier: a row of `ConstraintRules` and which of its bounds.
    package struct Side: Sendable, Equatable {
        package var row: Int
        /// The floor side (`lo`), written as the ceiling `-a x <= -lo`; else the ceiling (`hi`).
        package var floor: Bool
        /// -1 for a floor side, 1 for a ceiling side: the side's coefficients are `sign x a_ij`.
        package var sign: Double { floor ? -1 : 1 }
    }
    /// The multipliers' sides, in order.
    package let sides: [Side]
    /// Per row, the index of its ceiling side's multiplier and of its floor side's (-1: none).
    package let ceilingSide: [Int]
    package let floorSide: [Int]
    /// Right-hand sides in ceiling form (`hi`, or `-lo` for a floor side), times `limitScale`.
    package let limits: [Double]
    /// The multipliers updated one at a time (budgets' sides, coupon floors, the ROI floor,
    /// general rows' sides), in order.
    package let coordinates: [Int]
    /// The coupon caps' multipliers (their ceiling sides), in order: updated together in one block.
    package let capMultipliers: [Int]
    package let names: [(ShadowPrice.Kind, String)]
    package let maxPerUser: Int
    /// The share of the problem's limits that `limits` holds (1, or a sample's share).
    package let limitScale: Double
    /// With floors or general rows: a value no allocation meeting the users' caps can fall
    /// below, `Σ_u` of the user's `max_per_user` most negative uplifts among the candidates the
    /// dual keeps (0 when none is negative). A bound `D(m)` below it proves the floors infeasible
    /// together (weak duality). Computed once here, where the problem is whole; nil otherwise.
    package let valueFloor: Double?
    /// The first general row (`ConstraintRules.generalStart`).
    package let generalStart: Int

    package var constraintCount: Int { limits.count }

    package init(_ problem: Problem, limitScale: Double = 1) {
        let rules = problem.rules
        var sides: [Side] = []
        var ceilingSide = [Int](repeating: -1, count: rules.count)
        var floorSide = [Int](repeating: -1, count: rules.count)
        var coordinates: [Int] = []
        var caps: [Int] = []
        var names: [(ShadowPrice.Kind, String)] = []
        var limits: [Double] = []
        for i in 0..<rules.count {
            let name = rules.name(i, in: problem)
            let kind: ConstraintRules.Kind? = i < rules.generalStart ? rules.kinds[i] : nil
            if rules.limits[i] < .infinity {
                ceilingSide[i] = sides.count
                if case .couponCap = kind { caps.append(sides.count) } else { coordinates.append(sides.count) }
                switch kind {
                case .budget: names.append((.budget, name))
                case .couponCap: names.append((.couponCap, name))
                case .minROI: names.append((.minROI, name))
                case nil: names.append((.constraint, name))
                }
                sides.append(Side(row: i, floor: false))
                limits.append(rules.limits[i] * limitScale)
            }
            if rules.lower[i] > -.infinity {
                floorSide[i] = sides.count
                coordinates.append(sides.count)
                switch kind {
                case .budget: names.append((.budgetMin, name))
                case .couponCap: names.append((.couponFloor, name))
                case .minROI, nil: names.append((.constraintMin, name))
                }
                sides.append(Side(row: i, floor: true))
                limits.append(-rules.lower[i] * limitScale)
            }
        }
        self.sides = sides
        self.ceilingSide = ceilingSide
        self.floorSide = floorSide
        self.coordinates = coordinates
        capMultipliers = caps
        self.names = names
        self.limits = limits
        maxPerUser = problem.maxPerUser
        self.limitScale = limitScale
        valueFloor = problem.hasFloorsOrRows ? Self.valueFloor(problem) : nil
        generalStart = rules.generalStart
    }

    /// See `valueFloor`. - Complexity: O(candidates log k).
    static func valueFloor(_ problem: Problem) -> Double {
        let t = problem.candidates
        var total = 0.0
        var negative: [Double] = []
        for u in 0..<t.userCount {
            negative.removeAll(keepingCapacity: true)
            for j in t.candidates(ofUser: u) where t.uplift[j] < 0 && problem.mayBeUseful(j) { negative.append(t.uplift[j]) }
            negative.sort()
            for v in negative.prefix(problem.maxPerUser) { total += v }
        }
        return total
    }

    /// Each row's net multiplier `m_ceiling - m_floor` at side multipliers `m`: the reduced value
    /// is `v_j - Σ_i net_i a_ij`.
    package func net(_ m: UnsafeBufferPointer<Double>) -> [Double] {
        (0..<ceilingSide.count).map { i in
            (ceilingSide[i] >= 0 ? m[ceilingSide[i]] : 0) - (floorSide[i] >= 0 ? m[floorSide[i]] : 0)
        }
    }

    package func net(_ m: [Double]) -> [Double] { m.withUnsafeBufferPointer { net($0) } }
}

/// Runs a task over every user and merges the slices' aggregates.
package protocol DualTransport {
    var model: DualModel { get }
    /// The merged aggregate of `task` over every user.
    func run(_ task: DualTask) -> DualAggregate
    /// A feasible allocation at multipliers `m` and its uplift (the primal recovery).
    func recover(_ m: [Double]) -> (allocation: Allocation, value: Double)
}

/// Threads on one machine: the engine's fixed chunks (`UserChunks`), run by `parallelMap` and
/// merged in chunk order.
package struct ThreadTransport: DualTransport {
    package let engine: DualEngine
    package init(_ engine: DualEngine) { self.engine = engine }
    package var model: DualModel { engine.model }
    package func run(_ task: DualTask) -> DualAggregate { engine.runOnThreads(task) }
    package func recover(_ m: [Double]) -> (allocation: Allocation, value: Double) { Recovery.recover(engine, m) }
}

/// The coordinator's passes: tasks sent through a transport, read from the merged aggregates.
package struct DualRounds {
    package let transport: any DualTransport
    package let model: DualModel

    package init(_ transport: any DualTransport) {
        self.transport = transport
        model = transport.model
    }

    /// The dual at `m`.
    struct Evaluation {
        /// D(m): an upper bound on the optimum.
        var bound: Double
        /// Σ_j a_ij over the subproblems' choices, per relaxed constraint.
        var consumption: [Double]
        /// The capped candidates' positive margins (when asked for).
        var margins: [CapMargin] = []
    }

    /// One pass: the bound, every constraint's consumption and, with `margins`, the caps'
    /// margins. The bound adds `Σ_i m_i limit_i` to the users' exact part in constraint order.
    func evaluate(_ m: [Double], margins: Bool = false) -> Evaluation {
        let merged = transport.run(.evaluate(m: m, margins: margins))
        var consumption = [Double](repeating: 0, count: model.constraintCount)
        for (q, i) in model.coordinates.enumerated() { consumption[i] = merged.sums[q].value }
        if !model.capMultipliers.isEmpty {
            var counts = [Int](repeating: 0, count: model.capMultipliers.count)
            for k in merged.capPicks { counts[Int(k)] += 1 }
            for (k, i) in model.capMultipliers.enumerated() { consumption[i] = Double(counts[k]) }
        }
        var bound = merged.bound.value
        for i in 0..<model.constraintCount { bound += m[i] * model.limits[i] }
        return Evaluation(bound: bound, consumption: consumption, margins: merged.margins)
    }

    /// Every cap's coordinate minimiser from the margins of one pass: the smallest `λ >= 0`
    /// with at most `cap` margins above it, found by selection among the cap's own margins (a
    /// function of their multiset).
    /// - Complexity: O(margins + caps) expected.
    func capTargets(_ margins: [CapMargin]) -> [Double] {
        let caps = model.capMultipliers.count
        var start = [Int](repeating: 0, count: caps + 1)
        for e in margins { start[Int(e.cap) + 1] += 1 }
        for k in 0..<caps { start[k + 1] += start[k] }
        var next = start
        var values = [Double](repeating: 0, count: margins.count)
        for e in margins {
            values[next[Int(e.cap)]] = e.margin
            next[Int(e.cap)] += 1
        }
        let limits = model.limits
        let capMultipliers = model.capMultipliers
        return values.withUnsafeMutableBufferPointer { v in
            (0..<caps).map { k in
                Breakpoints.smallestMultiplier(units: UnsafeMutableBufferPointer(rebasing: v[start[k] ..< start[k + 1]]),
                                               room: limits[capMultipliers[k]])
            }
        }
    }
}
