/// An input that Allot cannot use: a malformed file, an inconsistent specification, an
/// output that cannot be written.
///
/// The description reads like a compiler diagnostic, `file:line:column: message`, with the
/// location parts present only when known.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// One line: control characters in the file name or message (a quoted field holding a
    /// line break, say) are escaped.
    public var description: String {
        var s = escapingControlCharacters(file)
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        return s + ": " + escapingControlCharacters(cuttingLongFields(message))
    }
}

/// A problem that is well formed but that a method cannot handle, or a solver failure.
public struct SolveError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { escapingControlCharacters(cuttingLongFields(message)) }
}

/// `text` with control characters written as escapes (`\n`, `\r`, `\t`, `\u{7F}`), so that a
/// message quoting an input's field stays on one line.
package func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) || scalar == "\u{2028}" || scalar == "\u{2029}"
}

/// The longest quoted field a message shows whole, in characters.
package let longestQuotedField = 200

/// `message` with every quoted field ('...') longer than `longestQuotedField` characters cut to
/// its first 64 characters, followed by "…' (cut from N characters)": a 1 MiB id in the input
/// gives a short line, which says that the field was cut. Shorter fields are left whole.
/// - Complexity: O(message length).
package func cuttingLongFields(_ message: String) -> String {
    guard message.utf8.count > longestQuotedField else { return message }
    var out = ""
    var rest = message[...]
    while let open = rest.firstIndex(of: "'") {
        let afterOpen = rest.index(after: open)
        guard let close = rest[afterOpen...].firstIndex(of: "'") else { break }
        let field = rest[afterOpen..<close]
        out += rest[...open]
        let length = field.count
        if length > longestQuotedField {
            out += field.prefix(64) + "…' (cut from \(length) characters)"
        } else {
            out += field + "'"
        }
        rest = rest[rest.index(after: close)...]
    }
    return out + rest
}
