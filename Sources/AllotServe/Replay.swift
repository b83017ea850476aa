import AllotCore
import Foundation

/// `allot replay`: the live decision and pacing code run in-process over users arriving in a
/// given or seeded random order, against the hindsight optimum (docs/serve.md).
public enum Replay {
    /// One policy's day.
    public struct Run: Sendable {
        public var policy: String
        /// Incremental GMV: the total uplift given.
        public var gmv: Double
        /// Final spend per budget, in snapshot order.
        public var spend: [Double]
        /// The spend path: at `pathPoints` evenly spaced moments, the spend per budget.
        public var path: [[Double]]
        public var assignments: Int
        /// The allocation of the arrived users' problem (verified by the caller).
        public var allocation: Allocation
    }

    /// The whole report.
    public struct Report: Sendable {
        public var arrivals: Int
        public var forecastUsers: Int
        public var budgets: [Snapshot.Budget]
        /// Time of each path point (fraction of the day) and the plan's fraction there.
        public var times: [Double]
        public var planned: [Double]
        public var runs: [Run]
        /// `allot solve` (the dual) on the users who arrived, with the snapshot's constraints.
        public var hindsight: Double
        public var hindsightSpend: [Double]
    }

    /// The arrivals: `round(traffic × forecast users)` users of `problem`, in a seeded random
    /// order.
    /// - Throws: `InputError` when the scores have fewer users than that.
    public static func arrivals(_ problem: Problem, traffic: Double, forecastUsers: Int, seed: UInt64) throws -> [Int] {
        let n = Int((traffic * Double(forecastUsers)).rounded())
        guard n <= problem.candidates.userCount else {
            throw InputError(file: "scores", "--traffic \(traffic) asks for \(n) arrivals (of a forecast of \(forecastUsers) users), but the scores have only \(problem.candidates.userCount) users")
        }
        var order = Array(0..<problem.candidates.userCount)
        var rng = SeededGenerator(seed: seed)
        rng.shuffle(&order)
        return Array(order.prefix(n))
    }

    /// The arrivals named in an order file: one user id a line (a header `user_id` is skipped).
    /// - Throws: `InputError` naming the file and line of an unknown or repeated user.
    public static func arrivals(_ problem: Problem, orderFile text: String, file: String) throws -> [Int] {
        let index = Dictionary(uniqueKeysWithValues: problem.candidates.userIDs.enumerated().map { ($1, $0) })
        var seen = Set<Int>()
        var order: [Int] = []
        for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let id = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if id.isEmpty || (k == 0 && id == "user_id") { continue }
            guard let u = index[id] else { throw InputError(file: file, line: k + 1, column: 1, "user '\(id)' is not in the scores") }
            guard seen.insert(u).inserted else { throw InputError(file: file, line: k + 1, column: 1, "user '\(id)' arrives twice") }
            order.append(u)
        }
        return order
    }

    /// A user's candidates as a request gives them.
    /// - Complexity: O(their candidates × columns).
    public static func candidates(_ problem: Problem, user u: Int) -> [LiveCandidate] {
        let t = problem.candidates
        return t.candidates(ofUser: u).map { j in
            var columns: [String: Double] = [:]
            for (k, name) in t.columnNames.enumerated().dropFirst() { columns[name] = t.columns[k][j] }
            let h = t.channel(of: j)
            return LiveCandidate(coupon: t.couponIDs[Int(t.coupon[j])], uplift: t.uplift[j], cost: t.cost[j],
                                 channel: h < 0 ? nil : t.channelNames[h], columns: columns)
        }
    }

    /// Runs one policy: arrival `k` of `n` at time `(k + 0.5) / n`.
    /// - Complexity: O(arrivals × their candidates × budgets).
    public static func run(_ problem: Problem, arrivals: [Int], snapshot: Snapshot, pacing: Pacing,
                           policy: String, pathPoints: Int = 48) throws -> Run {
        let engine = DecisionEngine(snapshot: snapshot, pacing: pacing)
        let t = problem.candidates
        var chosen: [Int] = []
        var gmv = 0.0
        var path: [[Double]] = []
        let n = arrivals.count
        for (k, u) in arrivals.enumerated() {
            let given = try engine.decide(user: t.userIDs[u], candidates: candidates(problem, user: u),
                                          at: (Double(k) + 0.5) / Double(n))
            let range = t.candidates(ofUser: u)
            for g in given {
                chosen.append(range.first { t.couponIDs[Int(t.coupon[$0])] == g.coupon }!)
                gmv += g.uplift
            }
            // The path: after arrival k, when it crosses a point.
            while path.count < pathPoints && Double(k + 1) >= Double(path.count + 1) * Double(n) / Double(pathPoints) - 1e-9 {
                let spend = engine.currentState.spend
                path.append(snapshot.budgets.map { spend[$0.name, default: 0] })
            }
        }
        let spend = engine.currentState.spend
        return Run(policy: policy, gmv: gmv, spend: snapshot.budgets.map { spend[$0.name, default: 0] }, path: path,
                   assignments: chosen.count, allocation: Allocation(candidates: chosen))
    }

    /// The three policies — paced, fixed multipliers, first-come greedy (multipliers 0, no
    /// pacing) — and the hindsight optimum, on the same arrivals.
    public static func report(_ problem: Problem, arrivals: [Int], snapshot: Snapshot, pacing: Pacing,
                              options: SolveOptions = SolveOptions(), pathPoints: Int = 48) throws -> Report {
        var greedy = snapshot
        for b in greedy.budgets.indices { greedy.budgets[b].multiplier = 0 }
        for c in greedy.couponCaps.keys { greedy.couponCaps[c]!.multiplier = 0 }
        greedy.roiMultiplier = 0
        let runs = [
            try run(problem, arrivals: arrivals, snapshot: snapshot, pacing: pacing, policy: "paced (\(pacing.rule.rawValue), gain \(pacing.gain))", pathPoints: pathPoints),
            try run(problem, arrivals: arrivals, snapshot: snapshot, pacing: Pacing(rule: .fixed), policy: "fixed multipliers", pathPoints: pathPoints),
            try run(problem, arrivals: arrivals, snapshot: greedy, pacing: Pacing(rule: .fixed), policy: "first-come greedy", pathPoints: pathPoints),
        ]
        let arrived = problem.restricted(toUsers: arrivals.sorted())
        let hindsight = try solve(arrived, options: options)
        let report = Verifier.verify(arrived, hindsight.allocation)
        let times = (1...pathPoints).map { Double($0) / Double(pathPoints) }
        return Report(arrivals: arrivals.count, forecastUsers: snapshot.forecastUsers, budgets: snapshot.budgets,
                      times: times, planned: times.map(snapshot.plannedFraction), runs: runs,
                      hindsight: hindsight.objective, hindsightSpend: report.budgetSpend)
    }
}
