import AllotCore
import Glibc

extension InputBytes {
    /// The whole content of the file at `path`: memory-mapped for a regular file, read into
    /// memory for a pipe, a device or standard input (`-`). A gzip-compressed file (recognised
    /// by its magic bytes, not its name) is decompressed into memory; a Parquet file is refused
    /// with a pointer to what reads it.
    ///
    /// - Throws: `InputError` naming the file when it cannot be opened, read or decompressed.
    /// - Complexity: O(1) for a mapped file (pages are read as the readers touch them);
    ///   O(bytes) for a pipe or a compressed file.
    public convenience init(path: String) throws {
        let name = path == "-" ? "<stdin>" : path
        let fd = path == "-" ? 0 : open(path, O_RDONLY)
        if fd < 0 { throw InputError(file: path, "cannot read: \(String(cString: strerror(errno)))") }
        defer { if path != "-" { close(fd) } }
        var (pointer, count, mapped) = try Self.content(of: fd, name: name)
        do {
            if let decompressed = try Self.decompressedIfCompressed(pointer, count, name: name) {
                if mapped { munmap(pointer, count) } else { pointer?.deallocate() }
                (pointer, count, mapped) = (decompressed.pointer, decompressed.count, false)
            }
        } catch {
            if mapped { munmap(pointer, count) } else { pointer?.deallocate() }
            throw error
        }
        self.init(name: name, pointer: pointer, count: count,
                  release: mapped ? { p, n in munmap(p, n) } : { p, _ in p.deallocate() })
    }

    /// The file's bytes: mapped when it is a regular file, else read until end of input.
    private static func content(of fd: Int32, name: String) throws -> (UnsafeMutableRawPointer?, Int, Bool) {
        var st = stat()
        if fstat(fd, &st) != 0 { throw InputError(file: name, "cannot read: \(String(cString: strerror(errno)))") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError(file: name, "cannot read: it is a directory") }
        if (st.st_mode & S_IFMT) == S_IFREG && st.st_size > 0 {
            let size = Int(st.st_size)
            guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
                throw InputError(file: name, "cannot read: \(String(cString: strerror(errno)))")
            }
            _ = madvise(p, size, MADV_SEQUENTIAL)
            return (p, size, true)
        }
        // A pipe, a device or an empty file: read until end of input.
        var capacity = 1 << 20
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        var length = 0
        while true {
            if length == capacity { doubleBuffer(&buffer, capacity: &capacity, keeping: length) }
            let n = read(fd, buffer + length, capacity - length)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                buffer.deallocate()
                throw InputError(file: name, "cannot read: \(reason)")
            }
            if n == 0 { break }
            length += n
        }
        return (buffer, length, false)
    }

    /// The decompressed content of gzip bytes (nil when they are not gzip); refuses a Parquet
    /// file with a pointer to what reads it.
    private static func decompressedIfCompressed(_ pointer: UnsafeMutableRawPointer?, _ count: Int,
                                                 name: String) throws -> (pointer: UnsafeMutableRawPointer, count: Int)? {
        guard let pointer, count >= 4 else { return nil }
        let bytes = pointer.assumingMemoryBound(to: UInt8.self)
        if bytes[0] == 0x50, bytes[1] == 0x41, bytes[2] == 0x52, bytes[3] == 0x31 { // "PAR1"
            throw InputError(file: name, "this is a Parquet file, and allot reads CSV (or gzip-compressed CSV). From Python, `pip install ./python` and pass the data frame to `allot.solve`; or write CSV with pandas' `to_csv`")
        }
        guard bytes[0] == 0x1F, bytes[1] == 0x8B else { return nil }
        let (output, length) = try Gunzip.decompress(UnsafePointer(bytes), count, name: name)
        return (output, length)
    }
}

/// Doubles a raw buffer's capacity, keeping its first `length` bytes (the growth of the buffers
/// that a pipe or a decompression fills).
///
/// - Complexity: O(length).
func doubleBuffer(_ buffer: inout UnsafeMutableRawPointer, capacity: inout Int, keeping length: Int) {
    let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
    bigger.copyMemory(from: buffer, byteCount: length)
    buffer.deallocate()
    buffer = bigger
    capacity *= 2
}
