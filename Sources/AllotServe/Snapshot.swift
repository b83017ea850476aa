import AllotCore
import Foundation

/// What live decisions need from an offline solve: the constraints, the dual's multiplier of
/// every relaxed constraint, and the spend plan over the day (docs/serve.md).
///
/// Written as pretty JSON with sorted keys; `version` is the sha256 (hex) of the same document
/// written without its `version` key, so two snapshots with the same content have the same
/// version whatever wrote them.
public struct Snapshot: Equatable, Sendable {
    /// One budget: its limit, the column it limits, and its multiplier `λ`.
    public struct Budget: Codable, Equatable, Sendable {
        public var name: String
        public var column: String
        public var limit: Double
        public var multiplier: Double
        public init(name: String, column: String, limit: Double, multiplier: Double) {
            self.name = name
            self.column = column
            self.limit = limit
            self.multiplier = multiplier
        }
    }

    /// One capped coupon: at most `cap` users, multiplier `μ`.
    public struct CouponCap: Codable, Equatable, Sendable {
        public var cap: Int
        public var multiplier: Double
        public init(cap: Int, multiplier: Double) {
            self.cap = cap
            self.multiplier = multiplier
        }
    }

    public var budgets: [Budget]
    public var couponCaps: [String: CouponCap]
    public var maxPerUser: Int
    public var channelCaps: [String: Int]
    public var minROI: Double?
    /// The multiplier `ρ` of the ROI floor `Σ (r cost - uplift) x <= 0`; 0 without a floor.
    public var roiMultiplier: Double
    /// The spend plan: weights of equal slots of the day (non-negative, positive sum). The plan
    /// of a limit `L` at time `t ∈ [0, 1]` is `L` times the weight of the slots before `t`,
    /// linear within a slot. `[1]` is uniform.
    public var profile: [Double]
    /// The coupon ids of the solve, sorted: with coupon caps, a decision refuses any other.
    public var coupons: [String]
    /// How many users the solve had (the forecast of the day's arrivals).
    public var forecastUsers: Int

    public init(budgets: [Budget], couponCaps: [String: CouponCap] = [:], maxPerUser: Int = 1,
                channelCaps: [String: Int] = [:], minROI: Double? = nil, roiMultiplier: Double = 0,
                profile: [Double] = [1], coupons: [String] = [], forecastUsers: Int = 0) {
        self.coupons = coupons.sorted()
        self.forecastUsers = forecastUsers
        self.budgets = budgets
        self.couponCaps = couponCaps
        self.maxPerUser = maxPerUser
        self.channelCaps = channelCaps
        self.minROI = minROI
        self.roiMultiplier = roiMultiplier
        self.profile = profile
    }

    /// The snapshot of a solved problem: its constraints and the solution's shadow prices (a
    /// constraint without one, as from a method with no dual, gets multiplier 0).
    /// - Complexity: O(budgets + coupons + shadow prices).
    public init(problem: Problem, solution: Solution, profile: [Double] = [1]) throws {
        func price(_ kind: ShadowPrice.Kind, _ name: String) -> Double {
            max(0, solution.shadowPrices.first { $0.kind == kind && $0.name == name }?.value ?? 0)
        }
        let t = problem.candidates
        budgets = problem.budgets.map {
            Budget(name: $0.name, column: t.columnNames[$0.column], limit: $0.limit, multiplier: price(.budget, $0.name))
        }
        var caps: [String: CouponCap] = [:]
        for c in 0..<t.couponCount {
            if let cap = problem.cap(ofCoupon: c) { caps[t.couponIDs[c]] = CouponCap(cap: cap, multiplier: price(.couponCap, t.couponIDs[c])) }
        }
        couponCaps = caps
        maxPerUser = problem.maxPerUser
        var channels: [String: Int] = [:]
        for h in 0..<t.channelCount {
            if let cap = problem.cap(ofChannel: h) { channels[t.channelNames[h]] = cap }
        }
        channelCaps = channels
        minROI = problem.minROI
        roiMultiplier = problem.minROI == nil ? 0 : price(.minROI, "min_roi")
        self.profile = profile
        coupons = t.couponIDs.sorted()
        forecastUsers = t.userCount
        try validate(file: "snapshot")
    }

    /// The sha256 of the document without its version: the snapshot's identity.
    public var version: String {
        var hash = SHA256()
        hash.update(Array(Self.json(Content(self), version: nil).utf8))
        return SHA256.hex(hash.finalize())
    }

    /// The document: pretty JSON with sorted keys, its `version` included, ending in a newline.
    public func json() -> String { Self.json(Content(self), version: version) }

    /// Reads a snapshot file.
    /// - Throws: `InputError` naming `file` for malformed JSON, a missing or mistyped key, a
    ///   bad value (negative limit or multiplier, empty profile), or a version that is not the
    ///   sha256 of the content.
    public static func parse(_ data: Data, file: String) throws -> Snapshot {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw InputError(file: file, "missing key '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw InputError(file: file, "key '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw InputError(file: file, "key '\(context.codingPath.map(\.stringValue).joined(separator: "."))' is null")
        } catch {
            throw InputError(file: file, "not a snapshot: the file is not valid JSON")
        }
        guard document.format == Self.format else {
            throw InputError(file: file, "format is '\(document.format)'; this version of allot reads '\(Self.format)'")
        }
        let snapshot = document.content.snapshot
        try snapshot.validate(file: file)
        let version = snapshot.version
        guard document.version == version else {
            throw InputError(file: file, "version \(document.version) is not the sha256 of the content (\(version)): the file was altered")
        }
        return snapshot
    }

