#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files atomically: the bytes go to a temporary file in the same directory,
/// which is then renamed over the destination. A reader never sees a half-written file, and a
/// failure leaves any previous file untouched.
package enum AtomicFile {
    /// Checks, before any work is done, that `path` can later be written: its directory exists
    /// and is writable, and the path is not a directory.
    package static func checkWritable(_ path: String) throws {
        if path == "-" { return }
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw InputError(file: path, "cannot write output: it is a directory")
        }
        let dir = directory(of: path)
        if access(dir, W_OK) != 0 {
            throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno))) (directory '\(dir)')")
        }
    }

    /// Writes `bytes` to `path` atomically; `-` writes to standard output.
    package static func write(_ bytes: [UInt8], to path: String) throws {
        if path == "-" {
            try writeAll(fd: 1, bytes, path: "<stdout>")
            return
        }
        try checkWritable(path)
        var template = Array((directory(of: path) + "/.allot-tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 {
            throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno)))")
        }
        let tmp = String(cString: template)
        do {
            try writeAll(fd: fd, bytes, path: path)
            fchmod(fd, 0o644)
            if close(fd) != 0 {
                throw InputError(file: path, "cannot write output: \(String(cString: strerror(errno)))")
            }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw InputError(file: path, "cannot write output: \(reason)")
        }
    }

    package static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
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

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
