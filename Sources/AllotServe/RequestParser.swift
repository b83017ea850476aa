#if canImport(Glibc)
import Glibc
#endif

/// A parser of decision requests straight over the body's bytes, for the request's fixed schema
/// (docs/serve.md, "The API"; docs/benchmarks.md, "Live decisions: the parser").
///
/// Why not Foundation: `JSONSerialization` builds an `NSDictionary` of `NSNumber`s per
/// candidate and `JSONDecoder` goes through the same tree, and that tree was most of a
/// decision's time in `allot serve`. This parser reads the bytes once and builds the
/// `DecideRequest` directly. It accepts exactly RFC 8259 JSON (any value may appear under an
/// unknown key and is skipped; a duplicated key: the last one wins, as in Foundation), and
/// gives the same one-line errors as the schema checks always did. A body that is not valid
/// JSON is refused as such whatever else is wrong with it: a schema error is reported only
/// after a second pass has found the whole body valid.
///
/// Numbers: digits of at most 15 significant figures with a decimal exponent within ±22 are
/// converted exactly (Clinger's fast path: one correctly rounded multiply or divide); anything
/// else goes to `strtod`, so every number is the correctly rounded double, as Foundation's.
///
/// - Complexity: O(body bytes), no allocation but the request's own strings and arrays.
struct RequestParser {
    let bytes: UnsafeRawBufferPointer
    var at = 0
    /// Nesting depth of skipped values, limited so that a hostile body cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 512

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Not JSON, or JSON that is not a request (with its message).
    enum Failure: Error {
        case syntax
        case tooDeep
        case schema(String)
    }

    // MARK: The requests

    /// One request, or a batch's (then `prefix` is "[k].").
    mutating func request(prefix: String) throws -> DecideRequest {
        skipSpace()
        guard peek == UInt8(ascii: "{") else {
            try skipValue()
            throw Failure.schema("\(prefix.isEmpty ? "the body" : String(prefix.dropLast())) must be a JSON object")
        }
        at += 1
        enum Field<T> { case absent, wrongType, value(T) }
        var user = Field<String>.absent
        var candidates = Field<[LiveCandidate]>.absent
        var candidateError: String?
        try members { p, key in
            if key.is("user_id") {
                if p.peek == UInt8(ascii: "\"") { user = .value(try p.string()) } else { try p.skipValue(); user = .wrongType }
            } else if key.is("candidates") {
                if p.peek == UInt8(ascii: "[") {
                    let (list, error) = try p.candidateList(prefix: prefix)
                    candidates = .value(list)
                    candidateError = error
                } else {
                    try p.skipValue()
                    candidates = .wrongType
                    candidateError = nil
                }
            } else {
                try p.skipValue()
            }
        }
        let name: String
        switch user {
        case .absent: throw Failure.schema("missing field '\(prefix)user_id'")
        case .wrongType: throw Failure.schema("field '\(prefix)user_id' must be a string")
        case .value(let v): name = v
        }
        switch candidates {
        case .absent: throw Failure.schema("missing field '\(prefix)candidates'")
        case .wrongType: throw Failure.schema("field '\(prefix)candidates' must be a list")
        case .value(let list):
            if let candidateError { throw Failure.schema(candidateError) }
            return DecideRequest(user: name, candidates: list)
        }
    }

    /// A batch: a list of requests.
    mutating func batch() throws -> [DecideRequest] {
        skipSpace()
        guard peek == UInt8(ascii: "[") else {
            try skipValue()
            throw Failure.schema("the body must be a JSON list of decision requests")
        }
        at += 1
        var out: [DecideRequest] = []
        var k = 0
        try elements { p in
            out.append(try p.request(prefix: "[\(k)]."))
            k += 1
        }
        return out
    }

    /// The candidates' list (at its `[`); the first candidate's schema error, if any, is
    /// returned, not thrown, so that the request's earlier fields are checked first.
    mutating func candidateList(prefix: String) throws -> ([LiveCandidate], String?) {
        at += 1
        var list: [LiveCandidate] = []
        list.reserveCapacity(16)
        var error: String?
        var j = 0
        try elements { p in
            if error == nil {
                do { list.append(try p.candidate(at: "\(prefix)candidates[\(j)]")) } catch Failure.schema(let message) { error = message }
            } else {
                try p.skipValue()
            }
            j += 1
        }
        return (list, error)
    }

