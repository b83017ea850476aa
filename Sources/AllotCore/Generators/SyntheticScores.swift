import RealModule

/// Realistic synthetic scores, as `allot generate` writes them. The model is in
/// docs/generator.md; in short:
///
/// - coupon `c` (0-based) has face value `5 x (c + 1)` and channel `channels[c % channels.count]`;
/// - user `u` has a responsiveness `a ~ LogNormal(0, 0.8)`, a redemption propensity
///   `b ~ Normal(-1, 0.8)` and a returns exponent `s ~ Uniform(0.3, 0.9)`; 8% of users are
///   "sleeping dogs" whose mean response is negative;
/// - mean uplift `= a x 12 x (face / 5)^s x channelFactor` (diminishing returns in face value),
///   observed with multiplicative and additive noise, so some uplifts are negative;
/// - redemption probability `p = sigmoid(b + 0.35 ln face)` and `cost = face x p`.
///
/// The campaign shape (`couponsPerUser` set): many coupons, each user eligible for
/// `couponsPerUser` of them, drawn without repetition with probability proportional to
/// `1 / rank^popularitySkew` (coupon 1 the most popular); face values cycle through 5, 10, ...,
/// 50 (`5 x (c mod 10 + 1)`), and a user's candidates come in coupon order.
///
/// Values are rounded to 4 decimals so that a generated table and its CSV are equal.
public struct SyntheticScores: Sendable {
    public var users: Int
    public var coupons: Int
    public var channels: [String]
    public var seed: UInt64
    /// Each user eligible for this many coupons (the campaign shape); nil: for every coupon.
    public var couponsPerUser: Int?
    /// Zipf exponent of the coupons' popularity in the campaign shape.
    public var popularitySkew: Double

    public init(users: Int, coupons: Int, channels: [String] = [], seed: UInt64 = 1,
                couponsPerUser: Int? = nil, popularitySkew: Double = 1) {
        self.users = users
        self.coupons = coupons
        self.channels = channels
        self.seed = seed
        self.couponsPerUser = couponsPerUser.map { min($0, coupons) }
        self.popularitySkew = popularitySkew
    }

    /// Candidates per user.
    public var perUser: Int { couponsPerUser ?? coupons }

    static let channelFactors: [Double] = [1.0, 0.8, 1.2, 0.9, 1.1]

    /// Calls `body(user, coupon, uplift, cost)` for every candidate, grouped by user.
    /// - Complexity: O(users x coupons).
    func forEachCandidate(_ body: (Int, Int, Double, Double) -> Void) {
        var rng = SeededGenerator(seed: seed)
        var face = [Double](repeating: 0, count: coupons)
        var logFace = face
        var factor = face
        for c in 0..<coupons {
            face[c] = 5 * Double(couponsPerUser == nil ? c + 1 : c % 10 + 1)
            logFace[c] = Double.log(face[c])
            factor[c] = channels.isEmpty ? 1 : Self.channelFactors[(c % channels.count) % Self.channelFactors.count]
        }
        let popularity = couponsPerUser == nil ? [] : cumulativePopularity()
        var eligible = Array(0..<perUser)
        var seen = [Int32](repeating: -1, count: couponsPerUser == nil ? 0 : coupons)
        for u in 0..<users {
            let a = Double.exp(0.8 * rng.nextNormal())
            let b = -1 + 0.8 * rng.nextNormal()
            let s = 0.3 + 0.6 * rng.nextUnit()
            let sign: Double = rng.nextUnit() < 0.08 ? -0.5 : 1
            if couponsPerUser != nil {
                // Distinct coupons by popularity (rejection: a user holds few of many coupons).
                var k = 0
                while k < eligible.count {
                    let c = Self.draw(popularity, rng.nextUnit())
                    if seen[c] == Int32(truncatingIfNeeded: u) { continue }
                    seen[c] = Int32(truncatingIfNeeded: u)
                    eligible[k] = c
                    k += 1
                }
                eligible.sort()
            }
            for c in eligible {
                let mean = sign * a * 12 * Double.exp(s * (logFace[c] - logFace[0])) * factor[c]
                let uplift = mean * (1 + 0.3 * rng.nextNormal()) + 3 * rng.nextNormal()
                let p = 1 / (1 + Double.exp(-(b + 0.35 * logFace[c])))
                body(u, c, Self.round4(uplift), Self.round4(face[c] * p))
            }
        }
    }

