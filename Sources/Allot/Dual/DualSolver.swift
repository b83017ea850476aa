/// Method `dual`: coordinate descent on the Lagrangian dual, then primal recovery.
enum DualSolver {
    static func solve(_ problem: Problem, options: DualOptions) -> Solution {
        let engine = DualEngine(problem, threads: options.threads)
        let k = engine.constraintCount
        var m = [Double](repeating: 0, count: k)
        var current = engine.evaluate(m)
        var best = (bound: current.bound, multipliers: m)
        var sweeps = 0
        var notes: [String] = []

        if k > 0 {
            // Synchronous coordinate descent (Zhang et al., WWW 2020): each multiplier in turn is
            // set to its exact minimiser with the others fixed. One constraint needs one update.
            while sweeps < options.maxSweeps {
                sweeps += 1
                for i in 0..<k { m[i] = engine.criticalMultiplier(i, m) }
                let previous = best.bound
                current = engine.evaluate(m)
                if current.bound < best.bound { best = (current.bound, m) }
                if k == 1 { break }
                if previous - current.bound <= options.sweepTolerance * max(1, abs(previous)) { break }
            }
        }

        var (allocation, objective) = Recovery.recover(engine, best.multipliers)
        var gap = relative(best.bound - objective, best.bound)

        // Coordinate descent can stall at a kink of the dual with several multipliers; then try
        // projected subgradient steps (Polyak step towards the best primal value), keeping the best bound.
        if k > 1, gap > options.targetGap, options.subgradientSteps > 0 {
            var x = best.multipliers
            var evaluation = engine.evaluate(x)
            var improved = false
            for step in 0..<options.subgradientSteps {
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
                notes.append("coordinate descent stalled; subgradient steps improved the bound")
                let (a, v) = Recovery.recover(engine, best.multipliers)
                if v > objective { allocation = a; objective = v }
                gap = relative(best.bound - objective, best.bound)
            }
        }

        var method = "dual"
        if options.compareWithBaseline {
            let greedy = GreedyMarginal.solve(problem)
            let greedyValue = totalUplift(problem, greedy)
            if greedyValue > objective {
                notes.append("greedy-marginal found a better allocation than the dual's recovery (\(greedyValue) > \(objective)); returned it")
                allocation = greedy
                objective = greedyValue
                method = "dual"
            }
        }

        var solution = Solution(method: method, status: .feasible, allocation: allocation, objective: objective,
                                upperBound: max(best.bound, objective))
        if solution.relativeGap ?? 1 <= 1e-12 { solution.status = .optimal }
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
        GreedyMarginal.improve(&state)
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

    private static func repair(_ engine: DualEngine, _ state: inout CapacityState, picks: [Int], userOf: [Int32]) {
        var e = excess(engine, state)
        guard e.contains(where: { $0 > 0 }) else { return }
        // Rank held assignments by uplift lost per unit of relative excess removed.
        var ranked: [(Double, Int)] = []
        for (a, j) in picks.enumerated() {
            var relief = 0.0
            for i in e.indices where e[i] > 0 { relief += engine.coefficient(i, j) / e[i] }
            if relief > 0 { ranked.append((engine.uplift[j] / relief, a)) }
        }
        ranked.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        for (_, a) in ranked {
            let j = picks[a]
            let helps = e.indices.contains { e[$0] > 0 && engine.coefficient($0, j) > 0 }
            if !helps { continue }
            state.remove(j, user: Int(userOf[a]))
            e = excess(engine, state)
            if !e.contains(where: { $0 > 0 }) { return }
        }
        // Still broken (removing one assignment can raise the ROI excess): sweep once more.
        for (a, j) in picks.enumerated() where state.chosen[j] {
            guard e.indices.contains(where: { e[$0] > 0 && engine.coefficient($0, j) > 0 }) else { continue }
            state.remove(j, user: Int(userOf[a]))
            e = excess(engine, state)
            if !e.contains(where: { $0 > 0 }) { return }
        }
    }

}

