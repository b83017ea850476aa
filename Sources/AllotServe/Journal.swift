import AllotCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The day's state on disk: an append-only journal of answered decisions, one JSON line each
/// (docs/reliability.md, "Live decisions").
///
/// Each decision's line is written (`write(2)`, to the kernel) under the engine's lock before
/// the decision is answered, so a killed process loses no answered decision. A thread of its
/// own `fsync`s the journal every `syncInterval` seconds when something was written (and
/// `sync()` and closing do), off the decisions' path: a decision never waits for the disk, and
/// a machine crash loses at most the decisions of the last `syncInterval` plus one `fsync`.
/// A last line without its newline (a write cut short) was never answered and is ignored.
public final class Journal: @unchecked Sendable {
    public let path: String
    private let syncer: Syncer
    public let syncInterval: Double

    /// The descriptor and its sync state, shared with the sync thread (which outlives no
    /// journal: closing stops it).
    private final class Syncer: @unchecked Sendable {
        let fd: Int32
        let lock = NSCondition()
        var dirty = false
        var closed = false
        init(fd: Int32) { self.fd = fd }

        /// Syncs everything written so far. `fsync` runs outside the lock (appends mark
        /// `dirty` under it), so an append never waits for the disk.
        func syncNow() {
            lock.lock()
            guard !closed else { lock.unlock(); return }
            dirty = false
            lock.unlock()
            fsync(fd)
        }

        func run(interval: Double) {
            lock.lock()
            while !closed {
                _ = lock.wait(until: Date(timeIntervalSinceNow: interval))
                guard !closed else { break }
                if dirty {
                    dirty = false
                    lock.unlock()
                    fsync(fd)
                    lock.lock()
                }
            }
            lock.unlock()
        }
    }

