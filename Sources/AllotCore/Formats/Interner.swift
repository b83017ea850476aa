/// Maps byte strings (identifiers read from a file) to dense integer ids, in order of first
/// appearance, without creating a `String` per lookup.
///
/// Open addressing with linear probing over a power-of-two table kept at most half full; the
/// key bytes live in one arena. A `String` is made once per distinct key, by `strings()`.
/// A slot holds the key's id and the high half of its hash, so that a probe past another key
/// costs no second memory access (with millions of keys each access is a cache miss).
struct ByteInterner {
    private var arena: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int32] = []
    private var hashes: [UInt64] = []
    /// Per slot: (high 32 bits of the hash) << 32 | (id + 1); 0 is an empty slot.
    private var table: [UInt64]
    private var mask: Int
    /// What `touch` read (kept, so that its loads are not optimised away).
    private var touched: UInt64 = 0

    /// - Parameter capacity: the keys expected: the table holds them without growing, and the
    ///   keys' arrays are reserved for them (no copy of millions of entries while they grow).
    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        table = [UInt64](repeating: 0, count: size)
        mask = size - 1
        offsets.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
        hashes.reserveCapacity(capacity)
        arena.reserveCapacity(capacity * 8)
    }

    var count: Int { offsets.count }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        // FNV-1a, folded with a final avalanche so that linear probing spreads well.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for k in 0..<n { h = (h ^ UInt64(p[k])) &* 0x100_0000_01B3 }
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }

    @inline(__always)
    private static func slotValue(_ h: UInt64, _ id: Int) -> UInt64 { (h & 0xFFFF_FFFF_0000_0000) | UInt64(id + 1) }

    /// The id of the key, adding it if new.
    ///
    /// - Complexity: expected O(n) in the key length.
    @inline(__always)
    mutating func intern(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        intern(p, n, hash: ByteInterner.hash(p, n))
    }

    /// Reads the first slot of each of these keys' hashes: independent loads, which the CPU
    /// overlaps, where the inserts that follow would each wait for one cache miss in turn.
    mutating func touch(_ keyHashes: UnsafeBufferPointer<UInt64>) {
        var sum: UInt64 = 0
        table.withUnsafeBufferPointer { t in
            for h in keyHashes { sum &+= t[Int(truncatingIfNeeded: h) & mask] }
        }
        touched = sum
    }

    /// `intern(p, n)` for a key whose `hash(p, n)` is `h`.
    @inline(__always)
    mutating func intern(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64) -> Int32 {
        let tag = h & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let value = table[slot]
            if value == 0 { break }
            if value & 0xFFFF_FFFF_0000_0000 == tag {
                let i = Int(value & 0xFFFF_FFFF) - 1
                if hashes[i] == h, Int(lengths[i]) == n, equalBytes(i, p, n) { return Int32(i) }
            }
            slot = (slot + 1) & mask
        }
        let id = offsets.count
        offsets.append(arena.count)
        lengths.append(Int32(n))
        hashes.append(h)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        table[slot] = ByteInterner.slotValue(h, id)
        if offsets.count * 2 > table.count { grow() }
        return Int32(id)
    }

    @inline(__always)
    private func equalBytes(_ i: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        arena.withUnsafeBufferPointer { a in
            let q = a.baseAddress! + offsets[i]
            for k in 0..<n where q[k] != p[k] { return false }
            return true
        }
    }

    private mutating func grow() {
        let size = table.count * 2
        table = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for i in 0..<hashes.count {
            var slot = Int(truncatingIfNeeded: hashes[i]) & mask
            while table[slot] != 0 { slot = (slot + 1) & mask }
            table[slot] = ByteInterner.slotValue(hashes[i], i)
        }
    }

    /// The keys as strings, indexed by id. Keys must be valid UTF-8 (the reader checks).
    func strings() -> [String] {
        arena.withUnsafeBufferPointer { a in
            (0..<offsets.count).map { i in
                String(decoding: UnsafeBufferPointer(start: a.baseAddress! + offsets[i], count: Int(lengths[i])), as: UTF8.self)
            }
        }
    }
}
