import AllotCore

/// Why no allocation meets the floors of a problem: for each floor, the most that the ceilings
/// leave within reach, found exactly by the backend.
///
/// A *floor side* is a bound that the empty allocation breaks or may break: a finite lower
/// bound `lo_i` (a budget's `min`, a coupon floor, a general row's `min`), or an upper bound
/// below 0 (a general row's `max < 0`). For each, the 0-1 program keeps every other ceiling and
/// the per-user caps, drops every floor side, and maximises the floor's row (or minimises it,
/// for a `max < 0`): its optimum is the most that can be reached. A floor whose most is short of
/// its bound is named with that most; if each is reachable alone, the floors conflict with
/// one another, and the message says so.
///
/// - Complexity: one 0-1 program per floor side over every candidate that fits alone; called
///   only once a problem is known to be infeasible.
enum Infeasibility {
    /// A one-line reason, e.g. "constraint new_users needs at least 3000, at most 2140 is
    /// reachable under max_per_user and the ceilings".
    static func explain(_ problem: Problem, backend: MILPBackend, options: MILPOptions) throws -> String {
        let rules = problem.rules
        // The floor sides: (row, true for a lower bound / false for an upper bound below 0).
        var sides: [(Int, Bool)] = []
        for i in 0..<rules.count {
            if rules.lower[i] > -.infinity { sides.append((i, true)) }
            if rules.limits[i] < 0 { sides.append((i, false)) }
        }
        let t = problem.candidates
        let columns = (0..<t.count).filter { j in
            problem.cap(ofCoupon: Int(t.coupon[j])).map { $0 > 0 } ?? true
                && (t.channel(of: j) < 0 || problem.cap(ofChannel: t.channel(of: j)).map { $0 > 0 } ?? true)
        }
        let ceilings = rules.limits.map { $0 < 0 ? Double.infinity : $0 }
        let none = [Double](repeating: -.infinity, count: rules.count)
        let formulation = MILPFormulation(problem, columns: columns, limits: ceilings, lower: none)
        var reachable: [String] = []
        for (i, isLower) in sides {
            let sign = isLower ? 1.0 : -1.0
            var model = formulation.model
            model.objective = columns.map { sign * rules.coefficient(i, $0) }
            let result = try backend.solve(model, options: options, start: nil)
            let proven = result.status == .optimal
            guard let most = (proven ? result.objective : result.bestBound).map({ sign * $0 }) else { continue }
            let bound = isLower ? rules.lower[i] : rules.limits[i]
            let short = isLower ? most < bound - Tolerance.feasibility * max(1, abs(bound))
                                : most > bound + Tolerance.feasibility * max(1, abs(bound))
            let what = Self.describe(i, problem)
            let words = proven ? "" : " (a bound: the search stopped at its limit)"
            if short {
                return isLower
                    ? "\(what) needs at least \(number(bound)), at most \(number(most)) is reachable under max_per_user and the ceilings\(words)"
                    : "\(what) needs at most \(number(bound)), at least \(number(most)) is unavoidable under max_per_user and the ceilings\(words)"
            }
            reachable.append("\(Self.describe(i, problem, short: true)) up to \(number(most))")
        }
        return "the floors cannot all be met together, though each alone can (\(reachable.joined(separator: ", ")))"
    }

    /// A bound or a reach for people: whole numbers grouped (3,000), others to 6 digits.
    private static func number(_ x: Double) -> String {
        x == x.rounded() ? Readable.grouped(x, decimals: 0) : Readable.significant(x, 6)
    }

    /// "spend floor of budget cash", "coupon floor c7", "constraint new_users", "min_roi".
    private static func describe(_ i: Int, _ problem: Problem, short: Bool = false) -> String {
        let rules = problem.rules
        let name = rules.name(i, in: problem)
        guard i < rules.generalStart else { return short ? name : "constraint \(name)" }
        switch rules.kinds[i] {
        case .budget: return short ? name : "spend floor of budget \(name)"
        case .couponCap: return short ? name : "coupon floor \(name)"
        case .minROI: return name
        }
    }
}
