/// A validated allocation problem: scores plus constraints resolved to indices.
///
/// Maximise the total uplift of the chosen candidates subject to:
/// - each budget `b`: the sum of its column over chosen candidates is at most `limit` (and at
///   least `min` when set: a spend floor);
/// - each user receives at most `maxPerUser` candidates;
/// - each user receives at most `channelCaps[h]` candidates of channel `h`;
/// - each coupon `c` goes to at most `couponCaps[c]` users, and at least its floor;
/// - if `minROI` is set: total uplift >= minROI x total cost;
/// - each general row `r` of `rows`: `min <= Σ column_j x_j <= max` for either bound or both.
///
/// A problem with a floor (a budget's `min`, a coupon floor, a row's `min`) or a general row
/// (whose `max` may be below 0) can be infeasible: `hasFloorsOrRows` tells.
public struct Problem: Sendable {
    public struct Budget: Equatable, Sendable {
        public var name: String
        /// Index into `candidates.columns`.
        public var column: Int
        public var limit: Double
        /// The spend floor: the sum must be at least this (0 <= min <= limit), when set.
        public var min: Double? = nil
    }

    /// A general row: `min <= Σ_j column_j x_j <= max`, with `min`, `max` or both.
    public struct Row: Equatable, Sendable {
        /// The `uplift` column as a row's `column`.
        public static let upliftColumn = -1
        public var name: String
        /// Index into `candidates.columns`, or `Row.upliftColumn`.
        public var column: Int
        public var min: Double?
        public var max: Double?
    }

    /// No cap: the value of `couponCaps` and `channelCaps` for an uncapped coupon or channel.
    /// Internal to the engines' hot loops; the public face is `cap(ofCoupon:)`.
    package static let uncapped = Int.max

    public private(set) var candidates: CandidateTable
    public private(set) var budgets: [Budget]
    public let maxPerUser: Int
    /// Per coupon index; `Problem.uncapped` when the spec sets none.
    package let couponCaps: [Int]
    /// Per channel index; `Problem.uncapped` when the spec sets none.
    package let channelCaps: [Int]
    /// Per coupon index, how many users must at least receive it (0 when the spec sets none).
    package private(set) var couponFloors: [Int]
    /// The general rows (`constraints` in the spec), in spec order.
    public private(set) var rows: [Row]
    public let minROI: Double?
    /// The constraints in one linear form, read by every engine and the verifier.
    package private(set) var rules: ConstraintRules