    /// Reads the snapshot file at `path`.
    public static func load(path: String) throws -> Snapshot {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read the snapshot file")
        }
        return try parse(data, file: path)
    }

    /// The snapshot's constraints as a spec file (`AllocationSpec`'s JSON), to resolve scores
    /// against them.
    public var specJSON: String {
        struct SpecBudget: Encodable { var name: String; var column: String; var limit: Double }
        struct Spec: Encodable {
            var budgets: [SpecBudget]
            var max_per_user: Int
            var coupon_caps: [String: Int]
            var channel_caps: [String: Int]
            var min_roi: Double?
        }
        return prettyJSON(Spec(budgets: budgets.map { SpecBudget(name: $0.name, column: $0.column, limit: $0.limit) },
                               max_per_user: maxPerUser, coupon_caps: couponCaps.mapValues(\.cap),
                               channel_caps: channelCaps, min_roi: minROI))
    }

    /// The identifier of the format, written in every snapshot.
    public static let format = "allot-snapshot-1"

    func validate(file: String) throws {
        func fail(_ message: String) -> InputError { InputError(file: file, message) }
        var names = Set<String>()
        for b in budgets {
            guard names.insert(b.name).inserted else { throw fail("two budgets are named '\(b.name)'") }
            guard b.limit.isFinite, b.limit >= 0 else { throw fail("budget '\(b.name)' has limit \(b.limit); it must be a finite number >= 0") }
            guard b.multiplier.isFinite, b.multiplier >= 0 else { throw fail("budget '\(b.name)' has multiplier \(b.multiplier); it must be a finite number >= 0") }
        }
        for (c, cap) in couponCaps.sorted(by: { $0.key < $1.key }) {
            guard cap.cap >= 0 else { throw fail("coupon cap of '\(c)' is \(cap.cap); it must be >= 0") }
            guard cap.multiplier.isFinite, cap.multiplier >= 0 else { throw fail("coupon cap of '\(c)' has multiplier \(cap.multiplier); it must be a finite number >= 0") }
        }
        guard maxPerUser >= 1 else { throw fail("max_per_user is \(maxPerUser); it must be at least 1") }
        for (h, cap) in channelCaps.sorted(by: { $0.key < $1.key }) where cap < 0 {
            throw fail("channel cap of '\(h)' is \(cap); it must be >= 0")
        }
        if let r = minROI, !(r.isFinite && r >= 0) { throw fail("min_roi is \(r); it must be a finite number >= 0") }
        guard roiMultiplier.isFinite, roiMultiplier >= 0 else { throw fail("roi_multiplier is \(roiMultiplier); it must be a finite number >= 0") }
        guard forecastUsers >= 0 else { throw fail("forecast_users is \(forecastUsers); it must be >= 0") }
        for c in couponCaps.keys.sorted() where !coupons.isEmpty && Set(coupons).isDisjoint(with: [c]) {
            throw fail("coupon cap of '\(c)' names a coupon that is not in the snapshot's coupons")
        }
        guard !profile.isEmpty, profile.allSatisfy({ $0.isFinite && $0 >= 0 }), profile.reduce(0, +) > 0 else {
            throw fail("profile must be a non-empty list of finite weights >= 0 with a positive sum")
        }
    }

    /// The fraction of each limit that the plan has spent by time `t` (clamped to [0, 1]).
    /// - Complexity: O(profile slots).
    public func plannedFraction(at t: Double) -> Double {
        let t = min(1, max(0, t.isNaN ? 0 : t))
        let total = profile.reduce(0, +)
        let position = t * Double(profile.count)
        let whole = min(Int(position), profile.count)
        var done = profile[..<whole].reduce(0, +)
        if whole < profile.count { done += profile[whole] * (position - Double(whole)) }
        return min(1, done / total)
    }

    /// Parses a profile: comma-separated non-negative weights of equal slots of the day.
    public static func parseProfile(_ text: String) -> [Double]? {
        let weights = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !weights.isEmpty, weights.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }) else { return nil }
        let values = weights.map { $0! }
        return values.reduce(0, +) > 0 ? values : nil
    }

    // The file's shape.
    private struct Content: Codable {
        var budgets: [Budget]
        var coupon_caps: [String: CouponCap]
        var max_per_user: Int
        var channel_caps: [String: Int]
        var min_roi: Double?
        var roi_multiplier: Double
        var profile: [Double]
        var coupons: [String]
        var forecast_users: Int
        init(_ s: Snapshot) {
            coupons = s.coupons
            forecast_users = s.forecastUsers
            budgets = s.budgets
            coupon_caps = s.couponCaps
            max_per_user = s.maxPerUser
            channel_caps = s.channelCaps
            min_roi = s.minROI
            roi_multiplier = s.roiMultiplier
            profile = s.profile
        }
        var snapshot: Snapshot {
            Snapshot(budgets: budgets, couponCaps: coupon_caps, maxPerUser: max_per_user, channelCaps: channel_caps,
                     minROI: min_roi, roiMultiplier: roi_multiplier, profile: profile,
                     coupons: coupons, forecastUsers: forecast_users)
        }
    }

    private struct Document: Decodable {
        var format: String
        var version: String
        var content: Content
    }

    private struct Written: Encodable {
        var format: String
        var version: String?
        var content: Content
    }

    private static func json(_ content: Content, version: String?) -> String {
        prettyJSON(Written(format: format, version: version, content: content))
    }
}
