// The dual's two roles through the C ABI (include/allot.h, "since version 8"): the worker, a
// pure function of a part's candidates and a task's bytes, and the coordinator (DualCoordinator.swift).
// A transport (allot.spark) only moves these bytes: every rule is the library's.

import Allot
import Foundation

// MARK: - Bytes

/// Bytes the library made (a task, an aggregate, a tally, a plan) and, for an allocation pass,
/// the chosen rows of the part's table. Immutable.
///
/// `@unchecked Sendable`: `storage` is written once in `init` and never changed; `deinit` frees it
/// only when no reference (and so no reader) is left.
final class BytesHandle: @unchecked Sendable {
    let bytes: [UInt8]
    let rows: [Int64]
    /// The bytes with a NUL after them, so that `data` is a stable pointer for the handle's life.
    private let storage: UnsafeMutableBufferPointer<UInt8>

    init(_ bytes: [UInt8], rows: [Int64] = []) {
        self.bytes = bytes
        self.rows = rows
        storage = .allocate(capacity: bytes.count + 1)
        _ = storage.initialize(from: bytes + [0])
    }

    deinit { storage.deallocate() }

    var data: UnsafePointer<UInt8> { UnsafePointer(storage.baseAddress!) }
}

func bytesHandle(_ pointer: OpaquePointer?) throws -> BytesHandle {
    try typed(pointer, "bytes") { if case .bytes(let b) = $0 { b } else { nil } }
}

/// The caller's `length` bytes at `data`, copied.
func copied(_ data: UnsafePointer<UInt8>?, _ length: Int64, _ name: String) throws -> [UInt8] {
    guard length >= 0 else { throw argument("\(name): length \(length) is negative") }
    if length == 0 { return [] }
    guard let data else { throw argument("\(name) is NULL") }
    return Array(UnsafeBufferPointer(start: data, count: Int(length)))
}

/// A wire error: bad bytes from a caller (ALLOT_ERR_ARGUMENT, with the field at fault).
func wire<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DualWire.Error {
        throw argument(error.description)
    }
}

@_cdecl("allot_bytes_length")
public func allot_bytes_length(_ b: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try bytesHandle(b).bytes.count) }
}

@_cdecl("allot_bytes_data")
public func allot_bytes_data(_ b: OpaquePointer?) -> UnsafePointer<UInt8>? {
    guarded(nil) { try bytesHandle(b).data }
}

@_cdecl("allot_bytes_row_count")
public func allot_bytes_row_count(_ b: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try bytesHandle(b).rows.count) }
}

@_cdecl("allot_bytes_copy_rows")
public func allot_bytes_copy_rows(_ b: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?, _ capacity: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        try copyRows(try bytesHandle(b).rows, to: out, capacity: capacity)
        return ErrorCode.ok.rawValue
    }
}

@_cdecl("allot_bytes_free")
public func allot_bytes_free(_ b: OpaquePointer?) {
    release(b, "bytes") { if case .bytes = $0 { true } else { false } }
}

// MARK: - A part of a problem

/// `{"coupons": [...], "channels": [...]}`: the whole problem's coupons and channels.
func catalogue(_ json: String) throws -> Catalogue {
    let object = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [])
    guard let map = object as? [String: Any], let coupons = map["coupons"] as? [String] else {
        throw argument("catalogue_json must be a JSON object with \"coupons\" (a list of strings) and \"channels\" (optional)")
    }
    guard let channels = (map["channels"] ?? [String]()) as? [String] else {
        throw argument("catalogue_json: \"channels\" must be a list of strings")
    }
    return Catalogue(couponIDs: coupons, channelNames: channels)
}

@_cdecl("allot_builder_build_part")
public func allot_builder_build_part(_ b: OpaquePointer?, _ catalogueJSON: UnsafePointer<CChar>?) -> OpaquePointer? {
    guarded(nil) {
        let b = try builder(b)
        let catalogue = try catalogue(try string(catalogueJSON, "catalogue_json"))
        let built = try b.table()
        let table = try built.table.renumbered(to: catalogue, source: b.source)
        let problem = try Problem(candidates: table, spec: b.spec, specName: b.specName)
        return register(.problem(ProblemHandle(problem: problem, rows: built.rows)))
    }
}

// MARK: - The worker

@_cdecl("allot_dual_work")
public func allot_dual_work(_ p: OpaquePointer?, _ task: UnsafePointer<UInt8>?, _ length: Int64) -> OpaquePointer? {
    guarded(nil) {
        let handle = try problemHandle(p)
        let task = try wire { try DualWire.task(try copied(task, length, "task")) }
        let engine = handle.engine
        guard task.m.count == engine.constraintCount else {
            throw argument("task: \(task.m.count) multipliers for a problem of \(engine.constraintCount) constraints")
        }
        let aggregate = engine.work(task, users: 0 ..< handle.problem.candidates.userCount)
        return register(.bytes(BytesHandle(DualWire.encode(aggregate))))
    }
}

@_cdecl("allot_dual_merge")
public func allot_dual_merge(_ a: UnsafePointer<UInt8>?, _ aLength: Int64,
                             _ b: UnsafePointer<UInt8>?, _ bLength: Int64) -> OpaquePointer? {
    guarded(nil) {
        let a = try copied(a, aLength, "a"), b = try copied(b, bLength, "b")
        if TallyWire.isTally(a) || TallyWire.isTally(b) {
            var total = try TallyWire.decode(a)
            try TallyWire.merge(&total, TallyWire.decode(b))
            return register(.bytes(BytesHandle(TallyWire.encode(total))))
        }
        var total = try wire { try DualWire.aggregate(a) }
        total.merge(try wire { try DualWire.aggregate(b) })
        return register(.bytes(BytesHandle(DualWire.encode(total))))
    }
}