    /// One candidate; the checks in the order the fields are documented.
    mutating func candidate(at path: @autoclosure () -> String) throws -> LiveCandidate {
        guard peek == UInt8(ascii: "{") else {
            try skipValue()
            throw Failure.schema("field '\(path())' must be a JSON object")
        }
        at += 1
        enum Field<T> { case absent, wrongType, value(T) }
        var coupon = Field<String>.absent
        var uplift = Field<Double>.absent
        var cost = Field<Double>.absent
        var channel = Field<String?>.absent
        var columns: [String: Double] = [:]
        var infinite: String?
        try members { p, key in
            if key.is("coupon_id") {
                if p.peek == UInt8(ascii: "\"") { coupon = .value(try p.string()) } else { try p.skipValue(); coupon = .wrongType }
            } else if key.is("uplift") {
                if let n = try p.numberIfAny() { uplift = .value(n) } else { try p.skipValue(); uplift = .wrongType }
            } else if key.is("cost") {
                if let n = try p.numberIfAny() { cost = .value(n) } else { try p.skipValue(); cost = .wrongType }
            } else if key.is("channel") {
                if p.peek == UInt8(ascii: "\"") {
                    channel = .value(try p.string())
                } else if p.peek == UInt8(ascii: "n") {
                    try p.skipValue()
                    channel = .value(nil)
                } else {
                    try p.skipValue()
                    channel = .wrongType
                }
            } else {
                let name = key.text
                if let n = try p.numberIfAny() {
                    columns[name] = n
                    if !n.isFinite, infinite == nil { infinite = name }
                } else {
                    try p.skipValue()
                    columns[name] = nil
                }
            }
        }
        func fail(_ message: String) -> Failure { .schema(message) }
        func number(_ field: Field<Double>, _ key: String) throws -> Double {
            switch field {
            case .absent: throw fail("missing field '\(path()).\(key)'")
            case .wrongType: throw fail("field '\(path()).\(key)' must be a number")
            case .value(let n):
                guard n.isFinite else { throw fail("field '\(path()).\(key)' is not a finite number") }
                return n
            }
        }
        let id: String
        switch coupon {
        case .absent: throw fail("missing field '\(path()).coupon_id'")
        case .wrongType: throw fail("field '\(path()).coupon_id' must be a string")
        case .value(let v): id = v
        }
        let u = try number(uplift, "uplift")
        let c = try number(cost, "cost")
        guard c >= 0 else { throw fail("field '\(path()).cost' is \(c); a cost must be >= 0") }
        var h: String?
        switch channel {
        case .absent: h = nil
        case .wrongType: throw fail("field '\(path()).channel' must be a string")
        case .value(let v): h = v
        }
        if let infinite { throw fail("field '\(path()).\(infinite)' is not a finite number") }
        return LiveCandidate(coupon: id, uplift: u, cost: c, channel: h, columns: columns)
    }

    // MARK: JSON

    var peek: UInt8 { at < bytes.count ? bytes[at] : 0 }

    mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x0A, 0x0D, 0x09: at += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard peek == byte else { throw Failure.syntax }
        at += 1
    }

    /// An object's key: its bytes, compared with the schema's names without making a `String`,
    /// when it is plain ASCII (no escape), else its decoded text (so `"cost"` and `"co\u0073t"`
    /// are the same key, as in JSON).
    struct Key {
        let raw: UnsafeRawBufferPointer
        let decoded: String?

        /// Whether the key is `name` (ASCII).
        func `is`(_ name: StaticString) -> Bool {
            if let decoded { return decoded.utf8.elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) }
            guard raw.count == name.utf8CodeUnitCount else { return false }
            for k in 0..<raw.count where raw[k] != name.utf8Start[k] { return false }
            return true
        }

        var text: String { decoded ?? String(decoding: raw, as: UTF8.self) }
    }

    /// A key (at its `"`).
    mutating func key() throws -> Key {
        let start = at + 1
        var end = start
        while end < bytes.count {
            let b = bytes[end]
            if b == UInt8(ascii: "\"") {
                at = end + 1
                return Key(raw: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), decoded: nil)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { break }
            end += 1
        }
        return Key(raw: UnsafeRawBufferPointer(start: nil, count: 0), decoded: try string())
    }

    /// The members of an object whose `{` was read: `body` reads each value (spaces skipped
    /// before it) after its key.
    mutating func members(_ body: (inout RequestParser, Key) throws -> Void) throws {
        skipSpace()
        if peek == UInt8(ascii: "}") { at += 1; return }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw Failure.syntax }
            let key = try key()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            try body(&self, key)
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "}"): at += 1; return
            default: throw Failure.syntax
            }
        }
    }

    /// The elements of a list whose `[` was read: `body` reads each (spaces skipped before it).
    mutating func elements(_ body: (inout RequestParser) throws -> Void) throws {
        skipSpace()
        if peek == UInt8(ascii: "]") { at += 1; return }
        while true {
            skipSpace()
            try body(&self)
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "]"): at += 1; return
            default: throw Failure.syntax
            }
        }
    }

    /// Skips any JSON value (checking its syntax).
    mutating func skipValue() throws {
        skipSpace()
        switch peek {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"):
            depth += 1
            guard depth <= Self.maxDepth else { throw Failure.tooDeep }
            at += 1
            try members { p, _ in try p.skipValue() }
            depth -= 1
        case UInt8(ascii: "["):
            depth += 1
            guard depth <= Self.maxDepth else { throw Failure.tooDeep }
            at += 1
            try elements { p in try p.skipValue() }
            depth -= 1
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { throw Failure.syntax }
        for k in 0..<n where bytes[at + k] != word.utf8Start[k] { throw Failure.syntax }
        at += n
    }

    /// A number if the value is one (a string, literal, object or list is left unread).
    mutating func numberIfAny() throws -> Double? {
        let b = peek
        guard b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) else { return nil }
        return try number()
    }

    static let exactPowers: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { r, _ in r * 10 } }

    /// A JSON number, correctly rounded.
    mutating func number() throws -> Double {
        let start = at
        var negative = false
        if peek == UInt8(ascii: "-") { negative = true; at += 1 }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits in `mantissa`
        var exponent = 0
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        guard digit(peek) else { throw Failure.syntax }
        if peek == 0x30 {
            at += 1
        } else {
            while digit(peek) {
                if digits < 19 { mantissa = mantissa * 10 + UInt64(peek - 0x30); if mantissa != 0 { digits += 1 } } else { exponent += 1; digits += 1 }
                at += 1
            }
        }
        if peek == UInt8(ascii: ".") {
            at += 1
            guard digit(peek) else { throw Failure.syntax }
            while digit(peek) {
                if digits < 19 { mantissa = mantissa * 10 + UInt64(peek - 0x30); if mantissa != 0 { digits += 1 }; exponent -= 1 } else { digits += 1 }
                at += 1
            }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            at += 1
            var sign = 1
            if peek == UInt8(ascii: "+") { at += 1 } else if peek == UInt8(ascii: "-") { sign = -1; at += 1 }
            guard digit(peek) else { throw Failure.syntax }
            var e = 0
            while digit(peek) {
                if e < 100_000 { e = e * 10 + Int(peek - 0x30) }
                at += 1
            }
            exponent += sign * e
        }
        if digits <= 15, abs(exponent) <= 22 {
            let m = Double(mantissa)
            let v = exponent < 0 ? m / Self.exactPowers[-exponent] : m * Self.exactPowers[exponent]
            return negative ? -v : v
        }
        // The slow path: strtod over a NUL-terminated copy of the (already checked) text.
        let length = at - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text in
            for k in 0..<length { text[k] = CChar(bitPattern: bytes[start + k]) }
            text[length] = 0
            return strtod(text.baseAddress!, nil)
        }
    }

    /// A JSON string (at its `"`), unescaped; invalid UTF-8 or a raw control character is a
    /// syntax error.
    mutating func string() throws -> String {
        at += 1
        let start = at
        var ascii = true
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<at]).assumingMemoryBound(to: UInt8.self)
                at += 1
                // ASCII is valid UTF-8 as it is; only other text needs the (slower) validation.
                if ascii { return String(decoding: raw, as: UTF8.self) }
                guard let text = String(validating: raw, as: UTF8.self) else { throw Failure.syntax }
                return text
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw Failure.syntax }
            if b >= 0x80 { ascii = false }
            at += 1
        }
        // With escapes.
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<at]))
        while at < bytes.count {
            let b = bytes[at]
            at += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw Failure.syntax }
                return text
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { throw Failure.syntax }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate: a low one must follow.
                        guard peek == UInt8(ascii: "\\") else { throw Failure.syntax }
                        at += 1
                        guard peek == UInt8(ascii: "u") else { throw Failure.syntax }
                        at += 1
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Failure.syntax }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw Failure.syntax
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw Failure.syntax
                }
            default:
                if b < 0x20 { throw Failure.syntax }
                out.append(b)
            }
        }
        throw Failure.syntax
    }

    mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count else { throw Failure.syntax }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[at]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x61...0x66: d = b - 0x61 + 10
            case 0x41...0x46: d = b - 0x41 + 10
            default: throw Failure.syntax
            }
            v = v << 4 | UInt32(d)
            at += 1
        }
        return v
    }

    /// Runs `parse` over the whole body, then checks nothing but spaces follows; a schema
    /// error is reported only if the whole body is valid JSON.
    static func run<T>(_ bytes: UnsafeRawBufferPointer, _ parse: (inout RequestParser) throws -> T) throws -> T {
        var p = RequestParser(bytes)
        do {
            let value = try parse(&p)
            p.skipSpace()
            guard p.at == bytes.count else { throw Failure.syntax }
            return value
        } catch Failure.schema(let message) {
            var check = RequestParser(bytes)
            do {
                try check.skipValue()
                check.skipSpace()
                guard check.at == bytes.count else { throw Failure.syntax }
            } catch Failure.tooDeep {
                throw DecisionError("the body nests deeper than \(maxDepth) levels")
            } catch {
                throw DecisionError("the body is not valid JSON")
            }
            throw DecisionError(message)
        } catch Failure.tooDeep {
            throw DecisionError("the body nests deeper than \(maxDepth) levels")
        } catch {
            throw DecisionError("the body is not valid JSON")
        }
    }
}
