import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole content of an input file: memory-mapped for regular files, read into memory for
/// pipes and standard input (`-`). A gzip-compressed file (recognised by its magic bytes, not
/// its name) is decompressed into memory by the `decompressor` the program installs
/// (`AllotZlib`'s in the `allot` CLI), or rejected with a clear message without one.
public final class InputBytes {
    /// The name used in messages: the path, or `<stdin>`.
    public let name: String
    private var pointer: UnsafeMutableRawPointer?
    public private(set) var count: Int
    private var mapped: Bool
    /// The CSV field separator; nil detects a comma or a tab from the first line.
    public var delimiter: UInt8?
    /// The file's names of standard columns, by standard name: `["uplift": "tau"]` reads the
    /// column `tau` as `uplift` (the CLI's `--column uplift=tau`). Empty: the standard names.
    public var columnNames: [String: String] = [:]

    /// Decompresses gzip data: given the compressed bytes, their count and the file's name for
    /// messages, returns a buffer the caller then owns (free it with `deallocate()`) and its
    /// length, or throws an `InputError`.
    public typealias Decompressor = @Sendable (UnsafePointer<UInt8>, Int, String) throws -> (UnsafeMutableRawPointer, Int)

    /// Set at start-up, before any input is read (AllotZlib's `Gunzip.install()`).
    public static var decompressor: Decompressor? {
        get { installedDecompressor.withLock { $0 } }
        set { installedDecompressor.withLock { $0 = newValue } }
    }
    private static let installedDecompressor = Mutex<Decompressor?>(nil)

    /// - Throws: `InputError` naming the file when it cannot be opened or read.
    public init(path: String) throws {
        name = path == "-" ? "<stdin>" : path
        let fd = path == "-" ? 0 : open(path, O_RDONLY)
        if fd < 0 { throw InputError(file: path, "cannot read: \(String(cString: strerror(errno)))") }
        defer { if path != "-" { close(fd) } }
        var st = stat()
        if fstat(fd, &st) != 0 { throw InputError(file: name, "cannot read: \(String(cString: strerror(errno)))") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError(file: name, "cannot read: it is a directory") }
        if (st.st_mode & S_IFMT) == S_IFREG && st.st_size > 0 {
            let size = Int(st.st_size)
            guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
                throw InputError(file: name, "cannot read: \(String(cString: strerror(errno)))")
            }
            _ = madvise(p, size, MADV_SEQUENTIAL)
            pointer = p
            count = size
            mapped = true
            try recogniseFormat()
            return
        }
        // A pipe, a device or an empty file: read until end of input.
        var capacity = 1 << 20
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        var length = 0
        while true {
            if length == capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: length)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
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
        pointer = buffer
        count = length
        mapped = false
        try recogniseFormat()
    }

    /// Decompresses gzip content in place of the file's; rejects a Parquet file with a pointer
    /// to what reads it.
    private func recogniseFormat() throws {
        guard let pointer, count >= 4 else { return }
        let bytes = pointer.assumingMemoryBound(to: UInt8.self)
        if bytes[0] == 0x50, bytes[1] == 0x41, bytes[2] == 0x52, bytes[3] == 0x31 { // "PAR1"
            throw InputError(file: name, "this is a Parquet file, and allot reads CSV (or gzip-compressed CSV). From Python, `pip install ./python` and pass the data frame to `allot.solve`; or write CSV with pandas' `to_csv`")
        }
        guard bytes[0] == 0x1F, bytes[1] == 0x8B else { return }
        guard let gunzip = Self.decompressor else {
            throw InputError(file: name, "this file is gzip-compressed; decompress it first (gunzip)")
        }
        let (output, length) = try gunzip(UnsafePointer(bytes), count, name)
        if mapped { munmap(pointer, count) } else { pointer.deallocate() }
        self.pointer = output
        self.count = length
        mapped = false
    }


    /// Bytes given in memory, e.g. by tests.
    public init(name: String, bytes: [UInt8]) {
        self.name = name
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if $0.count > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        pointer = p
        count = bytes.count
        mapped = false
    }

    public convenience init(name: String, text: String) { self.init(name: name, bytes: Array(text.utf8)) }

    deinit {
        if mapped { munmap(pointer, count) } else { pointer?.deallocate() }
    }

    /// Runs `body` over the bytes; the buffer is valid only inside.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        // A non-null base address even when empty, so that scanners need no special case.
        if count == 0 {
            var zero: UInt8 = 0
            return try withUnsafeBytes(of: &zero) { try body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
        }
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
