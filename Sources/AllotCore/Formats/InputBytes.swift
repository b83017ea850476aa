/// The whole content of an input: bytes given in memory, or a file that AllotIO's
/// `InputBytes(path:)` maps, reads or decompresses. The readers of every format take one.
public final class InputBytes {
    /// The name used in messages: the path, or `<stdin>`.
    public let name: String
    private let pointer: UnsafeMutableRawPointer?
    public let count: Int
    private let release: Release
    /// The CSV field separator; nil detects a comma or a tab from the first line.
    public var delimiter: UInt8?
    /// The file's names of standard columns, by standard name: `["uplift": "tau"]` reads the
    /// column `tau` as `uplift` (the CLI's `--column uplift=tau`). Empty: the standard names.
    public var columnNames: [String: String] = [:]

    /// Gives back the bytes' memory when the `InputBytes` goes: unmaps a mapped file, or frees
    /// a buffer.
    package typealias Release = (UnsafeMutableRawPointer, Int) -> Void

    /// Bytes that `release` gives back when this object goes (AllotIO's mapped files).
    package init(name: String, pointer: UnsafeMutableRawPointer?, count: Int, release: @escaping Release) {
        self.name = name
        self.pointer = pointer
        self.count = count
        self.release = release
    }

    /// Bytes given in memory, e.g. by tests.
    public init(name: String, bytes: [UInt8]) {
        self.name = name
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if $0.count > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        pointer = p
        count = bytes.count
        release = { p, _ in p.deallocate() }
    }

    public convenience init(name: String, text: String) { self.init(name: name, bytes: Array(text.utf8)) }

    deinit {
        if let pointer { release(pointer, count) }
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