    /// Opens (or creates) `DIR/journal.jsonl`; a new journal of a known `day` (UTC days since
    /// 1970-01-01) starts with the line `{"day":N}`.
    /// - Throws: `InputError` naming the path when it cannot be created or opened.
    public init(directory: String, day: Int? = nil, syncInterval: Double = 0.05) throws {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = Self.path(directory)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InputError(file: path, "cannot open the journal: \(String(cString: strerror(errno)))") }
        var info = stat()
        if let day, fstat(fd, &info) == 0, info.st_size == 0 {
            var line = "{\"day\":\(day)}\n"
            line.withUTF8 { _ = write(fd, $0.baseAddress!, $0.count) }
        }
        self.syncInterval = syncInterval
        let syncer = Syncer(fd: fd)
        self.syncer = syncer
        let thread = Thread { syncer.run(interval: syncInterval) }
        thread.name = "allot-journal-sync"
        thread.start()
    }

    deinit {
        // Stop the sync thread first, then the last sync and close: no fsync of a closed (or
        // reused) descriptor. An fsync the thread started may still run: close waits for it.
        syncer.lock.lock()
        syncer.closed = true
        syncer.lock.broadcast()
        syncer.lock.unlock()
        fsync(syncer.fd)
        close(syncer.fd)
    }

    /// Appends a record's line (one `write(2)`); the sync thread syncs it within
    /// `syncInterval`.
    /// - Complexity: O(the line's length).
    public func append(_ record: DecisionRecord) {
        let line = Self.line(record)
        syncer.lock.lock()
        line.withUnsafeBufferPointer { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(syncer.fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 { if errno == EINTR { continue }; break }
                done += n
            }
        }
        syncer.dirty = true
        syncer.lock.unlock()
    }

    /// Syncs what was written.
    public func sync() { syncer.syncNow() }

    static func path(_ directory: String) -> String { (directory as NSString).appendingPathComponent("journal.jsonl") }

    /// The day of the journal at `DIR/journal.jsonl` (its first line `{"day":N}`), or nil when
    /// there is none or it names no day.
    public static func day(directory: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path(directory)) else { return nil }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 64)) ?? Data()
        guard let end = head.firstIndex(of: 0x0A),
              let object = try? JSONSerialization.jsonObject(with: head[..<end]) as? [String: Any], object["u"] == nil else { return nil }
        return (object["day"] as? NSNumber)?.intValue
    }

    /// Moves the day's journal aside, to `DIR/journal-YYYY-MM-DD.jsonl` (its `day`), so that the
    /// next day starts with an empty one. Nothing to do when there is no journal.
    /// - Throws: `InputError` naming the file when it cannot be renamed.
    public static func archive(directory: String, day: Int) throws {
        let from = path(directory)
        guard FileManager.default.fileExists(atPath: from) else { return }
        let date = Date(timeIntervalSince1970: Double(day) * 86_400).ISO8601Format(.iso8601.year().month().day())
        var to = (directory as NSString).appendingPathComponent("journal-\(date).jsonl")
        var k = 2
        while FileManager.default.fileExists(atPath: to) {
            to = (directory as NSString).appendingPathComponent("journal-\(date)-\(k).jsonl")
            k += 1
        }
        guard rename(from, to) == 0 else {
            throw InputError(file: from, "cannot move the day's journal to \(to): \(String(cString: strerror(errno)))")
        }
    }

    /// The records of the journal at `DIR/journal.jsonl`, or of another `file` of the
    /// directory (a past day's); none when it does not exist.
    /// - Throws: `InputError` naming the file and line of a complete line that is not a record.
    public static func records(directory: String, file: String = "journal.jsonl") throws -> [DecisionRecord] {
        let path = (directory as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var records: [DecisionRecord] = []
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        lines.removeLast()  // after the last newline: empty, or a line cut short
        for (k, line) in lines.enumerated() where !line.isEmpty {
            if k == 0, line.starts(with: Array("{\"day\":".utf8)) { continue }  // the day's header
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let user = object["u"] as? String, let given = object["g"] as? [[String: Any]] else {
                throw InputError(file: path, line: k + 1, column: 1, "not a decision record")
            }
            var record = DecisionRecord(user: user, given: [])
            for g in given {
                guard let c = g["c"] as? String, let u = (g["v"] as? NSNumber)?.doubleValue,
                      let cost = (g["k"] as? NSNumber)?.doubleValue, let a = g["a"] as? [String: NSNumber] else {
                    throw InputError(file: path, line: k + 1, column: 1, "not a decision record")
                }
                record.given.append(.init(coupon: c, uplift: u, cost: cost, channel: g["h"] as? String,
                                          consumption: a.mapValues(\.doubleValue)))
            }
            records.append(record)
        }
        return records
    }

    /// The day's state rebuilt from the journal.
    public static func state(directory: String) throws -> DayState {
        var state = DayState()
        for r in try records(directory: directory) { state.apply(r) }
        return state
    }

    /// A record's line: `{"u":USER,"g":[{"c":COUPON,"v":UPLIFT,"k":COST,"h":CHANNEL,"a":{BUDGET:AMOUNT,...}},...]}`,
    /// budgets by name, as UTF-8 bytes.
    /// - Complexity: O(the line's length), appended to one byte array (cheaper than a `String`
    ///   grown piece by piece: docs/benchmarks.md, "where a request's time goes").
    static func line(_ r: DecisionRecord) -> [UInt8] {
        var s: [UInt8] = []
        s.reserveCapacity(32 + r.user.utf8.count + r.given.count * 96)
        s.append(contentsOf: #"{"u":"#.utf8)
        appendQuoted(r.user, to: &s)
        s.append(contentsOf: #","g":["#.utf8)
        for (k, g) in r.given.enumerated() {
            s.append(contentsOf: k > 0 ? #",{"c":"#.utf8 : #"{"c":"#.utf8)
            appendQuoted(g.coupon, to: &s)
            s.append(contentsOf: #","v":"#.utf8)
            s.append(contentsOf: g.uplift.description.utf8)
            s.append(contentsOf: #","k":"#.utf8)
            s.append(contentsOf: g.cost.description.utf8)
            if let h = g.channel {
                s.append(contentsOf: #","h":"#.utf8)
                appendQuoted(h, to: &s)
            }
            s.append(contentsOf: #","a":{"#.utf8)
            let amounts = g.consumption.count == 1 ? Array(g.consumption) : g.consumption.sorted { $0.key < $1.key }
            for (n, (name, amount)) in amounts.enumerated() {
                if n > 0 { s.append(UInt8(ascii: ",")) }
                appendQuoted(name, to: &s)
                s.append(UInt8(ascii: ":"))
                s.append(contentsOf: amount.description.utf8)
            }
            s.append(contentsOf: "}}".utf8)
        }
        s.append(contentsOf: "]}\n".utf8)
        return s
    }

    /// Appends `text` as a JSON string's UTF-8 bytes.
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var text = text
        let plain = text.withUTF8 { bytes -> Bool in
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) else { return false }
            out.append(0x22)
            out.append(contentsOf: bytes)
            out.append(0x22)
            return true
        }
        if !plain {
            var quoted = ""
            appendQuoted(text, to: &quoted)
            out.append(contentsOf: quoted.utf8)
        }
    }

    static func quoted(_ text: String) -> String {
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string; a text with nothing to escape is appended whole.
    /// - Complexity: O(the text's length); the check runs over its contiguous UTF-8 bytes (not
    ///   `String.UTF8View`'s index, several times slower for the short ids of a decision).
    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        var text = text
        if text.withUTF8({ $0.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C } }) {
            out += text
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