    /// Resolves `spec` against `candidates`.
    ///
    /// - Parameters:
    ///   - candidates: the scores.
    ///   - spec: the constraints, by name.
    ///   - specName: the spec's file name, used in error messages.
    /// - Throws: `InputError` naming `specName` and the key for an unknown coupon, channel or
    ///   column, a negative or non-finite limit or bound, a cap below its minimum, a `min`
    ///   above its limit (or `max`), or a floor above its coupon's cap.
    /// - Complexity: O(coupons + channels + budgets).
    public init(candidates: CandidateTable, spec: AllocationSpec, specName: String = "spec") throws {
        func fail(_ message: String) -> InputError { InputError(file: specName, message) }
        self.candidates = candidates
        var budgets: [Budget] = []
        var names = Set<String>()
        for b in spec.budgets {
            guard let column = candidates.column(named: b.column) else {
                throw fail("budget '\(b.name)' names column '\(b.column)', which the scores do not have (columns: \(candidates.columnNames.joined(separator: ", ")))")
            }
            guard b.limit.isFinite, b.limit >= 0 else {
                throw fail("budget '\(b.name)' has limit \(b.limit); a limit must be a finite number >= 0")
            }
            if let m = b.min {
                guard m.isFinite, m >= 0 else {
                    throw fail("budget '\(b.name)' has min \(m); a min must be a finite number >= 0")
                }
                guard m <= b.limit else { throw fail("budget '\(b.name)' has min \(m) > limit \(b.limit)") }
            }
            guard names.insert(b.name).inserted else { throw fail("two budgets are named '\(b.name)'") }
            budgets.append(Budget(name: b.name, column: column, limit: b.limit, min: b.min))
        }
        self.budgets = budgets
        let frequency = spec.maxPerUser ?? 1
        guard frequency >= 1 else { throw fail("max_per_user is \(frequency); it must be at least 1") }
        maxPerUser = frequency

        var couponCaps = [Int](repeating: Problem.uncapped, count: candidates.couponCount)
        if !spec.couponCaps.isEmpty {
            let index = Dictionary(uniqueKeysWithValues: candidates.couponIDs.enumerated().map { ($1, $0) })
            for (coupon, cap) in spec.couponCaps.sorted(by: { $0.key < $1.key }) {
                guard let c = index[coupon] else {
                    throw fail("coupon_caps names coupon '\(coupon)', which is not in the scores")
                }
                guard cap >= 0 else { throw fail("coupon_caps['\(coupon)'] is \(cap); a cap must be >= 0") }
                couponCaps[c] = cap
            }
        }
        self.couponCaps = couponCaps

        var couponFloors = [Int](repeating: 0, count: candidates.couponCount)
        if !spec.couponFloors.isEmpty {
            let index = Dictionary(uniqueKeysWithValues: candidates.couponIDs.enumerated().map { ($1, $0) })
            for (coupon, floor) in spec.couponFloors.sorted(by: { $0.key < $1.key }) {
                guard let c = index[coupon] else {
                    throw fail("coupon_floors names coupon '\(coupon)', which is not in the scores")
                }
                guard floor >= 0 else { throw fail("coupon_floors['\(coupon)'] is \(floor); a floor must be >= 0") }
                if couponCaps[c] != Problem.uncapped, floor > couponCaps[c] {
                    throw fail("coupon_floors['\(coupon)'] is \(floor) > its cap \(couponCaps[c]) in coupon_caps")
                }
                couponFloors[c] = floor
            }
        }
        self.couponFloors = couponFloors

        var channelCaps = [Int](repeating: Problem.uncapped, count: candidates.channelCount)
        for (channel, cap) in spec.channelCaps.sorted(by: { $0.key < $1.key }) {
            guard let h = candidates.channelNames.firstIndex(of: channel) else {
                let known = candidates.channelNames.isEmpty ? "the scores have no channel column"
                    : "channels: \(candidates.channelNames.joined(separator: ", "))"
                throw fail("channel_caps names channel '\(channel)', which is not in the scores (\(known))")
            }
            guard cap >= 0 else { throw fail("channel_caps['\(channel)'] is \(cap); a cap must be >= 0") }
            channelCaps[h] = cap
        }
        self.channelCaps = channelCaps

        if let r = spec.minROI {
            guard r.isFinite, r >= 0 else { throw fail("min_roi is \(r); it must be a finite number >= 0") }
        }
        minROI = spec.minROI

        var rows: [Row] = []
        var rowNames = Set<String>()
        for (k, r) in spec.constraints.enumerated() {
            let key = "constraints[\(k)] '\(r.name)'"
            guard rowNames.insert(r.name).inserted else { throw fail("\(key): two constraints are named '\(r.name)'") }
            let column: Int
            if r.column == "uplift" {
                column = Row.upliftColumn
            } else if let c = candidates.column(named: r.column) {
                column = c
            } else {
                throw fail("\(key) names column '\(r.column)', which the scores do not have as a numeric column (numeric: uplift, \(candidates.columnNames.joined(separator: ", ")))")
            }
            guard r.min != nil || r.max != nil else { throw fail("\(key) has neither 'min' nor 'max'") }
            for (side, value) in [("min", r.min), ("max", r.max)] {
                if let v = value, !v.isFinite { throw fail("\(key) has \(side) \(v); a bound must be a finite number") }
            }
            if let lo = r.min, let hi = r.max, lo > hi { throw fail("\(key) has min \(lo) > max \(hi)") }
            rows.append(Row(name: r.name, column: column, min: r.min, max: r.max))
        }
        self.rows = rows
        rules = ConstraintRules(candidates: candidates, budgets: budgets, couponCaps: couponCaps, couponFloors: couponFloors,
                                minROI: minROI, rows: rows)
    }

    /// The rules of this problem's constraints over `table` (its candidates, or a part of them).
    private func makeRules(_ table: CandidateTable, budgets: [Budget]) -> ConstraintRules {
        ConstraintRules(candidates: table, budgets: budgets, couponCaps: couponCaps, couponFloors: couponFloors,
                        minROI: minROI, rows: rows)
    }

