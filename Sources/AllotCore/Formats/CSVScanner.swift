/// A byte-level CSV record scanner (RFC 4180: comma separated, `"` quoting with `""` escapes,
/// LF or CRLF line ends) that reports line and column positions. Tab-separated files are read
/// too: the delimiter is a tab when the first line has tabs and no commas, unless one is given.
///
/// It never copies an unquoted field: fields are byte ranges into the input. A quoted field
/// containing `""` is unescaped into a scratch buffer that lives as long as the scanner.
package struct CSVScanner {
    package struct Field {
        package var start: UnsafePointer<UInt8>
        package var count: Int
        /// 1-based column (in bytes) where the field starts on its line.
        package var column: Int
    }

    enum ScanError: Error {
        case unterminatedQuote(line: Int, column: Int)
        case textAfterQuote(line: Int, column: Int)
    }

    private let base: UnsafePointer<UInt8>
    private let end: Int
    /// The field separator: a comma or a tab.
    let delimiter: UInt8
    private var position: Int
    /// 1-based line of the next record's first byte.
    private(set) var line = 1
    private var lineStart = 0
    private var scratch: [UnsafeMutablePointer<UInt8>] = []

    /// - Parameter delimiter: the field separator; nil detects it from the first line.
    package init(_ buffer: UnsafeRawBufferPointer, delimiter: UInt8? = nil) {
        base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        end = buffer.count
        position = 0
        // Skip a UTF-8 byte order mark.
        if end >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { position = 3; lineStart = 3 }
        self.delimiter = delimiter ?? Self.detectDelimiter(base, from: position, to: end)
    }

    /// A tab when the first line has a tab and no comma, otherwise a comma.
    static func detectDelimiter(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> UInt8 {
        var tabs = 0, commas = 0
        var i = start
        while i < end, base[i] != 0x0A {
            if base[i] == 0x09 { tabs += 1 } else if base[i] == 0x2C { commas += 1 }
            i += 1
        }
        return tabs > 0 && commas == 0 ? 0x09 : 0x2C
    }

    /// Fraction of the input consumed, for progress reporting.
    var progress: Double { end == 0 ? 1 : Double(position) / Double(end) }

    package func freeScratch() { for p in scratch { p.deallocate() } }

    /// Reads the next non-blank record into `fields` (cleared first). Returns the 1-based line
    /// where the record starts, or nil at end of input.
    mutating func nextRecord(into fields: inout [Field]) throws -> Int? {
        fields.removeAll(keepingCapacity: true)
        // Skip blank lines.
        while position < end, base[position] == 0x0A || base[position] == 0x0D {
            if base[position] == 0x0A { line += 1; lineStart = position + 1 }
            position += 1
        }
        if position >= end { return nil }
        let recordLine = line
        while true {
            let column = position - lineStart + 1
            if position < end, base[position] == 0x22 {
                try fields.append(quotedField(column: column))
            } else {
                let s = position
                while position < end {
                    let b = base[position]
                    if b == delimiter || b == 0x0A || b == 0x0D { break }
                    position += 1
                }
                fields.append(Field(start: base + s, count: position - s, column: column))
            }
            if position >= end { return recordLine }
            let b = base[position]
            position += 1
            if b == delimiter { continue }
            if b == 0x0D, position < end, base[position] == 0x0A { position += 1 }
            line += 1
            lineStart = position
            return recordLine
        }
    }

    private mutating func quotedField(column: Int) throws -> Field {
        let openLine = line
        position += 1
        let s = position
        var escapes = 0
        while true {
            if position >= end { throw ScanError.unterminatedQuote(line: openLine, column: column) }
            let b = base[position]
            if b == 0x22 {
                if position + 1 < end, base[position + 1] == 0x22 { escapes += 1; position += 2; continue }
                break
            }
            if b == 0x0A { line += 1; lineStart = position + 1 }
            position += 1
        }
        let rawCount = position - s
        position += 1 // closing quote
        if position < end, base[position] != delimiter, base[position] != 0x0A, base[position] != 0x0D {
            throw ScanError.textAfterQuote(line: line, column: position - lineStart + 1)
        }
        if escapes == 0 { return Field(start: base + s, count: rawCount, column: column) }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: rawCount)
        scratch.append(out)
        var k = 0
        var i = s
        while i < s + rawCount {
            out[k] = base[i]
            k += 1
            i += base[i] == 0x22 ? 2 : 1
        }
        return Field(start: UnsafePointer(out), count: k, column: column)
    }
}

extension CSVScanner {
    /// `nextRecord`, with scan errors turned into `InputError`s naming `file`.
    package mutating func nextRecord(into fields: inout [Field], file: String) throws -> Int? {
        do {
            return try nextRecord(into: &fields)
        } catch ScanError.unterminatedQuote(let line, let column) {
            throw InputError(file: file, line: line, column: column, "unterminated quoted field")
        } catch ScanError.textAfterQuote(let line, let column) {
            throw InputError(file: file, line: line, column: column, "unexpected text after a closing quote")
        }
    }
}

/// Throws an `InputError` at the first byte of `buffer` that is not valid UTF-8.
package func requireUTF8(_ buffer: UnsafeRawBufferPointer, file: String) throws {
    if let bad = firstInvalidUTF8(buffer) {
        let (line, column) = lineAndColumn(buffer, offset: bad)
        throw InputError(file: file, line: line, column: column,
                         "the file is not valid UTF-8 (byte 0x\(String(buffer[bad], radix: 16, uppercase: true)))")
    }
}

/// Finds the first byte that is not part of valid UTF-8, returning its offset.
///
/// Runs eight bytes at a time over ASCII text, which is the common case.
///
/// - Complexity: O(n).
func firstInvalidUTF8(_ buffer: UnsafeRawBufferPointer) -> Int? {
    let n = buffer.count
    guard n > 0 else { return nil }
    let p = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var i = 0
    while i < n {
        if i + 8 <= n {
            let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            if word & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
        }
        let b = p[i]
        if b < 0x80 { i += 1; continue }
        var need = 0
        var minimum: UInt32 = 0
        var scalar: UInt32 = 0
        switch b {
        case 0xC2...0xDF: need = 1; scalar = UInt32(b & 0x1F); minimum = 0x80
        case 0xE0...0xEF: need = 2; scalar = UInt32(b & 0x0F); minimum = 0x800
        case 0xF0...0xF4: need = 3; scalar = UInt32(b & 0x07); minimum = 0x10000
        default: return i
        }
        for k in 1...need {
            if i + k >= n { return i }
            let c = p[i + k]
            if c & 0xC0 != 0x80 { return i }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return i }
        i += need + 1
    }
    return nil
}

/// 1-based line and column (in bytes) of a byte offset.
func lineAndColumn(_ buffer: UnsafeRawBufferPointer, offset: Int) -> (line: Int, column: Int) {
    var line = 1
    var lineStart = 0
    for i in 0..<offset where buffer[i] == 0x0A { line += 1; lineStart = i + 1 }
    return (line, offset - lineStart + 1)
}
