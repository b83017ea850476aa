import AllotCore
import Glibc

/// Writes output files atomically, one or several as one commit (docs/reliability.md).
///
/// Each file's bytes go to a temporary `.allot-tmp-*` file in the destination's directory and
/// are flushed to disk (fsync). Only when every temporary file of the commit is written are
/// they renamed over their destinations, and the directories synced. So a failure (a full disk,
/// an unwritable directory) leaves every previous output untouched, a reader never sees a
/// half-written file, and SIGINT or SIGTERM removes the temporary files.
///
/// Only regular files are replaced: a destination that is a symbolic link, a device, a FIFO, a
/// socket or a directory is refused (`-` is standard output).
package enum AtomicFile {
    /// Checks, before any work is done, that `path` can later be written: its directory exists
    /// and is writable, and the path is absent or a regular file (not a symbolic link).
    package static func checkWritable(_ path: String) throws {
        if path == "-" { return }
        var st = stat()
        if lstat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw InputError(file: path, "cannot write output: it is a directory")
            case S_IFLNK:
                throw InputError(file: path, "cannot write output: it is a symbolic link; Allot replaces only regular files (name the link's target instead)")
            default:
                throw InputError(file: path, "cannot write output: it is not a regular file (a device, FIFO or socket); name a regular file, or '-' for standard output")
            }
        }
        let dir = directory(of: path)
        if access(dir, W_OK) != 0 {
            throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno))) (directory '\(dir)')")
        }
    }

    /// Writes `bytes` to `path` atomically; `-` writes to standard output.
    package static func write(_ bytes: [UInt8], to path: String) throws {
        try commit([(path, bytes)])
    }

    package static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Writes several outputs together: every temporary file is written and flushed first, then
    /// all are renamed into place; outputs named `-` go to standard output last.
    ///
    /// - Throws: `InputError` naming the output at fault; then no destination was replaced,
    ///   unless a rename itself failed (which a prior `checkWritable` makes unlikely).
    ///
    /// `installingSignalHandlers: false` (a library inside a host process, such as Python, whose
    /// own SIGINT and SIGTERM handling must stay as it is) leaves the handlers alone: the
    /// temporary files are then removed on every error, but not by a signal's default action.
    /// Pauses inside a commit, the seam of the signal-handling tests (docs/reliability.md): a
    /// test holds the commit with its temporary files written, or between its renames, and
    /// sends a signal then.
    package struct Pauses: Sendable {
        /// Seconds after every temporary file is written, before the first rename.
        package var beforeRename: Double = 0
        /// Seconds after the first rename of a pair, before the second.
        package var betweenRenames: Double = 0
        package init(beforeRename: Double = 0, betweenRenames: Double = 0) {
            self.beforeRename = beforeRename
            self.betweenRenames = betweenRenames
        }

        /// None in a release build. A debug build (what the tests run as a separate process,
        /// since a signal ends it) reads them from `ALLOT_TEST_PAUSE_BEFORE_RENAME` and
        /// `ALLOT_TEST_PAUSE_BETWEEN_RENAMES`.
        package static var standard: Pauses {
            #if DEBUG
            func seconds(_ name: String) -> Double { getenv(name).flatMap { Double(String(cString: $0)) }.map { min(max($0, 0), 60) } ?? 0 }
            return Pauses(beforeRename: seconds("ALLOT_TEST_PAUSE_BEFORE_RENAME"), betweenRenames: seconds("ALLOT_TEST_PAUSE_BETWEEN_RENAMES"))
            #else
            return Pauses()
            #endif
        }
    }

    package static func commit(_ outputs: [(path: String, bytes: [UInt8])], installingSignalHandlers: Bool = true,
                               pauses: Pauses = .standard) throws {
        if installingSignalHandlers { TemporaryFiles.install() }
        var pending: [(temp: String, path: String, slot: Int)] = []
        defer {
            // Whatever was not renamed is removed.
            for p in pending {
                unlink(p.temp)
                TemporaryFiles.forget(p.slot)
            }
        }
        for (path, bytes) in outputs where path != "-" {
            try checkWritable(path)
            let (temp, fd, slot) = try createTemporary(for: path)
            pending.append((temp, path, slot))
            do {
                try writeAll(fd: fd, bytes, path: path)
                fchmod(fd, mode_t(0o666) & ~currentUmask())
                if fsync(fd) != 0 { throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno)))") }
            } catch {
                close(fd)
                throw error
            }
            if close(fd) != 0 { throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno)))") }
        }
        if pauses.beforeRename > 0 { usleep(useconds_t(pauses.beforeRename * 1e6)) }
        var directories: [String] = []
        // SIGINT and SIGTERM stay blocked from before the first rename to after the last, so that
        // a signal cannot split the pair: it is delivered (and the process dies of it) once every
        // file is in place.
        TemporaryFiles.blockSignals(true)
        defer { TemporaryFiles.blockSignals(false) }
        while !pending.isEmpty {
            let p = pending[0]
            // Re-checked just before the rename: the destination may have changed since.
            try checkWritable(p.path)
            let renamed = rename(p.temp, p.path) == 0
            let reason = errno
            if renamed {
                TemporaryFiles.forget(p.slot)
                pending.removeFirst()
            }
            if !renamed { throw InputError(file: p.path, "cannot write output: \(String(cString: strerror(reason)))") }
            let dir = directory(of: p.path)
            if !directories.contains(dir) { directories.append(dir) }
            if pending.count == 1, pauses.betweenRenames > 0 { usleep(useconds_t(pauses.betweenRenames * 1e6)) }
        }
        for dir in directories {
            let fd = open(dir, O_RDONLY | O_DIRECTORY)
            if fd >= 0 { _ = fsync(fd); close(fd) }
        }
        for (path, bytes) in outputs where path == "-" {
            try writeStandardOutput(bytes)
        }
    }

    /// Writes to standard output, reporting a failed write (a closed pipe, a full device).
    package static func writeStandardOutput(_ bytes: [UInt8]) throws {
        try writeAll(fd: 1, bytes, path: "<stdout>")
    }

    /// What `path` names, for telling whether two paths are the same file: the resolved path
    /// of the file, or of its directory when it does not exist yet; nil for `-`.
    package static func identity(_ path: String) -> String? {
        if path == "-" { return nil }
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let dir = directory(of: path)
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        guard let resolved = realpath(dir, nil) else { return path }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return (base == "/" ? "" : base) + "/" + name
    }

    /// A new temporary file beside `path`, registered for removal on SIGINT and SIGTERM.
    private static func createTemporary(for path: String) throws -> (String, Int32, Int) {
        var template = Array((directory(of: path) + "/.allot-tmp-XXXXXX").utf8CString)
        TemporaryFiles.blockSignals(true)
        defer { TemporaryFiles.blockSignals(false) }
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 {
            throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno)))")
        }
        let slot = template.withUnsafeBufferPointer { TemporaryFiles.register($0.baseAddress!) }
        return (String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self), fd, slot)
    }

    private static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    /// The process's file-creation mask, read from /proc (Linux) so that it is never changed,
    /// even for a moment (another thread may be creating files); where /proc cannot tell, by
    /// setting it and restoring it.
    static func currentUmask() -> mode_t {
        if let file = fopen("/proc/self/status", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 256)
            while fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasPrefix("Umask:") {
                    let digits = text.dropFirst(6).trimmingPrefix { $0 == " " || $0 == "\t" }.prefix { $0.isNumber }
                    if let mask = mode_t(digits, radix: 8) { return mask }
                }
            }
        }
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
