import AllotCore
import Foundation

/// One candidate incentive of an arriving user, as a request gives it.
public struct LiveCandidate: Equatable, Sendable {
    public var coupon: String
    public var uplift: Double
    public var cost: Double
    public var channel: String?
    /// Further numeric columns (extra budget columns), by name.
    public var columns: [String: Double]
    public init(coupon: String, uplift: Double, cost: Double, channel: String? = nil, columns: [String: Double] = [:]) {
        self.coupon = coupon
        self.uplift = uplift
        self.cost = cost
        self.channel = channel
        self.columns = columns
    }
}

/// A request the engine refuses, with its one-line reason (an HTTP 400).
public struct DecisionError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One answered decision: what it consumed, enough to rebuild the day's state from a journal.
public struct DecisionRecord: Equatable, Sendable {
    public struct Given: Equatable, Sendable {
        public var coupon: String
        public var uplift: Double
        public var cost: Double
        public var channel: String?
        /// Per budget of the snapshot (by name), what this assignment consumes of it.
        public var consumption: [String: Double]
        public init(coupon: String, uplift: Double, cost: Double, channel: String?, consumption: [String: Double]) {
            self.coupon = coupon
            self.uplift = uplift
            self.cost = cost
            self.channel = channel
            self.consumption = consumption
        }
    }
    public var user: String
    public var given: [Given]
    /// With exploration: the decision's treatment (its one coupon, or nil for none, the control
    /// arm) had this probability under the randomised policy; and the snapshot's version.
    public var propensity: Double?
    public var snapshot: String?
    public init(user: String, given: [Given]) {
        self.user = user
        self.given = given
    }
}

/// Randomised decisions for a log that `allot evaluate --log` can read (docs/serve.md,
/// "Exploration"). With probability `epsilon` a decision is drawn uniformly from the control
/// arm (nothing) and every candidate that fits the user's caps, the budgets, the coupon caps and
/// the ROI floor; otherwise it is the usual decision. The draw depends on `seed` and the user id
/// only (SplitMix64 of both), so the same user draws the same whatever the order, threads or
/// transport. Needs `max_per_user` 1: a randomised log has one treatment per decision.
public struct Exploration: Equatable, Sendable {
    public var epsilon: Double
    public var seed: UInt64
    public init(epsilon: Double, seed: UInt64 = 0) {
        self.epsilon = epsilon
        self.seed = seed
    }

    /// Two uniform draws in [0, 1) for `user`.
    func draws(user: String) -> (Double, Double) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the id's UTF-8 bytes
        for b in user.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var state = h ^ seed
        func next() -> Double {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            return Double(z >> 11) * 0x1p-53
        }
        let a = next()
        return (a, next())
    }
}

/// How the multipliers follow the spend (docs/serve.md, "Pacing").
public struct Pacing: Equatable, Sendable {
    public enum Rule: String, Sendable, CaseIterable {
        /// The snapshot's multipliers, unchanged all day.
        case fixed
        /// `λ_i = clamp(λ⁰_i + gain · s_i · e_i, 0, λ⁰_i + gain · s_i)`, where `e_i` is the
        /// spend ahead of the plan as a fraction of the limit and `s_i = max(λ⁰_i, floor)`.
        case proportional
    }
    public var rule: Rule
    public var gain: Double
    /// The scale of a multiplier whose snapshot value is (near) zero.
    public var floor: Double
    public init(rule: Rule = .proportional, gain: Double = 16, floor: Double = 0.05) {
        self.rule = rule
        self.gain = gain
        self.floor = floor
    }
}

/// The day's counters: spend per budget, users per capped coupon, ROI totals, per-user state.
public struct DayState: Equatable, Sendable {
    public struct User: Equatable, Sendable {
        public var count = 0
        public var perChannel: [String: Int] = [:]
        public var coupons: Set<String> = []
    }
    public var spend: [String: Double] = [:]
    public var couponUsers: [String: Int] = [:]
    public var totalUplift = 0.0
    public var totalCost = 0.0
    public var decisions = 0
    public var assignments = 0
    public var users: [String: User] = [:]
    public init() {}

