import AllotCore
import Foundation

/// What `allot serve` runs behind its HTTP layer: the engine, its journal under `--state`, the
/// snapshot's version and the clock. Plain Swift, so tests and the C ABI use it in-process.
public final class LiveService: @unchecked Sendable {
    public let engine: DecisionEngine
    /// The journal of the day (a new one after each rollover).
    public var journal: Journal? { journalBox?.journal }
    private let journalBox: JournalBox?
    /// The UTC day, when days roll over (docs/serve.md, "State and its guarantees").
    public let dayClock: (@Sendable () -> Int)?
    private let lock = NSLock()
    private var version: String
    /// The time of day as a fraction in [0, 1).
    public let clock: @Sendable () -> Double

    /// The time of day in UTC, as a fraction.
    public static let utcTimeOfDay: @Sendable () -> Double = {
        Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400) / 86_400
    }

    /// The UTC day: days since 1970-01-01.
    public static let utcDay: @Sendable () -> Int = { Int((Date().timeIntervalSince1970 / 86_400).rounded(.down)) }

    /// With exploration, its log (docs/serve.md, "Exploration").
    public let decisionLog: DecisionLog?

    /// Starts the day from the journal under `stateDirectory` (empty when there is none). With
    /// `day`, a journal of an earlier day is first moved aside (`Journal.archive`), and so it is
    /// at the first decision of each later day: spend and counters start again from 0.
    ///
    /// - Parameters:
    ///   - snapshot: the multipliers, spec and spend plan to decide with.
    ///   - stateDirectory: where the journal lives; nil keeps the state in memory only.
    ///   - pacing: how the multipliers follow spend against the plan.
    ///   - exploration: randomised decisions, each written to `decisionLog` (a CSV path).
    ///   - decisionLog: the CSV path of the exploration's decisions.
    ///   - clock: the fraction of the day gone, in [0, 1) (UTC by default; tests inject one).
    ///   - day: the current day number; nil never rolls the day over.
    /// - Throws: `InputError` for a journal or decision log that cannot be opened or read.
    public init(snapshot: Snapshot, stateDirectory: String?, pacing: Pacing = Pacing(),
                exploration: Exploration? = nil, decisionLog: String? = nil,
                clock: @escaping @Sendable () -> Double = LiveService.utcTimeOfDay, day: (@Sendable () -> Int)? = nil) throws {
        let today = day?()
        if let stateDirectory, let today, let old = Journal.day(directory: stateDirectory), old < today {
            try Journal.archive(directory: stateDirectory, day: old)
        }
        let box = try stateDirectory.map { JournalBox(try Journal(directory: $0, day: today)) }
        let state = try stateDirectory.map { try Journal.state(directory: $0) } ?? DayState()
        let log = try decisionLog.map { try DecisionLog(path: $0) }
        journalBox = box
        dayClock = day
        self.decisionLog = log
        var hook: (@Sendable (DecisionRecord) -> Void)?
        if box != nil || log != nil {
            hook = { record in
                box?.journal.append(record)
                log?.append(record)
            }
        }
        var newDay: (@Sendable (Int, Int) throws -> Void)?
        if let box, let stateDirectory {
            newDay = { old, new in
                box.journal.sync()
                try Journal.archive(directory: stateDirectory, day: old)
                box.journal = try Journal(directory: stateDirectory, day: new)
            }
        }
        engine = DecisionEngine(snapshot: snapshot, pacing: pacing, state: state, exploration: exploration,
                                day: today ?? 0, onNewDay: newDay, onDecision: hook)
        version = snapshot.version
        self.clock = clock
    }

    /// The version of the snapshot in force.
    public var snapshotVersion: String { lock.withLock { version } }

    /// Decides one request; returns the response body.
    /// - Throws: `DecisionError` for a bad request.
    public func decide(_ request: DecideRequest) throws -> String {
        let given = try engine.decide(user: request.user, candidates: request.candidates, at: clock(), day: dayClock?())
        return DecideRequest.response(user: request.user, given: given, snapshot: snapshotVersion)
    }

    /// Decides a batch in order; a bad request anywhere refuses the whole batch before any
    /// decision. Returns the response body (a JSON list).
    public func decideBatch(_ requests: [DecideRequest]) throws -> String {
        for (k, r) in requests.enumerated() {
            do { try engine.validate(r.candidates) } catch let e as DecisionError { throw DecisionError("[\(k)]." + e.message) }
        }
        return "[" + (try requests.map { try decide($0) }).joined(separator: ",") + "]"
    }

    /// Replaces the snapshot atomically; the day's spend and counters carry over.
    public func reload(_ snapshot: Snapshot) {
        lock.withLock {
            engine.reload(snapshot)
            version = snapshot.version
        }
    }
}

/// The day's journal, replaced at a rollover; read and replaced under the engine's lock only.
private final class JournalBox: @unchecked Sendable {
    var journal: Journal
    init(_ journal: Journal) { self.journal = journal }
}
