#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to standard error.
enum Terminal {
    static func say(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        writeStandardError(line)
    }

    /// Writes `text` to file descriptor 2 unbuffered (so it needs no shared `FILE*`).
    static func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    static func error(_ text: String) { say("allot: error: " + text) }

    static var stderrIsTerminal: Bool { isatty(2) != 0 }

    /// A progress callback that redraws one line on stderr, or nil when stderr is not a
    /// terminal (so logs and pipes stay clean).
    static func progress(_ label: String) -> ((Double) -> Void)? {
        guard stderrIsTerminal else { return nil }
        var last = -1
        return { fraction in
            let percent = Int(fraction * 100)
            if percent == last { return }
            last = percent
            writeStandardError(percent >= 100 ? "\r\u{1B}[K" : "\r\(label) \(percent)%")
        }
    }
}

/// Formats a number for people: thousands separators, 2 decimals; from 1e15 on (where cents no
/// longer fit exactly in a double), the shortest exact form, e.g. `1e+17`.
func human(_ x: Double) -> String {
    guard x.isFinite, abs(x) < 1e15 else { return "\(x)" }
    let negative = x < 0
    let cents = Int64((abs(x) * 100).rounded())
    var whole = String(cents / 100)
    var groups: [String] = []
    while whole.count > 3 {
        groups.insert(String(whole.suffix(3)), at: 0)
        whole.removeLast(3)
    }
    groups.insert(whole, at: 0)
    let frac = cents % 100
    return (negative ? "-" : "") + groups.joined(separator: ",") + "." + (frac < 10 ? "0" : "") + String(frac)
}
