import AllotCore
import CZlib

/// Gzip decompression with zlib, for inputs recognised by their magic bytes (docs/file-formats.md).
package enum Gunzip {
    /// The decompressed content of gzip data (several members are concatenated, as gunzip does).
    package static func decompress(_ input: UnsafePointer<UInt8>, _ inputCount: Int, name: String) throws -> (UnsafeMutableRawPointer, Int) {
        var capacity = max(1 << 20, inputCount * 4)
        var output = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        var length = 0
        var stream = z_stream()
        // 15 + 32: the largest window, and a gzip or zlib header detected automatically.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            output.deallocate()
            throw InputError(file: name, "cannot decompress: zlib failed to start")
        }
        defer { inflateEnd(&stream) }
        var consumed = 0
        while true {
            if length == capacity { doubleBuffer(&output, capacity: &capacity, keeping: length) }
            // zlib counts in 32-bit units: feed at most 1 GiB at a time.
            let inChunk = min(inputCount - consumed, 1 << 30)
            let outChunk = min(capacity - length, 1 << 30)
            stream.next_in = UnsafeMutablePointer(mutating: input + consumed)
            stream.avail_in = UInt32(inChunk)
            stream.next_out = (output + length).assumingMemoryBound(to: UInt8.self)
            stream.avail_out = UInt32(outChunk)
            let status = inflate(&stream, Z_NO_FLUSH)
            consumed += inChunk - Int(stream.avail_in)
            length += outChunk - Int(stream.avail_out)
            stream.next_in = nil
            stream.next_out = nil
            if status == Z_STREAM_END {
                // Another gzip member may follow.
                if consumed < inputCount, input[consumed] == 0x1F { inflateReset(&stream); continue }
                break
            }
            if status == Z_OK { continue }
            if status == Z_BUF_ERROR, stream.avail_out == 0 { continue }
            output.deallocate()
            if status == Z_BUF_ERROR { throw InputError(file: name, "the gzip data ends early: the file is truncated") }
            let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
            throw InputError(file: name, "the gzip data is corrupt (\(reason))")
        }
        return (output, length)
    }
}
