/// A validated allocation problem: scores plus constraints resolved to indices.
///
/// Maximise the total uplift of the chosen candidates subject to:
/// - each budget `b`: the sum of its column over chosen candidates is at most `limit`;
/// - each user receives at most `maxPerUser` candidates;
/// - each user receives at most `channelCaps[h]` candidates of channel `h`;
/// - each coupon `c` goes to at most `couponCaps[c]` users;
/// - if `minROI` is set: total uplift >= minROI x total cost.
public struct Problem: Sendable {
    public struct Budget: Equatable, Sendable {
        public var name: String
        /// Index into `candidates.columns`.
        public var column: Int
        public var limit: Double
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
    public let minROI: Double?
    /// The constraints in one linear form, read by every engine and the verifier.
    package private(set) var rules: ConstraintRules

    /// Resolves `spec` against `candidates`.
    ///
    /// - Parameters:
    ///   - candidates: the scores.
    ///   - spec: the constraints, by name.
    ///   - specName: the spec's file name, used in error messages.
    /// - Throws: `InputError` naming `specName` for an unknown coupon, channel or column, a
    ///   negative or non-finite limit, or a cap below its minimum.
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
            guard names.insert(b.name).inserted else { throw fail("two budgets are named '\(b.name)'") }
            budgets.append(Budget(name: b.name, column: column, limit: b.limit))
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
        rules = ConstraintRules(candidates: candidates, budgets: budgets, couponCaps: couponCaps, minROI: minROI)
    }

    /// The same problem with budget `b`'s limit set to `limit` (>= 0).
    public func withLimit(_ limit: Double, ofBudget b: Int) -> Problem {
        var copy = self
        copy.budgets[b].limit = max(0, limit)
        copy.rules = ConstraintRules(candidates: candidates, budgets: copy.budgets, couponCaps: couponCaps, minROI: minROI)
        return copy
    }

    /// The same constraints over the candidates of `users` only (limits unchanged).
    /// - Complexity: O(their candidates).
    package func restricted(toUsers users: [Int]) -> Problem {
        var copy = self
        copy.candidates = candidates.restricted(toUsers: users)
        copy.rules = ConstraintRules(candidates: copy.candidates, budgets: budgets, couponCaps: couponCaps, minROI: minROI)
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

    /// Whether any per-channel cap is set.
    public var hasChannelCaps: Bool { channelCaps.contains { $0 != Problem.uncapped } }
}