// MARK: - The verifier's tallies as bytes

/// A part's `Verifier.Tally` as bytes (tag `AVT` and version 1), for the verification pass of a
/// transport: each part tallies its own assignments (its users' frequency and channel caps,
/// repeats), the tallies merge, and the coordinator checks the global constraints
/// (`Verifier.report`). The sums add in floating point, as the single machine adds its parts.
enum TallyWire {
    static let tag: [UInt8] = [0x41, 0x56, 0x54, 1]

    /// A `Verifier.Tally`'s fields, merged without a problem at hand.
    struct Part {
        var objective = 0.0
        var totalCost = 0.0
        var used: [Double] = []
        var perCoupon: [Int] = []
        var perChannel: [Int] = []
        var usersReached = 0
        var violations: [Violation] = []
        var count = 0
    }

    static func isTally(_ bytes: [UInt8]) -> Bool { bytes.count >= 3 && Array(bytes[0..<3]) == Array(tag[0..<3]) }

    static func part(_ t: Verifier.Tally) -> Part {
        Part(objective: t.objective, totalCost: t.totalCost, used: t.used, perCoupon: t.perCoupon, perChannel: t.perChannel,
             usersReached: t.usersReached, violations: t.violations, count: t.count)
    }

    static func merge(_ a: inout Part, _ b: Part) throws {
        guard a.used.count == b.used.count, a.perCoupon.count == b.perCoupon.count, a.perChannel.count == b.perChannel.count else {
            throw argument("tallies of different problems cannot merge")
        }
        a.objective += b.objective
        a.totalCost += b.totalCost
        for i in a.used.indices { a.used[i] += b.used[i] }
        for c in a.perCoupon.indices { a.perCoupon[c] += b.perCoupon[c] }
        for h in a.perChannel.indices { a.perChannel[h] += b.perChannel[h] }
        a.usersReached += b.usersReached
        a.violations += b.violations.prefix(max(0, Verifier.maxListed - a.violations.count))
        a.count += b.count
    }

    static func encode(_ t: Part) -> [UInt8] {
        var out = tag
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func i64(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
        func double(_ v: Double) { u64(v.bitPattern) }
        double(t.objective)
        double(t.totalCost)
        i64(t.used.count); t.used.forEach(double)
        i64(t.perCoupon.count); t.perCoupon.forEach(i64)
        i64(t.perChannel.count); t.perChannel.forEach(i64)
        i64(t.usersReached)
        i64(t.count)
        // A part's own violations only: its users' (the global ones are found after the merge).
        let own = t.violations.filter {
            switch $0 {
            case .invalidCandidate, .repeatedCandidate, .maxPerUser, .channelCap: return true
            default: return false
            }
        }
        i64(own.count)
        func text(_ s: String) {
            let utf8 = Array(s.utf8)
            i64(utf8.count)
            out += utf8
        }
        for v in own {
            switch v {
            case .invalidCandidate(let j): out.append(0); i64(j)
            case .repeatedCandidate(let u, let c): out.append(1); text(u); text(c)
            case .maxPerUser(let u, let n, let cap): out.append(2); text(u); i64(n); i64(cap)
            case .channelCap(let u, let h, let n, let cap): out.append(3); text(u); text(h); i64(n); i64(cap)
            default: break
            }
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) throws -> Part {
        guard isTally(bytes), bytes.count >= 4 else { throw argument("tally: not an Allot verifier tally (bad tag)") }
        guard bytes[3] == tag[3] else { throw argument("tally: format version \(bytes[3]); this library reads version \(tag[3])") }
        var at = 4
        func u64(_ field: String) throws -> UInt64 {
            guard bytes.count - at >= 8 else { throw argument("tally: truncated at \(field) (byte \(at))") }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * k) }
            at += 8
            return v
        }
        func i64(_ field: String) throws -> Int { Int(Int64(bitPattern: try u64(field))) }
        func double(_ field: String) throws -> Double { Double(bitPattern: try u64(field)) }
        func count(_ field: String, each: Int) throws -> Int {
            let n = try i64(field)
            guard n >= 0, n <= (bytes.count - at) / each else { throw argument("tally: \(field) count \(n) does not fit the bytes left") }
            return n
        }
        var t = Part()
        t.objective = try double("objective")
        t.totalCost = try double("total cost")
        t.used = try (0..<count("used", each: 8)).map { _ in try double("used") }
        t.perCoupon = try (0..<count("coupons", each: 8)).map { _ in try i64("coupons") }
        t.perChannel = try (0..<count("channels", each: 8)).map { _ in try i64("channels") }
        t.usersReached = try i64("users reached")
        t.count = try i64("violation count")
        func text() throws -> String {
            let n = try count("violation", each: 1)
            guard let s = String(validating: bytes[at ..< at + n], as: UTF8.self) else { throw argument("tally: a violation is not UTF-8") }
            at += n
            return s
        }
        for _ in 0..<(try count("violations", each: 9)) {
            guard at < bytes.count else { throw argument("tally: truncated at a violation (byte \(at))") }
            let kind = bytes[at]
            at += 1
            switch kind {
            case 0: t.violations.append(.invalidCandidate(index: try i64("violation")))
            case 1: t.violations.append(.repeatedCandidate(user: try text(), coupon: try text()))
            case 2: t.violations.append(.maxPerUser(user: try text(), count: try i64("violation"), cap: try i64("violation")))
            case 3: t.violations.append(.channelCap(user: try text(), channel: try text(), count: try i64("violation"),
                                                    cap: try i64("violation")))
            default: throw argument("tally: unknown violation kind \(kind)")
            }
        }
        guard at == bytes.count else { throw argument("tally: \(bytes.count - at) bytes after the end") }
        return t
    }
}
