import AllotCore
import Glibc
import Synchronization

/// Removes the process's temporary output files when SIGINT or SIGTERM arrives, then lets the
/// signal end the process as usual (docs/reliability.md).
///
/// The paths live in a fixed table of C strings allocated once, before the handlers are
/// installed, and never freed. The handler only reads that table and calls `unlink`, `signal`
/// and `raise`, which are async-signal-safe; it allocates nothing and takes no lock.
package enum TemporaryFiles {
    static let slots = 16
    static let pathCapacity = 4096

    /// The table: `slots` paths of `pathCapacity` bytes, and a flag per slot (1 when in use).
    /// Created by `install()`, before any handler can run.
    private struct Table: @unchecked Sendable {
        // Safe to share: the pointers never change after creation; a slot's bytes are written
        // only while its flag is 0 (under `lock`), and the flag is set after a memory fence.
        let paths: UnsafeMutablePointer<CChar>
        let used: UnsafeMutablePointer<Int32>
    }

    private static let table: Table = {
        let paths = UnsafeMutablePointer<CChar>.allocate(capacity: slots * pathCapacity)
        paths.initialize(repeating: 0, count: slots * pathCapacity)
        let used = UnsafeMutablePointer<Int32>.allocate(capacity: slots)
        used.initialize(repeating: 0, count: slots)
        return Table(paths: paths, used: used)
    }()

    private static let lock = Mutex(())

    private static let installed: Bool = {
        _ = table   // initialised before the handler can read it
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in TemporaryFiles.onSignal(signal) }
        sigemptyset(&action.sa_mask)
        sigaddset(&action.sa_mask, SIGINT)
        sigaddset(&action.sa_mask, SIGTERM)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // Over the file-size limit, a write fails with EFBIG instead of killing the process.
        Glibc.signal(SIGXFSZ, SIG_IGN)
        return true
    }()

    /// Installs the handlers (once).
    package static func install() { _ = installed }

    private static func onSignal(_ signal: Int32) {
        let t = table
        for i in 0..<slots {
            let inUse = t.used[i]
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if inUse != 0 { unlink(t.paths + i * pathCapacity) }
        }
        Glibc.signal(signal, SIG_DFL)
        raise(signal)
    }

    /// Registers a path; returns its slot, or -1 when the table is full or the path too long
    /// (that file is then not removed on a signal). Call with the signals blocked.
    package static func register(_ path: UnsafePointer<CChar>) -> Int {
        let n = strlen(path)
        guard n < pathCapacity else { return -1 }
        let t = table
        return lock.withLock { _ in
            for i in 0..<slots where t.used[i] == 0 {
                (t.paths + i * pathCapacity).update(from: path, count: n + 1)
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                t.used[i] = 1
                return i
            }
            return -1
        }
    }

    /// Forgets a slot (after its file was renamed or removed).
    package static func forget(_ slot: Int) {
        guard slot >= 0 && slot < slots else { return }
        let t = table
        lock.withLock { _ in
            t.used[slot] = 0
            atomicMemoryFence(ordering: .sequentiallyConsistent)
        }
    }

    /// Blocks (or unblocks) SIGINT and SIGTERM in the calling thread, so that creating a file
    /// and registering it, or renaming it and forgetting it, happen as one step.
    package static func blockSignals(_ block: Bool) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nil)
    }
}