    /// Adds a record's consumption.
    /// - Complexity: O(assignments × budgets).
    public mutating func apply(_ record: DecisionRecord) {
        decisions += 1
        var user = users[record.user] ?? User()
        for g in record.given {
            for (b, a) in g.consumption { spend[b, default: 0] += a }
            couponUsers[g.coupon, default: 0] += 1
            totalUplift += g.uplift
            totalCost += g.cost
            user.count += 1
            if let h = g.channel { user.perChannel[h, default: 0] += 1 }
            user.coupons.insert(g.coupon)
            assignments += 1
        }
        if !record.given.isEmpty { users[record.user] = user }
    }
}

/// Decides for each arriving user from a snapshot's multipliers, with pacing, and never lets
/// the day's assignments exceed a budget, a coupon cap, the ROI floor, a user's frequency cap
/// or channel caps.
///
/// A decision: the candidates ranked by reduced value
/// `uplift - Σ_b λ_b a_b - μ_coupon - ρ (r cost - uplift)` (ties in request order), positive
/// only, each taken while every constraint still holds with it. The whole decision (current
/// multipliers, choice, reservation) runs under one lock, so concurrent decisions never
/// overspend together, and the outcome of a sequence of decisions depends only on their order
/// and times.
public final class DecisionEngine: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot: Snapshot
    private var couponSet: Set<String>
    /// Per budget of the snapshot: whether its column is the candidates' `cost`.
    private var costColumn: [Bool]
    private var state: DayState
    public let pacing: Pacing
    public let exploration: Exploration?
    private var version: String
    /// The day of the counters (UTC days since 1970-01-01; 0 when days are not followed).
    private var day: Int
    /// Called under the engine's lock when a decision comes on a later day, before the
    /// counters are reset (the journal's hook: it moves the old day's journal aside).
    private let onNewDay: (@Sendable (_ old: Int, _ new: Int) throws -> Void)?
    /// Called under the engine's lock with each answered decision, before it is returned (the
    /// journal's hook: its order is the decisions' order).
    private let onDecision: (@Sendable (DecisionRecord) -> Void)?

    public init(snapshot: Snapshot, pacing: Pacing = Pacing(), state: DayState = DayState(), exploration: Exploration? = nil,
                day: Int = 0, onNewDay: (@Sendable (_ old: Int, _ new: Int) throws -> Void)? = nil,
                onDecision: (@Sendable (DecisionRecord) -> Void)? = nil) {
        self.day = day
        self.onNewDay = onNewDay
        self.snapshot = snapshot
        self.exploration = exploration
        version = snapshot.version
        couponSet = Set(snapshot.coupons)
        costColumn = snapshot.budgets.map { $0.column == "cost" }
        self.pacing = pacing
        self.state = state
        self.onDecision = onDecision
    }

    /// The snapshot in force.
    public var currentSnapshot: Snapshot { lock.withLock { snapshot } }
    /// A copy of the day's counters.
    public var currentState: DayState { lock.withLock { state } }
    /// The day of the counters.
    public var currentDay: Int { lock.withLock { day } }

    /// Replaces the snapshot atomically; the day's spend and counters carry over.
    public func reload(_ new: Snapshot) {
        let newVersion = new.version
        lock.withLock {
            snapshot = new
            couponSet = Set(new.coupons)
            costColumn = new.budgets.map { $0.column == "cost" }
            version = newVersion
        }
    }

    /// The multipliers in force at time `t` (fraction of the day): budgets by name, then
    /// capped coupons by id.
    public func multipliers(at t: Double) -> (budgets: [String: Double], coupons: [String: Double]) {
        lock.withLock {
            let (b, c) = pacedMultipliers(at: t)
            return (Dictionary(uniqueKeysWithValues: zip(snapshot.budgets.map(\.name), b)), c)
        }
    }

    /// Checks a request without deciding: finite, non-negative numbers, distinct coupons, every
    /// budget column present, known coupons when the snapshot has coupon caps.
    /// - Throws: `DecisionError` naming the candidate (0-based) and field.
    public func validate(_ candidates: [LiveCandidate]) throws {
        try lock.withLock { try check(candidates) }
    }

    /// Decides for `user` at time `t` (fraction of the day, clamped to [0, 1]) and reserves
    /// what it gives.
    /// - Throws: `DecisionError` for a bad request (nothing is reserved).
    /// - Complexity: O(k log k + k × budgets) for k candidates, plus O(budgets + capped
    ///   coupons) for the multipliers.
    ///   With `day` (UTC days since 1970-01-01) later than the counters' day, the day rolls
    ///   over first: spend, coupon counts, ROI totals and per-user counts start again from 0.
    public func decide(user: String, candidates: [LiveCandidate], at t: Double, day today: Int? = nil) throws -> [LiveCandidate] {
        try lock.withLock {
            try check(candidates)
            if let today, today > day {
                do { try onNewDay?(day, today) } catch { throw DecisionError("cannot start the journal of the new day: \(error)") }
                state = DayState()
                day = today
            }
            let (lambda, mu) = pacedMultipliers(at: t)
            let s = snapshot
            let rate = s.minROI ?? 0
            // consumption[j * budgets + b]: what candidate j consumes of budget b.
            let budgets = s.budgets.count
            var consumption = [Double](repeating: 0, count: candidates.count * budgets)
            var reduced = [Double](repeating: 0, count: candidates.count)
            for (j, c) in candidates.enumerated() {
                var r = c.uplift
                for b in 0..<budgets {
                    let a = costColumn[b] ? c.cost : c.columns[s.budgets[b].column]!
                    consumption[j * budgets + b] = a
                    r -= lambda[b] * a
                }
                if !mu.isEmpty { r -= mu[c.coupon] ?? 0 }
                if s.minROI != nil { r -= s.roiMultiplier * (rate * c.cost - c.uplift) }
                reduced[j] = r
            }
            var order = candidates.indices.filter { reduced[$0] > 0 }
                .sorted { reduced[$0] != reduced[$1] ? reduced[$0] > reduced[$1] : $0 < $1 }
            var userState = state.users[user] ?? DayState.User()
            var record = DecisionRecord(user: user, given: [])
            var chosen: [LiveCandidate] = []
            var uplift = state.totalUplift, cost = state.totalCost
            /// Whether candidate `j` fits every constraint with what is reserved so far.
            func fits(_ j: Int) -> Bool {
                let c = candidates[j]
                guard userState.count < s.maxPerUser, !userState.coupons.contains(c.coupon) else { return false }
                if let h = c.channel, let cap = s.channelCaps[h], userState.perChannel[h, default: 0] >= cap { return false }
                if let cap = s.couponCaps[c.coupon], state.couponUsers[c.coupon, default: 0] >= cap.cap { return false }
                for b in 0..<budgets where state.spend[s.budgets[b].name, default: 0] + consumption[j * budgets + b] > s.budgets[b].limit {
                    return false
                }
                if s.minROI != nil, uplift + c.uplift < rate * (cost + c.cost) { return false }
                return true
            }
            if let x = exploration {
                guard s.maxPerUser == 1 else {
                    throw DecisionError("exploration needs a snapshot with max_per_user 1 (this one has \(s.maxPerUser)): a randomised log has one treatment per decision")
                }
                // The arms: the control (nothing) and every candidate that fits.
                let arms = candidates.indices.filter(fits)
                let greedy = order.first(where: fits)
                let (u, v) = x.draws(user: user)
                var pick = greedy
                if u < x.epsilon {
                    let k = min(Int(v * Double(arms.count + 1)), arms.count)
                    pick = k == 0 ? nil : arms[k - 1]
                }
                record.propensity = x.epsilon / Double(arms.count + 1) + (pick == greedy ? 1 - x.epsilon : 0)
                record.snapshot = version
                order = pick.map { [$0] } ?? []
            }
            for j in order {
                guard fits(j) else { continue }
                let c = candidates[j]
                let a = consumption[(j * budgets)..<((j + 1) * budgets)]
                // Reserve.
                for (b, x) in zip(s.budgets.indices, a) { state.spend[s.budgets[b].name, default: 0] += x }
                state.couponUsers[c.coupon, default: 0] += 1
                uplift += c.uplift
                cost += c.cost
                userState.count += 1
                if let h = c.channel { userState.perChannel[h, default: 0] += 1 }
                userState.coupons.insert(c.coupon)
                chosen.append(c)
                record.given.append(.init(coupon: c.coupon, uplift: c.uplift, cost: c.cost, channel: c.channel,
                                          consumption: Dictionary(uniqueKeysWithValues: zip(s.budgets.map(\.name), a))))
            }
            state.totalUplift = uplift
            state.totalCost = cost
            state.decisions += 1
            state.assignments += chosen.count
            if !chosen.isEmpty { state.users[user] = userState }
            onDecision?(record)
            return chosen
        }
    }

    /// Under the lock.
    /// - Complexity: O(k²) string comparisons for k <= 16 candidates (cheaper than hashing
    ///   that few), O(k) hashes beyond.
    private func check(_ candidates: [LiveCandidate]) throws {
        var seen: Set<String>? = candidates.count > 16 ? Set(minimumCapacity: candidates.count) : nil
        for (j, c) in candidates.enumerated() {
            func fail(_ message: String) -> DecisionError { DecisionError("candidates[\(j)]: " + message) }
            let repeated = seen != nil ? !seen!.insert(c.coupon).inserted : candidates[..<j].contains { $0.coupon == c.coupon }
            guard !repeated else { throw fail("coupon_id '\(c.coupon)' repeats within the request") }
            guard c.uplift.isFinite else { throw fail("uplift is not a finite number") }
            guard c.cost.isFinite else { throw fail("cost is not a finite number") }
            guard c.cost >= 0 else { throw fail("cost is \(c.cost); it must be >= 0") }
            for (b, isCost) in zip(snapshot.budgets, costColumn) where !isCost {
                guard let v = c.columns[b.column] else { throw fail("missing field '\(b.column)' (budget '\(b.name)')") }
                guard v.isFinite, v >= 0 else { throw fail("\(b.column) is \(v); it must be a finite number >= 0") }
            }
            if !snapshot.couponCaps.isEmpty, !couponSet.contains(c.coupon) {
                throw fail("unknown coupon_id '\(c.coupon)': the snapshot has coupon caps, so only its coupons are allowed")
            }
        }
    }

    /// Under the lock: per budget (snapshot order), and per capped coupon.
    private func pacedMultipliers(at t: Double) -> ([Double], [String: Double]) {
        let s = snapshot
        guard pacing.rule == .proportional else {
            return (s.budgets.map(\.multiplier), s.couponCaps.mapValues(\.multiplier))
        }
        let planned = s.plannedFraction(at: t)
        func paced(_ base: Double, spent: Double, limit: Double) -> Double {
            guard limit > 0 else { return base }
            let scale = max(base, pacing.floor)
            let ahead = spent / limit - planned
            return min(max(0, base + pacing.gain * scale * ahead), base + pacing.gain * scale)
        }
        let budgets = s.budgets.map { paced($0.multiplier, spent: state.spend[$0.name, default: 0], limit: $0.limit) }
        var coupons: [String: Double] = [:]
        for (c, cap) in s.couponCaps {
            coupons[c] = paced(cap.multiplier, spent: Double(state.couponUsers[c, default: 0]), limit: Double(cap.cap))
        }
        return (budgets, coupons)
    }
}
