import HeapModule
/// Method `dual`: coordinate descent on the Lagrangian dual, then primal recovery.
package enum DualSolver {
    package static func solve(_ problem: Problem, options: DualOptions, threads: Int) -> Solution {
        solve(DualEngine(problem, threads: threads), options: options)
    }

    /// The same, on an engine the caller keeps (polishing reuses it for the users' margins).
    package static func solve(_ engine: DualEngine, options: DualOptions) -> Solution {
        let problem = engine.problem
        let threads = engine.chunks.threads
        let k = engine.constraintCount
        var m = [Double](repeating: 0, count: k)
        let began = monotonicSeconds()
        var current = engine.evaluate(m)
        // Under a time limit, a step starts only if it and the final recovery fit before the
        // deadline; these are the last durations seen (a recovery costs about an evaluation).
        var stepSeconds = monotonicSeconds() - began
        var recoverySeconds = stepSeconds
        var best = (bound: current.bound, multipliers: m)
        var sweeps = 0
        var notes: [String] = []
        var primal: (allocation: Allocation, value: Double)?
        var gap = Double.infinity
        var checkedAtSweep = -1
        /// Recovers an allocation at the best multipliers, keeps the best one, updates the gap.
        func timeIsUp() -> Bool {
            guard let deadline = options.deadline else { return false }
            return monotonicSeconds() + stepSeconds + recoverySeconds >= deadline
        }
        func checkGap() {
            options.progress?(.recovery)
            let t = monotonicSeconds()
            defer { recoverySeconds = monotonicSeconds() - t }
            let (a, v) = Recovery.recover(engine, best.multipliers)
            if primal == nil || v > primal!.value { primal = (a, v) }
            gap = relative(best.bound - primal!.value, best.bound)
            checkedAtSweep = sweeps
        }

        if k > 0 {
            // Synchronous coordinate descent (Zhang et al., WWW 2020): each multiplier in turn is
            // moved to its exact minimiser with the others fixed, over-relaxed by `relaxation`
            // to damp the zig-zag between coupled constraints. One constraint needs one update.
            // Every few sweeps, and when a sweep stops improving the bound, recover an allocation
            // and stop once the gap is within the target.
            while sweeps < options.maxSweeps {
                if timeIsUp() {
                    notes.append("stopped at the time limit after \(sweeps) sweeps")
                    break
                }
                let sweepStart = monotonicSeconds()
                defer { stepSeconds = monotonicSeconds() - sweepStart }
                sweeps += 1
                for i in 0..<k {
                    let target = engine.criticalMultiplier(i, m)
                    m[i] = k == 1 ? target : max(0, m[i] + options.relaxation * (target - m[i]))
                }
                let previous = best.bound
                current = engine.evaluate(m)
                if current.bound < best.bound { best = (current.bound, m) }
                options.progress?(.dualSweep(sweep: sweeps, bound: best.bound, gap: primal.map { relative(best.bound - $0.value, best.bound) }))
                if k == 1 { break }
                let stalled = previous - current.bound <= options.sweepTolerance * max(1, abs(previous))
                if stalled || sweeps % options.gapCheckInterval == 0 {
                    checkGap()
                    if stalled || gap <= options.targetGap { break }
                }
            }
        }
        if checkedAtSweep != sweeps { checkGap() }
        var (allocation, objective) = primal!

        // Coordinate descent can stall at a kink of the dual with several multipliers; then try
        // projected subgradient steps (Polyak step towards the best primal value), keeping the best bound.
        if k > 1, gap > options.targetGap, options.subgradientSteps > 0, !timeIsUp() {
            var x = best.multipliers
            var evaluation = engine.evaluate(x)
            var improved = false
            for step in 0..<options.subgradientSteps {
                if timeIsUp() { break }
                let g = (0..<k).map { engine.limits[$0] - evaluation.consumption[$0] }
                let norm = g.reduce(0) { $0 + $1 * $1 }
                if norm == 0 { break }
                let alpha = (evaluation.bound - objective) / norm / Double(1 + step / 10)
                for i in 0..<k { x[i] = max(0, x[i] - alpha * g[i]) }
                evaluation = engine.evaluate(x)
                if evaluation.bound < best.bound - 1e-12 * abs(best.bound) {
                    best = (evaluation.bound, x)
                    improved = true
                }
            }
            if improved {
                notes.append("the bound needed extra refinement steps after the main search slowed down")
                let (a, v) = Recovery.recover(engine, best.multipliers)
                if v > objective { allocation = a; objective = v }
            }
        }

        let check: Bool
        switch options.baselineCheck {
        case .always: check = true
        case .never: check = false
        case .automatic where options.pastDeadline:
            check = false
            notes.append("greedy-marginal safety net skipped at the time limit")
        case .automatic:
            check = problem.candidates.count <= BaselineCheck.automaticLimit
            if !check { notes.append("not cross-checked against greedy-marginal (done up to \(BaselineCheck.automaticLimit) candidates)") }
        }
        if check {
            let greedy = GreedyMarginal.solve(problem, threads: threads)
            let greedyValue = totalUplift(problem, greedy)
            if greedyValue > objective {
                notes.append("greedy-marginal found a better allocation than the dual (\(Float(greedyValue)) against \(Float(objective))); returned it")
                allocation = greedy
                objective = greedyValue
            }
        }

        var solution = Solution(method: DualMethod().name, status: .feasible, allocation: allocation, objective: objective,
                                upperBound: max(best.bound, objective))
        if solution.relativeGap ?? 1 <= Tolerance.optimalGap { solution.status = .optimal }
        solution.iterations = sweeps
        solution.shadowPrices = (0..<k).map { ShadowPrice(kind: engine.names[$0].0, name: engine.names[$0].1, value: best.multipliers[$0]) }
        solution.notes = notes
        return solution
    }

    static func relative(_ difference: Double, _ scale: Double) -> Double {
        max(0, difference) / max(abs(scale), 1e-12)
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
        repair(engine, &state, picks: picks, userOf: userOf)
        GreedyMarginal.improve(&state, threads: engine.chunks.threads)
        let allocation = state.allocation
        return (allocation, totalUplift(problem, allocation))
    }

    /// Excess over each relaxed constraint's limit (0 when kept), with the verifier's tolerance
    /// turned around: recovery aims strictly inside.
    private static func excess(_ engine: DualEngine, _ state: CapacityState) -> [Double] {
        let problem = engine.problem
        var e = [Double](repeating: 0, count: engine.constraintCount)
        for i in 0..<engine.constraintCount {
            switch engine.kinds[i] {
            case .budget:
                e[i] = max(0, state.spend[i] - problem.budgets[i].limit)
            case .coupon(let c):
                e[i] = max(0, Double(state.couponCount[Int(c)] - problem.couponCaps[Int(c)]))
            case .roi:
                e[i] = max(0, engine.roiRate * state.totalCost - state.totalUplift)
            }
        }
        return e
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

    /// Steps back, cheapest first, until every relaxed constraint holds.
    private static func repair(_ engine: DualEngine, _ state: inout CapacityState, picks: [Int], userOf: [Int32]) {
        var e = excess(engine, state)
        guard e.contains(where: { $0 > 0 }) else { return }
        let t = engine.problem.candidates

        func relief(_ j: Int, _ i: Int?, _ e: [Double]) -> Double {
            var r = 0.0
            for c in e.indices where e[c] > 0 {
                r += (engine.coefficient(c, j) - (i.map { engine.coefficient(c, $0) } ?? 0)) / e[c]
            }
            return r
        }
        func bestRetreat(_ u: Int, _ e: [Double]) -> Retreat? {
            var best: Retreat?
            let range = t.candidates(ofUser: u)
            for j in range where state.chosen[j] {
                let r = relief(j, nil, e)
                if r > 0 {
                    let step = Retreat(key: engine.uplift[j] / r, user: Int32(u), drop: Int32(j), to: -1)
                    if best.map({ step < $0 }) ?? true { best = step }
                }
                for i in range where !state.chosen[i] && engine.eligible[i] {
                    let r = relief(j, i, e)
                    guard r > 0 else { continue }
                    let step = Retreat(key: (engine.uplift[j] - engine.uplift[i]) / r, user: Int32(u), drop: Int32(j), to: Int32(i))
                    if best.map({ step < $0 }) ?? true, state.userAllows(user: u, add: i, remove: j),
                       state.globalAllows(add: i, remove: j) {
                        best = step
                    }
                }
            }
            return best
        }

        var heap = Heap<Retreat>()
        var last: Int32 = -1
        for u in userOf where u != last {
            last = u
            if let r = bestRetreat(Int(u), e) { heap.insert(r) }
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
                if !e.contains(where: { $0 > 0 }) { return }
            }
            if let next = bestRetreat(u, e) { heap.insert(next) }
        }
        // Nothing relieves the excess any more (cannot happen for budgets and caps): drop what consumes it.
        for (a, j) in picks.enumerated() where state.chosen[j] {
            guard e.indices.contains(where: { e[$0] > 0 && engine.coefficient($0, j) > 0 }) else { continue }
            state.remove(j, user: Int(userOf[a]))
            e = excess(engine, state)
            if !e.contains(where: { $0 > 0 }) { return }
        }
    }

}

