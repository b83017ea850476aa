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

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        return s + ": " + message
    }
}

/// A problem that is well formed but that a method cannot handle, or a solver failure.
public struct SolveError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
