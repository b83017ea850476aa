import RealModule

/// Numbers for people: grouped thousands, significant digits, percentages.
package enum Readable {
    /// `x` to `digits` significant digits, without an exponent for ordinary magnitudes: 0.01235, 1235, 12,350.
    package static func significant(_ x: Double, _ digits: Int = 4) -> String {
        guard x.isFinite, x != 0 else { return x == 0 ? "0" : "\(x)" }
        let magnitude = Int(Double.log10(abs(x)).rounded(.down))
        let decimals = max(0, digits - 1 - magnitude)
        if decimals == 0 {
            var scale = 1.0
            for _ in 0..<(magnitude + 1 - digits) { scale *= 10 }
            return grouped((x / scale).rounded() * scale, decimals: 0)
        }
        return grouped(x, decimals: decimals)
    }

    /// A fraction as a percentage with 2 significant digits, or "< 0.0001%" near zero: 0.0123 -> "1.2%".
    package static func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        if p == 0 { return "0%" }
        if abs(p) < 1e-4 { return "< 0.0001%" }
        return significant(p, 2) + "%"
    }

    /// A count with thousands separators: 12,345.
    package static func count(_ n: Int) -> String { grouped(Double(n), decimals: 0) }

    /// `x` with thousands separators and `decimals` decimals.
    package static func grouped(_ x: Double, decimals: Int) -> String {
        guard x.isFinite, abs(x) < 1e15 else { return "\(x)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let units = (abs(x) * scale).rounded()
        let negative = x < 0 && units > 0
        var whole = String(Int64((units / scale).rounded(.down)))
        var groups: [String] = []
        while whole.count > 3 {
            groups.insert(String(whole.suffix(3)), at: 0)
            whole.removeLast(3)
        }
        groups.insert(whole, at: 0)
        var text = (negative ? "-" : "") + groups.joined(separator: ",")
        if decimals > 0 {
            let fraction = units - (units / scale).rounded(.down) * scale
            let digits = String(Int64(fraction.rounded()))
            text += "." + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
        }
        return text
    }
}
