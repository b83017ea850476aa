import Dispatch

/// Users cut into a fixed number of contiguous chunks, processed by a fixed pool of workers.
///
/// Chunk boundaries depend only on the number of users, never on the thread count, and every
/// per-chunk result is combined in chunk order: results are bit-identical whatever the number
/// of threads.
struct UserChunks {
    let bounds: [Int]
    let threads: Int

    init(users: Int, threads: Int) {
        let target = 1 << 14   // users per chunk, enough to amortise scheduling
        // Smaller problems (the warm start's sample, 1e5 users) still get 8 chunks when they
        // have 1,024 users per chunk: both cores busy, and no chunk twice another's size.
        let count = max(1, min(1024, max((users + target - 1) / target, min(8, users / 1024))))
        bounds = (0...count).map { users * $0 / count }
        self.threads = max(1, threads)
    }

    var count: Int { bounds.count - 1 }
    func users(_ chunk: Int) -> Range<Int> { bounds[chunk] ..< bounds[chunk + 1] }

    /// Runs `body` on every chunk, `threads` at a time, and returns the results in chunk order.
    ///
    /// - Complexity: the chunks' work divided over `threads` workers, plus O(chunks).
    func map<T: Sendable>(_ body: @Sendable (Int, Range<Int>) -> T) -> [T] {
        let bounds = self.bounds
        return parallelMap(count, threads: threads) { body($0, bounds[$0] ..< bounds[$0 + 1]) }
    }
}

/// `body(0) ... body(n - 1)`, run by `threads` workers (worker `w` takes `w`, `w + threads`, ...),
/// with the results in index order: the same whatever the thread count when `body` depends
/// only on its index.
func parallelMap<T: Sendable>(_ n: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let results = ChunkResults<T>(count: n)
    let workers = min(max(1, threads), n)
    withoutActuallyEscaping(body) { body in
        if workers <= 1 {
            for c in 0..<n { results.store(body(c), at: c) }
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var c = w
                while c < n {
                    results.store(body(c), at: c)
                    c += workers
                }
            }
        }
    }
    return results.values()
}

/// One slot per index, written by the worker that owns the index.
///
/// `@unchecked Sendable` is safe here: worker `w` writes only the slots `c ≡ w (mod workers)`,
/// so no slot is written twice or by two threads, and `values()` is read only after
/// `concurrentPerform` has returned, which waits for every worker (a happens-before edge).
private final class ChunkResults<T: Sendable>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<T?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func store(_ value: T, at index: Int) { slots[index] = value }

    func values() -> [T] { (0..<count).map { slots[$0]! } }
}

/// A buffer lent by `withUnsafe(Mutable)BufferPointer` to the workers of `parallelMap`.
///
/// `@unchecked Sendable` is safe where it is used: the lending call encloses the whole
/// `parallelMap`, which returns only after every worker has finished, so the buffer outlives
/// every access; read-only buffers are never written; a mutable buffer is written only at
/// indices owned by one worker (each use says why).
struct Lent<Buffer>: @unchecked Sendable {
    let buffer: Buffer
    init(_ buffer: Buffer) { self.buffer = buffer }
}
