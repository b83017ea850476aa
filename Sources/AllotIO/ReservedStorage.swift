import AllotCore
import Dispatch
import Glibc

/// Page mapping ahead of need, for arrays reserved large and then filled (the C ABI's builder
/// reserves the whole table when its first chunk arrives).
///
/// Linux maps anonymous memory page by page as it is first written, at a page fault per 4 KiB:
/// on the 2-core VM of docs/benchmarks.md, filling 480 MB that way costs 0.25 s, while
/// `MADV_POPULATE_WRITE` maps the same pages in 0.15 s, and does it on another core while the
/// filling goes on. The call changes no memory's content (a page already mapped is skipped), so
/// it is harmless even when it runs late: on storage freed in the meantime it fails, or maps
/// pages of whatever reuses the addresses a little early.
package enum ReservedStorage {
    /// Starts mapping the reserved storage of `arrays`' (base address, bytes per element,
    /// capacity) on a background thread, in the order the rows fill them: the first `step`
    /// rows of each, then the next. Storage under 1 MiB is skipped. A no-op before Linux
    /// 5.14 (the call fails).
    ///
    /// - Complexity: O(1) for the caller; the kernel's work is O(total bytes).
    package static func populate(_ arrays: [(base: UInt, stride: Int, capacity: Int)], step: Int = 1 << 18) {
        let arrays = arrays.filter { $0.stride * $0.capacity >= 1 << 20 }
        guard let rows = arrays.map(\.capacity).max() else { return }
        DispatchQueue.global(qos: .userInitiated).async {
            let page = UInt(4096)
            for first in stride(from: 0, to: rows, by: step) {
                for a in arrays where first < a.capacity {
                    let start = (a.base + UInt(first * a.stride) + page - 1) & ~(page - 1)
                    let end = (a.base + UInt(min(a.capacity, first + step) * a.stride)) & ~(page - 1)
                    if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), 23 /* MADV_POPULATE_WRITE */) }
                }
            }
        }
    }
}