    /// Cumulative popularity weights `Σ_{r <= c} 1 / r^skew`, normalised to end at 1.
    private func cumulativePopularity() -> [Double] {
        var total = 0.0
        var cumulative = [Double](repeating: 0, count: coupons)
        for c in 0..<coupons {
            total += Double.exp(-popularitySkew * Double.log(Double(c + 1)))
            cumulative[c] = total
        }
        return cumulative.map { $0 / total }
    }

    /// The first coupon whose cumulative weight exceeds `x` in [0, 1).
    private static func draw(_ cumulative: [Double], _ x: Double) -> Int {
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    @inline(__always)
    static func round4(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }

    /// The scores as a table, built directly in memory (no CSV): for benchmarks at 1e8
    /// candidates. About 20 bytes per candidate.
    public func table() -> CandidateTable {
        let n = users * perUser
        var coupon = [Int32](repeating: 0, count: n)
        var uplift = [Double](repeating: 0, count: n)
        var cost = [Double](repeating: 0, count: n)
        var k = 0
        forEachCandidate { _, c, u, w in
            coupon[k] = Int32(c)
            uplift[k] = u
            cost[k] = w
            k += 1
        }
        let channel: [Int32] = channels.isEmpty ? [] : coupon.map { $0 % Int32(channels.count) }
        return CandidateTable(userIDs: (0..<users).map(Self.userID), couponIDs: (0..<coupons).map(Self.couponID),
                              channelNames: channels, userStart: (0...users).map { $0 * perUser },
                              coupon: coupon, channel: channel, uplift: uplift, columnNames: ["cost"], columns: [cost])
    }

    static func userID(_ u: Int) -> String { "u\(u + 1)" }
    static func couponID(_ c: Int) -> String { "c\(c + 1)" }

    /// The scores as CSV bytes: `user_id,coupon_id,uplift,cost[,channel]`.
    /// - Complexity: O(users x coupons).
    public func csv() -> [UInt8] { csv(draws: 0, noise: nil) }

    /// The CSV writer of `csv()` and `noisyCSV(noise:)`: with `noise`, each row's uplift is
    /// `noise(trueUplift).uplift`, followed by the columns `uplift_se,true_uplift` and `draws`
    /// columns `uplift_1 ... uplift_B`.
    func csv(draws: Int, noise: ((Double) -> (uplift: Double, se: Double, draws: [Double]))?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(users * perUser * ((channels.isEmpty ? 28 : 34) + (noise == nil ? 0 : 16 + 9 * draws)) + 64)
        let header = "user_id,coupon_id,uplift,cost" + (channels.isEmpty ? "" : ",channel")
            + (noise == nil ? "" : ",uplift_se,true_uplift") + (1...max(1, draws)).map { draws > 0 ? ",uplift_\($0)" : "" }.joined() + "\n"
        out.append(contentsOf: header.utf8)
        let couponBytes = (0..<coupons).map { Array(Self.couponID($0).utf8) }
        let channelBytes = channels.map { Array($0.utf8) }
        var userBytes: [UInt8] = []
        var lastUser = -1
        forEachCandidate { u, c, trueUplift, cost in
            let noisy = noise?(trueUplift)
            if u != lastUser { userBytes = Array(Self.userID(u).utf8); lastUser = u }
            out.append(contentsOf: userBytes)
            out.append(0x2C)
            out.append(contentsOf: couponBytes[c])
            out.append(0x2C)
            appendFixed4(noisy?.uplift ?? trueUplift, to: &out)
            out.append(0x2C)
            appendFixed4(cost, to: &out)
            if !channels.isEmpty {
                out.append(0x2C)
                out.append(contentsOf: channelBytes[c % channels.count])
            }
            if let noisy {
                out.append(0x2C)
                appendFixed4(noisy.se, to: &out)
                out.append(0x2C)
                appendFixed4(trueUplift, to: &out)
                for d in noisy.draws {
                    out.append(0x2C)
                    appendFixed4(d, to: &out)
                }
            }
            out.append(0x0A)
        }
        return out
    }
}

extension SyntheticScores {
    /// The spec of the campaign shape for `table` (these scores): one cash budget of
    /// `budgetFraction` of the spend of giving every user its best coupon, every coupon capped
    /// at `capShare` of its demand (the users with positive uplift for it, at least 1), and
    /// `maxPerUser`.
    public static func campaignSpec(_ table: CandidateTable, capShare: Double, budgetFraction: Double,
                                    maxPerUser: Int) -> AllocationSpec {
        var demand = [Int](repeating: 0, count: table.couponCount)
        for j in 0..<table.count where table.uplift[j] > 0 { demand[Int(table.coupon[j])] += 1 }
        var spec = AllocationSpec(budgets: [.init(name: "cash", limit: (table.spendOfBestCandidates() * budgetFraction).rounded())],
                                  maxPerUser: maxPerUser)
        spec.couponCaps = Dictionary(uniqueKeysWithValues: (0..<table.couponCount).map {
            (table.couponIDs[$0], max(1, Int((Double(demand[$0]) * capShare).rounded())))
        })
        return spec
    }
}

extension AllocationSpec {
    /// The spec as JSON, in the format `parse` reads.
    public var json: String {
        func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)" }
        func quoted(_ s: String) -> String {
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where ch.value < 0x20: out += "\\u00" + (ch.value < 0x10 ? "0" : "") + String(ch.value, radix: 16)
                default: out.unicodeScalars.append(ch)
                }
            }
            return out + "\""
        }
        var parts: [String] = []
        let budgets = budgets.map { "{\"name\":\(quoted($0.name)),\"column\":\(quoted($0.column)),\"limit\":\(number($0.limit))}" }
        parts.append("\"budgets\":[" + budgets.joined(separator: ",") + "]")
        if let maxPerUser { parts.append("\"max_per_user\":\(maxPerUser)") }
        if !couponCaps.isEmpty {
            parts.append("\"coupon_caps\":{" + couponCaps.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\($0.value)" }.joined(separator: ",") + "}")
        }
        if !channelCaps.isEmpty {
            parts.append("\"channel_caps\":{" + channelCaps.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\($0.value)" }.joined(separator: ",") + "}")
        }
        if let minROI { parts.append("\"min_roi\":\(number(minROI))") }
        return "{" + parts.joined(separator: ",") + "}\n"
    }
}

/// Appends `x` with 4 decimals, trailing zeros dropped (1.5, 0.0001, -3).
func appendFixed4(_ x: Double, to out: inout [UInt8]) {
    var scaled = Int64((x * 1e4).rounded())
    if scaled < 0 { out.append(0x2D); scaled = -scaled }
    let whole = scaled / 10_000
    var frac = Int(scaled % 10_000)
    appendInteger(whole, to: &out)
    if frac == 0 { return }
    var digits = 4
    while frac % 10 == 0 { frac /= 10; digits -= 1 }
    out.append(0x2E)
    var buf: [UInt8] = [0x30, 0x30, 0x30, 0x30]
    var k = digits - 1
    while k >= 0 { buf[k] = UInt8(0x30 + frac % 10); frac /= 10; k -= 1 }
    out.append(contentsOf: buf[0..<digits])
}

func appendInteger(_ v: Int64, to out: inout [UInt8]) {
    if v == 0 { out.append(0x30); return }
    var x = v
    var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
              UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0
    withUnsafeMutableBytes(of: &tmp) { p in
        while x > 0 { p[n] = UInt8(0x30 + x % 10); x /= 10; n += 1 }
        for k in stride(from: n - 1, through: 0, by: -1) { out.append(p[k]) }
    }
}