    /// The same problem with budget `b`'s limit set to `limit` (>= 0).
    public func withLimit(_ limit: Double, ofBudget b: Int) -> Problem {
        var copy = self
        copy.budgets[b].limit = max(0, limit)
        if let m = copy.budgets[b].min { copy.budgets[b].min = Swift.min(m, copy.budgets[b].limit) }
        copy.rules = copy.makeRules(copy.candidates, budgets: copy.budgets)
        return copy
    }

    /// The same problem with the floor named `name` set to `level`: the `min` of the general
    /// row of that name, else of the budget of that name, else the floor of the coupon of that
    /// id (`level` rounded up to a whole count). A `min` above its `max` or limit, or a coupon
    /// floor above its cap, makes a problem no allocation meets (`infeasible`).
    ///
    /// - Throws: `InputError` when no row, budget or coupon has that name, or `level` is not
    ///   finite.
    /// - Complexity: O(rows + budgets + coupons).
    public func withFloor(_ level: Double, named name: String) throws -> Problem {
        guard level.isFinite else { throw InputError(file: "floor", "floor '\(name)' at \(level): a floor must be a finite number") }
        var copy = self
        if let k = rows.firstIndex(where: { $0.name == name }) {
            copy.rows[k].min = level
        } else if let b = budgets.firstIndex(where: { $0.name == name }) {
            copy.budgets[b].min = Swift.max(0, level)
        } else if let c = candidates.couponIDs.firstIndex(of: name) {
            copy.couponFloors[c] = Swift.max(0, Int(level.rounded(.up)))
        } else {
            let names = rows.map(\.name) + budgets.map(\.name)
            throw InputError(file: "floor", "no constraint, budget or coupon is named '\(name)' (constraints and budgets: \(names.joined(separator: ", ")))")
        }
        copy.rules = copy.makeRules(copy.candidates, budgets: copy.budgets)
        return copy
    }

    /// The same problem with candidate `j`'s uplift `uplift[j]` (the uncertainty options'
    /// solver uplift, `UncertainProblem`). - Complexity: O(n).
    package func withUplift(_ uplift: [Double]) -> Problem {
        var copy = self
        let t = candidates
        copy.candidates = CandidateTable(userIDs: t.userIDs, couponIDs: t.couponIDs, channelNames: t.channelNames,
                                         userStart: t.userStart, coupon: t.coupon, channel: t.channel, uplift: uplift,
                                         columnNames: t.columnNames, columns: t.columns)
        copy.rules = makeRules(copy.candidates, budgets: budgets)
        return copy
    }

    /// The same constraints over the candidates of `users` only (limits unchanged).
    /// - Complexity: O(their candidates).
    package func restricted(toUsers users: [Int]) -> Problem {
        var copy = self
        copy.candidates = candidates.restricted(toUsers: users)
        copy.rules = makeRules(copy.candidates, budgets: budgets)
        return copy
    }

    /// How many users may receive coupon `c` (an index into `candidates.couponIDs`), or nil
    /// when uncapped.
    /// - Complexity: O(1).
    public func cap(ofCoupon c: Int) -> Int? { couponCaps[c] == Problem.uncapped ? nil : couponCaps[c] }

    /// How many incentives of channel `h` (an index into `candidates.channelNames`) one user
    /// may receive, or nil when uncapped.
    /// - Complexity: O(1).
    public func cap(ofChannel h: Int) -> Int? { channelCaps[h] == Problem.uncapped ? nil : channelCaps[h] }

    /// How many users must at least receive coupon `c`, or nil when the spec sets no floor.
    /// - Complexity: O(1).
    public func floor(ofCoupon c: Int) -> Int? { couponFloors[c] > 0 ? couponFloors[c] : nil }

    /// Whether some constraint is a floor (`x = 0` may break it) or a general row: what the
    /// dual method does not take yet, and the MILP methods do.
    public var hasFloorsOrRows: Bool { rules.hasFloors || !rows.isEmpty }

    /// Whether any per-channel cap is set.
    public var hasChannelCaps: Bool { channelCaps.contains { $0 != Problem.uncapped } }
}
