/// Tasks and aggregates as versioned bytes, for transports whose workers run elsewhere (a Spark
/// executor, through the C ABI): the coordinator's `DualTask` goes out, each slice's
/// `DualAggregate` comes back, and two aggregates' bytes merge without decoding on the driver's
/// side of the wire being a second implementation.
///
/// Layout, little-endian: a 4-byte tag (`ADT` or `ADA` and the format version, now 1), then the
/// fields in declaration order; arrays as a 64-bit count and their elements; an `ExactSum` as
/// its 67 canonical digits and its non-finite part. Decoding checks the tag, the version, every
/// count against the bytes left and every enum value: bad bytes give a `DualWire.Error` naming
/// the field, never a crash.
package enum DualWire {
    package static let version: UInt8 = 1

    package struct Error: Swift.Error, Equatable, CustomStringConvertible {
        package let description: String
    }

    // MARK: Tasks

    package static func encode(_ task: DualTask) -> [UInt8] {
        var w = Writer(tag: [0x41, 0x44, 0x54, version])
        switch task {
        case .evaluate(let m, let margins):
            w.u8(0); w.doubles(m); w.u8(margins ? 1 : 0)
        case .hull(let i, let m):
            w.u8(1); w.i64(i); w.doubles(m)
        case .consumption(let i, let m):
            w.u8(2); w.i64(i); w.doubles(m)
        case .walk(let i, let m, let lo, let hi):
            w.u8(3); w.i64(i); w.doubles(m); w.double(lo); w.double(hi)
        case .top(let i, let m):
            w.u8(4); w.i64(i); w.doubles(m)
        }
        return w.bytes
    }

    package static func task(_ bytes: [UInt8]) throws -> DualTask {
        var r = try Reader(bytes, tag: [0x41, 0x44, 0x54], what: "task")
        let kind = try r.u8("task kind")
        let task: DualTask
        switch kind {
        case 0:
            let m = try r.doubles("multipliers")
            task = .evaluate(m: m, margins: try r.u8("margins flag") != 0)
        case 1, 2, 4:
            let i = try r.i64("constraint")
            let m = try r.doubles("multipliers")
            guard i >= 0, i < m.count else { throw Error(description: "task: constraint \(i) out of range 0..<\(m.count)") }
            task = kind == 1 ? .hull(constraint: i, m: m) : kind == 2 ? .consumption(constraint: i, m: m) : .top(constraint: i, m: m)
        case 3:
            let i = try r.i64("constraint")
            let m = try r.doubles("multipliers")
            guard i >= 0, i < m.count else { throw Error(description: "task: constraint \(i) out of range 0..<\(m.count)") }
            task = .walk(constraint: i, m: m, lo: try r.double("lo"), hi: try r.double("hi"))
        default:
            throw Error(description: "task: unknown task kind \(kind)")
        }
        try r.end("task")
        return task
    }

    // MARK: Aggregates

    package static func encode(_ a: DualAggregate) -> [UInt8] {
        var w = Writer(tag: [0x41, 0x44, 0x41, version])
        w.exact(a.bound)
        w.i64(a.sums.count)
        for s in a.sums { w.exact(s) }
        w.i64(a.capPicks.count)
        for k in a.capPicks { w.i64(Int(k)) }
        w.i64(a.margins.count)
        for e in a.margins { w.i64(Int(e.cap)); w.double(e.margin) }
        w.doubles(a.steps.points)
        w.doubles(a.steps.drops)
        w.u8(a.complete ? 1 : 0)
        w.double(a.top)
        return w.bytes
    }

    package static func aggregate(_ bytes: [UInt8]) throws -> DualAggregate {
        var r = try Reader(bytes, tag: [0x41, 0x44, 0x41], what: "aggregate")
        var a = DualAggregate(sums: 0)
        a.bound = try r.exact("bound")
        let sums = try r.count("sums", each: 8 * 68)
        a.sums = try (0..<sums).map { _ in try r.exact("sums") }
        let picks = try r.count("cap picks", each: 8)
        a.capPicks = try (0..<picks).map { _ in Int32(clamping: try r.i64("cap picks")) }
        let margins = try r.count("margins", each: 16)
        a.margins = try (0..<margins).map { _ in CapMargin(cap: Int32(clamping: try r.i64("margins")), margin: try r.double("margins")) }
        a.steps.points = try r.doubles("step points")
        a.steps.drops = try r.doubles("step drops")
        guard a.steps.points.count == a.steps.drops.count else {
            throw Error(description: "aggregate: \(a.steps.points.count) step points but \(a.steps.drops.count) drops")
        }
        a.complete = try r.u8("complete flag") != 0
        a.top = try r.double("top")
        try r.end("aggregate")
        return a
    }

    // MARK: Bytes

    private struct Writer {
        var bytes: [UInt8]
        init(tag: [UInt8]) { bytes = tag }
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func i64(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
        mutating func double(_ v: Double) { u64(v.bitPattern) }
        mutating func doubles(_ v: [Double]) {
            i64(v.count)
            for x in v { double(x) }
        }
        mutating func exact(_ s: ExactSum) {
            let c = s.canonical
            for d in c.digits { i64(Int(d)) }
            double(c.special)
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 4
        let what: String

        init(_ bytes: [UInt8], tag: [UInt8], what: String) throws {
            self.bytes = bytes
            self.what = what
            guard bytes.count >= 4, Array(bytes[0..<3]) == tag else { throw Error(description: "\(what): not an Allot dual \(what) (bad tag)") }
            guard bytes[3] == DualWire.version else {
                throw Error(description: "\(what): format version \(bytes[3]); this library reads version \(DualWire.version)")
            }
        }

        mutating func u8(_ field: String) throws -> UInt8 {
            guard at < bytes.count else { throw Error(description: "\(what): truncated at \(field) (byte \(at))") }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func u64(_ field: String) throws -> UInt64 {
            guard bytes.count - at >= 8 else { throw Error(description: "\(what): truncated at \(field) (byte \(at))") }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * k) }
            at += 8
            return v
        }

        mutating func i64(_ field: String) throws -> Int { Int(Int64(bitPattern: try u64(field))) }
        mutating func double(_ field: String) throws -> Double { Double(bitPattern: try u64(field)) }

        /// A count of elements of `each` bytes, checked against the bytes left.
        mutating func count(_ field: String, each: Int) throws -> Int {
            let n = try i64(field)
            guard n >= 0, n <= (bytes.count - at) / each else {
                throw Error(description: "\(what): \(field) count \(n) does not fit the \(bytes.count - at) bytes left")
            }
            return n
        }

        mutating func doubles(_ field: String) throws -> [Double] {
            let n = try count(field, each: 8)
            return try (0..<n).map { _ in try double(field) }
        }

        mutating func exact(_ field: String) throws -> ExactSum {
            let digits = try (0..<67).map { _ in Int64(try i64(field)) }
            let special = try double(field)
            guard let s = ExactSum(digits: digits, special: special) else { throw Error(description: "\(what): bad \(field)") }
            return s
        }

        func end(_ what: String) throws {
            guard at == bytes.count else { throw Error(description: "\(what): \(bytes.count - at) bytes after the end") }
        }
    }
}
