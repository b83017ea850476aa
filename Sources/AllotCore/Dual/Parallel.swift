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
        let count = max(1, min(1024, (users + target - 1) / target))
        bounds = (0...count).map { users * $0 / count }
        self.threads = max(1, threads)
    }

    var count: Int { bounds.count - 1 }
    func users(_ chunk: Int) -> Range<Int> { bounds[chunk] ..< bounds[chunk + 1] }

    /// Runs `body` on every chunk, `threads` at a time, and returns the results in chunk order.
    func map<T>(_ body: (Int, Range<Int>) -> T) -> [T] {
        parallelMap(count, threads: threads) { body($0, users($0)) }
    }
}

/// `body(0) ... body(n - 1)`, run by `threads` workers (worker `w` takes `w`, `w + threads`, ...),
/// with the results in index order: the same whatever the thread count, when `body` depends
/// only on its index.
func parallelMap<T>(_ n: Int, threads: Int, _ body: (Int) -> T) -> [T] {
    let results = UnsafeMutablePointer<T?>.allocate(capacity: n)
    results.initialize(repeating: nil, count: n)
    defer { results.deinitialize(count: n); results.deallocate() }
    let workers = min(max(1, threads), n)
    // Each index is written by exactly one worker, and read only after every worker is done.
    withoutActuallyEscaping(body) { body in
        if workers <= 1 {
            for c in 0..<n { results[c] = body(c) }
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var c = w
                while c < n {
                    results[c] = body(c)
                    c += workers
                }
            }
        }
    }
    return (0..<n).map { results[$0]! }
}
