/// A gzip member holding `bytes` in stored (uncompressed) deflate blocks: valid gzip that any
/// reader must accept, written without a compression library (RFC 1951 section 3.2.4, RFC 1952).
public func gzipStored(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
    var offset = 0
    repeat {
        let n = min(65_535, bytes.count - offset)
        let last: UInt8 = offset + n == bytes.count ? 1 : 0
        out.append(last)
        out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
        out += bytes[offset ..< offset + n]
        offset += n
    } while offset < bytes.count
    out += littleEndian(crc32(bytes)) + littleEndian(UInt32(truncatingIfNeeded: bytes.count))
    return out
}

/// CRC-32 (IEEE 802.3), bit by bit.
public func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

private func littleEndian(_ x: UInt32) -> [UInt8] { (0..<4).map { UInt8((x >> (8 * $0)) & 0xFF) } }
