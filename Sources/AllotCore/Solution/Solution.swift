/// The chosen candidates, as indices into the problem's `CandidateTable`, ascending.
///
/// Ascending candidate order is users in input order, then each user's candidates in input
/// order: the deterministic order of the allocation file.
public struct Allocation: Equatable, Sendable {
    public private(set) var candidates: [Int]

    /// - Complexity: O(n log n) unless already sorted.
    public init(candidates: [Int]) {
        var c = candidates
        if !zip(c, c.dropFirst()).allSatisfy({ $0 < $1 }) { c.sort() }
        self.candidates = c
    }

    /// Builds from a chosen flag per candidate.
    /// - Complexity: O(n).
    public init(chosen: [Bool]) {
        candidates = chosen.indices.filter { chosen[$0] }
    }

    public var count: Int { candidates.count }

    /// The assignments by id, in allocation order.
    /// - Complexity: O(count × log users).
    public func assignments(in problem: Problem) -> [Assignment] {
        let t = problem.candidates
        return candidates.map { j in Assignment(user: t.userIDs[t.user(ofCandidate: j)], coupon: t.couponIDs[Int(t.coupon[j])]) }
    }
}

/// One incentive given to one user.
public struct Assignment: Hashable, Sendable {
    public var user: String
    public var coupon: String
    public init(user: String, coupon: String) {
        self.user = user
        self.coupon = coupon
    }
}

/// What is known about a returned allocation.
///
/// A returned status is not an error: a thrown error means a call failed; a status says what
/// the solver established about the model.
public enum SolveStatus: String, Sendable, Codable {
    /// Proven optimal (within the method's stated tolerance).
    case optimal
    /// Feasible, with no proof of optimality (greedy methods, the dual with a positive gap).
    case feasible
    /// Feasible, best found when a time or iteration limit stopped the solver.
    case feasibleAtLimit = "feasible_at_limit"
    /// The constraints admit no allocation at all (proven: by the exact solver, or by a floor
    /// that the ceilings leave out of reach).
    case infeasible
    /// No allocation that meets every floor was found before a limit stopped the search, and
    /// none was proven impossible: the search failed, which says nothing of the constraints.
    case searchFailed = "search_failed"
}

/// The marginal value of relaxing one constraint by one unit, from the dual.
public struct ShadowPrice: Equatable, Sendable {
    /// Which side of which row: a ceiling (`budget`, `coupon_cap`, `min_roi`, `constraint`: a
    /// general row's `max`) or a floor (`budget_min`, `coupon_floor`, `constraint_min`).
    public enum Kind: String, Sendable {
        case budget, couponCap = "coupon_cap", minROI = "min_roi", constraint
        case budgetMin = "budget_min", couponFloor = "coupon_floor", constraintMin = "constraint_min"
        /// Whether this is a floor side (a lower bound).
        public var isFloor: Bool { self == .budgetMin || self == .couponFloor || self == .constraintMin }
    }
    public var kind: Kind
    /// The budget name, the coupon id, `min_roi`, or the general row's name.
    public var name: String
    /// The objective's change per unit the bound is raised: for a ceiling its multiplier
    /// `m >= 0` (for a budget, incremental GMV per extra unit of budget); for a floor `-μ <= 0`
    /// (what one more unit of floor costs, with a minus sign).
    public var value: Double
    /// The dual's multiplier of this side (`>= 0`): `value` for a ceiling, `-value` for a floor.
    public var multiplier: Double { kind.isFloor ? -value : value }
    public init(kind: Kind, name: String, value: Double) {
        self.kind = kind
        self.name = name
        self.value = value
    }
}

/// The result of one method on one problem.
public struct Solution: Sendable {
    public var method: String
    public var status: SolveStatus
    public var allocation: Allocation
    /// Total uplift of the allocation, as computed by the method.
    public var objective: Double
    /// A proven upper bound on the optimum, when the method has one.
    public var upperBound: Double?
    /// Set when `status` is `optimal` because the solver stopped within this relative gap
    /// tolerance (`MILPOptions.relativeGap`, `DualOptions.targetGap`) rather than closing the gap.
    public var gapTolerance: Double?
    public var shadowPrices: [ShadowPrice] = []
    public var iterations: Int?
    /// Things the user should know: fallbacks taken, limits hit.
    public var notes: [String] = []
    public var wallSeconds: Double = 0
    /// The allocation's value under the scores' uncertainty (`UncertainScores`), when known.
    public var expectedObjective: ExpectedObjective?

    public init(method: String, status: SolveStatus, allocation: Allocation, objective: Double,
                upperBound: Double? = nil) {
        self.method = method
        self.status = status
        self.allocation = allocation
        self.objective = objective
        self.upperBound = upperBound
    }

    /// When the method found no allocation that meets every floor (`infeasible`, proven, or
    /// `search_failed`), the one line that says so, shared by the CLI and the C ABI: the floor
    /// out of reach and the most that can be reached, or that only the search failed. Else nil.
    package var noAllocationMessage: String? {
        switch status {
        case .infeasible:
            let reason = notes.first { $0.hasPrefix("infeasible: ") }.map { String($0.dropFirst(12)) }
                ?? "no allocation meets every constraint"
            return "infeasible: \(reason)"
        case .searchFailed:
            return "\(method) found no allocation that meets every floor within its limits (the search failed; the floors were not proven infeasible)"
        default:
            return nil
        }
    }

    /// `(bound - objective) / max(|bound|, Tolerance.gapDenominatorFloor)`, or nil without a
    /// bound. A gap of 0 means the allocation is proven optimal.
    public var relativeGap: Double? {
        guard let upperBound else { return nil }
        let gap = max(0, upperBound - objective)
        return gap == 0 ? 0 : gap / max(abs(upperBound), Tolerance.gapDenominatorFloor)
    }
}
