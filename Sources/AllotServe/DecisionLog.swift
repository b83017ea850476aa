import AllotCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The decision log of `allot serve --explore` (docs/serve.md, "Exploration"): a CSV with the
/// header `user_id,treatment,propensity,snapshot`, one line per decision, in the decisions'
/// order. `treatment` is the coupon given or `control` (nothing); `propensity` its probability
/// under the randomised policy. Joined with an `outcome` column, it is a randomised log for
/// `allot evaluate --log` (docs/file-formats.md).
///
/// Each line is one `write(2)` (O_APPEND) under the engine's lock, so a killed process leaves
/// every answered decision's line, at most a last line cut short; it is fsynced on `sync()`
/// and when closed.
public final class DecisionLog: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    public static let header = "user_id,treatment,propensity,snapshot\n"

    /// Opens (or creates) the log at `path`, writing the header into an empty file.
    /// - Throws: `InputError` naming the path when it cannot be opened, or when a non-empty file
    ///   does not start with the header (it is not a decision log: it is not appended to).
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InputError(file: path, "cannot open the decision log: \(String(cString: strerror(errno)))") }
        var info = stat()
        fstat(fd, &info)
        if info.st_size == 0 {
            Self.write(fd, Self.header)
        } else {
            var head = [UInt8](repeating: 0, count: Self.header.utf8.count)
            let n = pread(fd, &head, head.count, 0)
            guard n == head.count, head == Array(Self.header.utf8) else {
                close(fd)
                throw InputError(file: path, line: 1, column: 1, "not a decision log (its first line is not \(Self.header.dropLast())): it is left as it is")
            }
        }
        self.fd = fd
    }

    deinit {
        fsync(fd)
        close(fd)
    }

    /// Appends the line of an explored decision (a record without a propensity is skipped).
    public func append(_ record: DecisionRecord) {
        guard let propensity = record.propensity else { return }
        let treatment = record.given.first?.coupon ?? "control"
        Self.write(fd, Self.field(record.user) + "," + Self.field(treatment) + ",\(propensity)," + (record.snapshot ?? "") + "\n")
    }

    public func sync() { fsync(fd) }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func field(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func write(_ fd: Int32, _ text: String) {
        var line = text
        line.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 { if errno == EINTR { continue }; break }
                done += n
            }
        }
    }
}
