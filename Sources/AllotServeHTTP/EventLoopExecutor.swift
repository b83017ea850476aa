import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Runs a task's jobs on one NIO event loop, as a Swift task executor (SE-0417).
///
/// Why (docs/benchmarks.md, "Live decisions: where a request's time goes"): a connection's task
/// awaits a nonisolated async function some 50 times per request (Hummingbird's and NIO's
/// iterators, writers, `withTaskCancellationHandler`). Run by NIO as the global executor,
/// each job runs *isolated to the event loop*, so each of those calls is a switch to the
/// generic executor: the job is enqueued again and the loop picks it up on a later pass, about
/// 1,700 instructions each. Run by this executor, a job runs on the generic executor with this
/// task executor, and a task that prefers it (`withTaskExecutorPreference`) calls nonisolated
/// functions in place: only the awaits that really wait (for the next bytes, for the socket)
/// enqueue a job.
///
/// - Complexity: one closure allocation per enqueued job; no thread hop when enqueued from the
///   loop itself.
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop
    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// One executor per loop of `group`, so that the tasks of one loop share one executor.
    static func perLoop(of group: any EventLoopGroup) -> [ObjectIdentifier: EventLoopExecutor] {
        var out: [ObjectIdentifier: EventLoopExecutor] = [:]
        for loop in group.makeIterator() { out[ObjectIdentifier(loop)] = EventLoopExecutor(loop) }
        return out
    }
}

/// A server child channel (`HTTP1Channel`) whose connections' tasks prefer the executor of
/// the event loop that owns their channel: the handler runs where the channel's bytes are read
/// and written, and its nonisolated calls do not hop (`EventLoopExecutor`).
struct OnTheChannelsLoop<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let executors: [ObjectIdentifier: EventLoopExecutor]

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        let loop = value.channel.eventLoop
        let executor = executors[ObjectIdentifier(loop)] ?? EventLoopExecutor(loop)
        await withTaskExecutorPreference(executor) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 (Hummingbird's `HTTP1Channel`), each connection's task on its channel's loop.
    static func http1OnTheChannelsLoop(group: any EventLoopGroup) -> HTTPServerBuilder {
        let executors = EventLoopExecutor.perLoop(of: group)
        return .init { responder in
            OnTheChannelsLoop(inner: HTTP1Channel(responder: responder), executors: executors)
        }
    }
}

/// The server's log: one line per event on standard error (`LABEL: LEVEL: MESSAGE
/// key=value ...`), `.warning` and above unless told otherwise.
///
/// Why not swift-log's `StreamLogHandler`: it formats its metadata again at every change, and
/// Hummingbird sets a request id in the metadata of every request (about 7,700 instructions a
/// request, docs/benchmarks.md); this one formats it only when it writes a line.
struct ServerLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }.merging(event.metadata ?? [:]) { $1 }
        let tail = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        FileHandle.standardError.write(Data("\(label): \(event.level): \(event.message)\(tail)\n".utf8))
    }
}
