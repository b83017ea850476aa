#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
/// Values are rounded to 4 decimals so that a generated table and its CSV are equal.
public struct SyntheticScores: Sendable {
    public var users: Int
    public var coupons: Int
    public var channels: [String]
    public var seed: UInt64

    public init(users: Int, coupons: Int, channels: [String] = [], seed: UInt64 = 1) {
        self.users = users
        self.coupons = coupons
        self.channels = channels
        self.seed = seed
    }

    static let channelFactors: [Double] = [1.0, 0.8, 1.2, 0.9, 1.1]

    /// Calls `body(user, coupon, uplift, cost)` for every candidate, grouped by user.
    /// - Complexity: O(users x coupons).
    func forEachCandidate(_ body: (Int, Int, Double, Double) -> Void) {
        var rng = SeededGenerator(seed: seed)
        var face = [Double](repeating: 0, count: coupons)
        var logFace = face
        var factor = face
        for c in 0..<coupons {
            face[c] = 5 * Double(c + 1)
            logFace[c] = log(face[c])
            factor[c] = channels.isEmpty ? 1 : Self.channelFactors[(c % channels.count) % Self.channelFactors.count]
        }
        for u in 0..<users {
            let a = exp(0.8 * rng.nextNormal())
            let b = -1 + 0.8 * rng.nextNormal()
            let s = 0.3 + 0.6 * rng.nextUnit()
            let sign: Double = rng.nextUnit() < 0.08 ? -0.5 : 1
            for c in 0..<coupons {
                let mean = sign * a * 12 * exp(s * (logFace[c] - logFace[0])) * factor[c]
                let uplift = mean * (1 + 0.3 * rng.nextNormal()) + 3 * rng.nextNormal()
                let p = 1 / (1 + exp(-(b + 0.35 * logFace[c])))
                body(u, c, Self.round4(uplift), Self.round4(face[c] * p))
            }
        }
    }

    @inline(__always)
    static func round4(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }

    /// The scores as a table, built directly in memory (no CSV): for benchmarks at 1e8
    /// candidates. About 20 bytes per candidate.
    public func table() -> CandidateTable {
        let n = users * coupons
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
        let channel: [Int32] = channels.isEmpty ? [] : (0..<n).map { Int32(($0 % coupons) % channels.count) }
        return CandidateTable(userIDs: (0..<users).map(Self.userID), couponIDs: (0..<coupons).map(Self.couponID),
                              channelNames: channels, userStart: (0...users).map { $0 * coupons },
                              coupon: coupon, channel: channel, uplift: uplift, columnNames: ["cost"], columns: [cost])
    }

    static func userID(_ u: Int) -> String { "u\(u + 1)" }
    static func couponID(_ c: Int) -> String { "c\(c + 1)" }

    /// The scores as CSV bytes: `user_id,coupon_id,uplift,cost[,channel]`.
    /// - Complexity: O(users x coupons).
    public func csv() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(users * coupons * (channels.isEmpty ? 28 : 34) + 64)
        out.append(contentsOf: (channels.isEmpty ? "user_id,coupon_id,uplift,cost\n" : "user_id,coupon_id,uplift,cost,channel\n").utf8)
        let couponBytes = (0..<coupons).map { Array(Self.couponID($0).utf8) }
        let channelBytes = channels.map { Array($0.utf8) }
        var userBytes: [UInt8] = []
        var lastUser = -1
        forEachCandidate { u, c, uplift, cost in
            if u != lastUser { userBytes = Array(Self.userID(u).utf8); lastUser = u }
            out.append(contentsOf: userBytes)
            out.append(0x2C)
            out.append(contentsOf: couponBytes[c])
            out.append(0x2C)
            appendFixed4(uplift, to: &out)
            out.append(0x2C)
            appendFixed4(cost, to: &out)
            if !channels.isEmpty {
                out.append(0x2C)
                out.append(contentsOf: channelBytes[c % channels.count])
            }
            out.append(0x0A)
        }
        return out
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
