/// Finds a key that repeats within one JSON object, which `JSONSerialization` accepts silently
/// (the last value wins). Run on text that already parsed as JSON.
enum JSONDuplicateKeys {
    /// The first repeated key and the byte offset of its second occurrence, or nil.
    static func first(in bytes: UnsafeRawBufferPointer) -> (key: String, offset: Int)? {
        // One entry per open container: the keys seen so far when it is an object, nil for an array.
        var stack: [Set<String>?] = []
        var expectingKey = false
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "{"):
                stack.append([])
                expectingKey = true
                i += 1
            case UInt8(ascii: "["):
                stack.append(nil)
                expectingKey = false
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                expectingKey = false
                i += 1
            case UInt8(ascii: ","):
                expectingKey = stack.last.map { $0 != nil } ?? false
                i += 1
            case UInt8(ascii: "\""):
                let start = i
                let (text, end) = string(bytes, from: i)
                i = end
                if expectingKey, var keys = stack.last ?? nil {
                    if !keys.insert(text).inserted { return (text, start) }
                    stack[stack.count - 1] = keys
                    expectingKey = false
                }
            default:
                i += 1
            }
        }
        return nil
    }

    /// Decodes the string starting at the quote at `start`; returns it and the offset past its
    /// closing quote.
    private static func string(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (String, Int) {
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        var i = start + 1
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll(keepingCapacity: true)
        }
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            return UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + 4)]), as: UTF8.self), radix: 16)
        }
        while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                flush()
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "b"): scalars.append("\u{8}")
                case UInt8(ascii: "f"): scalars.append("\u{C}")
                case UInt8(ascii: "u"):
                    guard var v = hex4(i) else { continue }
                    i += 4
                    if (0xD800..<0xDC00).contains(v), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                       bytes[i + 1] == UInt8(ascii: "u"), let low = hex4(i + 2), (0xDC00..<0xE000).contains(low) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                    scalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                default: scalars.append(Unicode.Scalar(e))
                }
            } else {
                raw.append(bytes[i])
                i += 1
            }
        }
        flush()
        return (String(scalars), i + 1)
    }
}
