
/// What parsing one numeric field gave.
package enum ParsedNumber: Equatable {
    case value(Double)
    case notANumber
    case notFinite
    case empty
}

private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

/// Parses a decimal number from raw bytes, with surrounding spaces allowed.
///
/// Accepts `[+-]digits[.digits][(e|E)[+-]digits]` (also `.5` and `5.`). Results are correctly
/// rounded: the common case (at most 19 significant digits whose value fits in 53 bits, with a
/// decimal exponent within 22) is computed exactly by one multiplication or division (Clinger's
/// fast path); anything else falls back to the standard library's `Double(_:)`. Hexadecimal floats, `nan` and `inf` are not
/// decimal numbers and are refused. (Hand-written for speed: the scores reader runs at about
/// 230 MB/s with it; docs/benchmarks.md.)
///
/// - Complexity: O(n) in the field length.
@inline(__always)
package func parseNumber(_ base: UnsafePointer<UInt8>, _ count: Int) -> ParsedNumber {
    var start = 0
    var end = count
    while start < end, base[start] == 0x20 || base[start] == 0x09 { start += 1 }
    while end > start, base[end - 1] == 0x20 || base[end - 1] == 0x09 { end -= 1 }
    if start == end { return .empty }

    var i = start
    var negative = false
    if base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+") {
        negative = base[i] == UInt8(ascii: "-")
        i += 1
    }
    var decimal = DecimalDigits()
    var sawDigit = decimal.scan(base, &i, end, fractional: false)
    if i < end, base[i] == UInt8(ascii: ".") {
        i += 1
        sawDigit = decimal.scan(base, &i, end, fractional: true) || sawDigit
    }
    if !sawDigit { return classifyWord(base + start, end - start) }
    if i < end, base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E") {
        i += 1
        guard let e = scanExponent(base, &i, end) else { return .notANumber }
        decimal.exponent += e
    }
    if i != end { return .notANumber }
    if let v = decimal.exactValue() { return .value(negative ? -v : v) }
    // Slow path: the standard library's correctly rounded conversion on a copy. The syntax was
    // checked above, so it cannot fail.
    let text = String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    guard let v = Double(text) else { return .notANumber }
    return v.isFinite ? .value(v) : .notFinite
}

/// The significant digits of a decimal number as `mantissa × 10^exponent`, the first 19 kept
/// exactly.
private struct DecimalDigits {
    var mantissa: UInt64 = 0
    /// Significant digits accumulated in `mantissa`.
    var digits = 0
    /// Whether a non-zero digit did not fit.
    var dropped = false
    var exponent = 0

    /// Reads the digits at `i` (the integer part, or the fraction after the point); returns
    /// whether there was any.
    @inline(__always)
    mutating func scan(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int, fractional: Bool) -> Bool {
        let first = i
        while i < end, base[i] &- 0x30 < 10 {
            let d = UInt64(base[i] &- 0x30)
            if digits < 19 {
                if mantissa != 0 || d != 0 { mantissa = mantissa &* 10 &+ d; if mantissa != 0 { digits += 1 } }
                if fractional { exponent -= 1 }
            } else {
                if !fractional { exponent += 1 }
                if d != 0 { dropped = true }
            }
            i += 1
        }
        return i > first
    }

    /// The value when Clinger's fast path computes it exactly (or it is zero), else nil.
    @inline(__always)
    func exactValue() -> Double? {
        if !dropped, mantissa <= (1 << 53), exponent >= -22, exponent <= 22 {
            let v = Double(mantissa)
            return exponent < 0 ? v / exactPowersOfTen[-exponent] : v * exactPowersOfTen[exponent]
        }
        return mantissa == 0 && !dropped ? 0 : nil
    }
}

/// Reads `[+-]digits` after an `e`; nil when there are no digits.
@inline(__always)
private func scanExponent(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> Int? {
    var negative = false
    if i < end, base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+") {
        negative = base[i] == UInt8(ascii: "-")
        i += 1
    }
    var e = 0
    let first = i
    while i < end, base[i] &- 0x30 < 10 {
        if e < 100_000 { e = e * 10 + Int(base[i] &- 0x30) }
        i += 1
    }
    return i == first ? nil : (negative ? -e : e)
}

private func classifyWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> ParsedNumber {
    var word = ""
    for k in 0..<min(n, 12) { word.unicodeScalars.append(Unicode.Scalar(p[k] | 0x20)) }
    for prefix in ["", "+", "-"] {
        for name in ["nan", "inf", "infinity"] where word == prefix + name { return .notFinite }
    }
    return .notANumber
}
