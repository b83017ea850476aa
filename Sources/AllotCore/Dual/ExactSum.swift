/// An exact sum of doubles: a fixed-point accumulator wide enough for every finite double
/// (Neal's "small superaccumulator", arXiv:1505.05571), so that the total does not depend on the
/// order of the additions or on how they are grouped.
///
/// The dual's worker passes run over any slice of whole users, and the transports merge the
/// slices' results in any order (threads in chunk order; Spark in whatever order its tasks
/// end). Every sum that feeds a decision of the coordinator (the bound, each constraint's
/// consumption, the drops compared with a constraint's room) is an `ExactSum`: `merge` is exact
/// addition, hence associative and commutative, and `value` is a function of the exact total
/// alone. So the multipliers, the bound and the allocation are the same whatever the
/// partitioning, the thread count, or the merge order.
///
/// Representation: 67 signed 64-bit digits of base 2^32; digit `d` weighs `2^(32 d - 1074)`.
/// A double's 53-bit significand lands in three adjacent digits. Each digit receives less than
/// 2^32 per addition, so 2^30 additions fit before the digits are normalised (carried).
///
/// - Complexity: `add` O(1) (about ten integer operations); `merge` and `value` O(67).
package struct ExactSum: Sendable, Equatable {
    private var digits: [Int64]
    /// Additions since the last normalisation.
    private var pending: Int32 = 0
    /// Non-finite inputs (which have no fixed-point form), added as doubles.
    private var special = 0.0

    private static let count = 67
    private static let mask: Int64 = 0xFFFF_FFFF

    package init() { digits = [Int64](repeating: 0, count: Self.count) }

    package init(_ x: Double) {
        self.init()
        add(x)
    }

    /// Adds `x` exactly.
    @inline(__always)
    package mutating func add(_ x: Double) {
        if x == 0 { return }
        guard x.isFinite else {
            special += x
            return
        }
        let bits = x.bitPattern
        let biased = Int((bits >> 52) & 0x7FF)
        var significand = bits & 0x000F_FFFF_FFFF_FFFF
        if biased != 0 { significand |= 1 << 52 }
        // x = significand * 2^(max(biased, 1) - 1075) = significand * 2^(low - 1074)
        let low = max(biased, 1) - 1
        let d = low >> 5
        let s = UInt64(low & 31)
        let lo = significand << s                              // bits 0..63 of the shifted value
        let hi = s == 0 ? 0 : significand >> (64 - s)           // bits 64..84
        let p0 = Int64(lo & 0xFFFF_FFFF)
        let p1 = Int64(lo >> 32)
        let p2 = Int64(hi)
        // One uniqueness check, no bounds checks (d + 2 <= 65 < 67), and no overflow: a digit
        // takes less than 2^32 per addition and is carried every 2^30 additions.
        digits.withUnsafeMutableBufferPointer { p in
            if x < 0 {
                p[d] &-= p0
                p[d + 1] &-= p1
                p[d + 2] &-= p2
            } else {
                p[d] &+= p0
                p[d + 1] &+= p1
                p[d + 2] &+= p2
            }
        }
        pending += 1
        if pending >= 1 << 30 { normalise() }
    }

    /// Adds another exact sum: exact, associative and commutative.
    package mutating func merge(_ other: ExactSum) {
        normalise()
        var o = other
        o.normalise()
        for d in 0..<Self.count { digits[d] += o.digits[d] }
        special += o.special
        pending = 1
        normalise()
    }

    package static func + (a: ExactSum, b: ExactSum) -> ExactSum {
        var s = a
        s.merge(b)
        return s
    }

    /// Carries every digit into 0 ..< 2^32, the last one signed: the canonical form.
    private mutating func normalise() {
        guard pending > 0 else { return }
        var carry: Int64 = 0
        for d in 0..<Self.count {
            let v = digits[d] + carry
            if d == Self.count - 1 {
                digits[d] = v
            } else {
                carry = v >> 32          // floor division: the digit stays in 0 ..< 2^32
                digits[d] = v & Self.mask
            }
        }
        pending = 0
    }

    /// The exact total, rounded to a double by adding the canonical digits of its magnitude
    /// from the most significant one: a function of the exact total only (within an ulp or so
    /// of it, not always the nearest double).
    package var value: Double {
        var s = self
        s.normalise()
        if s.digits[Self.count - 1] < 0 {
            // Negative: the canonical digits are its two's complement; round the magnitude.
            for d in 0..<Self.count { s.digits[d] = -s.digits[d] }
            s.pending = 1
            s.normalise()
            s.special = -s.special
            return -s.value
        }
        var total = 0.0
        for d in stride(from: Self.count - 1, through: 0, by: -1) where s.digits[d] != 0 {
            total += Double(s.digits[d]) * Self.weight(d)
        }
        return total + s.special
    }

    /// -1, 0 or 1: the sign of the exact total (of the finite part, unless a non-finite value
    /// was added).
    package var signum: Int {
        if special != 0 || special.isNaN { return special > 0 ? 1 : -1 }
        var s = self
        s.normalise()
        for d in stride(from: Self.count - 1, through: 0, by: -1) where s.digits[d] != 0 {
            return s.digits[d] > 0 ? 1 : -1
        }
        return 0
    }

    /// Whether the exact total is greater than `x` (exactly decided).
    package func exceeds(_ x: Double) -> Bool {
        var s = self
        s.add(-x)
        return s.signum > 0
    }

    private static func weight(_ d: Int) -> Double {
        let e = 32 * d - 1074
        return e < -1074 ? 0 : Double(sign: .plus, exponent: e, significand: 1)
    }

    package static func == (a: ExactSum, b: ExactSum) -> Bool {
        var x = a, y = b
        x.normalise()
        y.normalise()
        return x.digits == y.digits && x.special.bitPattern == y.special.bitPattern
    }
}

extension ExactSum {
    /// The digits in canonical form and the non-finite part, for the versioned bytes of an
    /// aggregate (`DualWire`).
    package var canonical: (digits: [Int64], special: Double) {
        var s = self
        s.normalise()
        return (s.digits, s.special)
    }

    /// From canonical digits (`canonical`); nil unless every digit but the last is in
    /// 0 ..< 2^32 and the last within ±2^32.
    package init?(digits: [Int64], special: Double) {
        guard digits.count == Self.count,
              digits.dropLast().allSatisfy({ $0 >= 0 && $0 <= Self.mask }),
              digits[Self.count - 1] >= -Self.mask, digits[Self.count - 1] <= Self.mask else { return nil }
        self.digits = digits
        self.special = special
        pending = 1
        normalise()
    }
}
