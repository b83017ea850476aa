import AllotCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The day's state on disk: an append-only journal of answered decisions, one JSON line each
/// (docs/reliability.md, "Live decisions").
///
/// Each decision's line is written (`write(2)`, to the kernel) under the engine's lock before
/// the decision is answered, so a killed process loses no answered decision; `fsync` runs at
/// most every `syncInterval` seconds (and on close), so a machine crash loses at most that long.
/// A last line without its newline (a write cut short) was never answered and is ignored.
public final class Journal: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var dirty = false
    private var lastSync = 0.0
    public let syncInterval: Double

    /// Opens (or creates) `DIR/journal.jsonl`.
    /// - Throws: `InputError` naming the path when it cannot be created or opened.
    public init(directory: String, syncInterval: Double = 0.05) throws {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("journal.jsonl")
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InputError(file: path, "cannot open the journal: \(String(cString: strerror(errno)))") }
        self.syncInterval = syncInterval
    }

    deinit {
        fsync(fd)
        close(fd)
    }

    /// Appends a record's line; syncs when the last sync is older than `syncInterval`.
    /// - Complexity: O(the line's length), one `write(2)`.
    public func append(_ record: DecisionRecord) {
        var line = Self.line(record)
        lock.withLock {
            line.withUTF8 { bytes in
                var done = 0
                while done < bytes.count {
                    let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                    if n < 0 { if errno == EINTR { continue }; break }
                    done += n
                }
            }
            dirty = true
            let now = monotonicNow()
            if now - lastSync >= syncInterval {
                fsync(fd)
                dirty = false
                lastSync = now
            }
        }
    }

    /// Syncs what was written.
    public func sync() {
        lock.withLock {
            if dirty { fsync(fd) }
            dirty = false
        }
    }

    /// The records of the journal at `DIR/journal.jsonl` (none when it does not exist).
    /// - Throws: `InputError` naming the file and line of a complete line that is not a record.
    public static func records(directory: String) throws -> [DecisionRecord] {
        let path = (directory as NSString).appendingPathComponent("journal.jsonl")
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var records: [DecisionRecord] = []
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        lines.removeLast()  // after the last newline: empty, or a line cut short
        for (k, line) in lines.enumerated() where !line.isEmpty {
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

    static func line(_ r: DecisionRecord) -> String {
        var s = "{\"u\":" + quoted(r.user) + ",\"g\":["
        for (k, g) in r.given.enumerated() {
            if k > 0 { s += "," }
            s += "{\"c\":" + quoted(g.coupon) + ",\"v\":\(g.uplift),\"k\":\(g.cost)"
            if let h = g.channel { s += ",\"h\":" + quoted(h) }
            s += ",\"a\":{" + g.consumption.sorted { $0.key < $1.key }.map { quoted($0.key) + ":\($0.value)" }.joined(separator: ",") + "}}"
        }
        return s + "]}\n"
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

func monotonicNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
