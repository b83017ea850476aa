import Allot
import AllotServe
import AllotServeHTTP
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer live decisions over HTTP from a snapshot's multipliers, with pacing.",
        discussion: """
            POST /v1/decide, POST /v1/decide-batch, POST /v1/snapshot (reload; SIGHUP reloads --snapshot), GET /health, GET /metrics, GET /v1/multipliers (docs/serve.md). The day's spend and counters live in a journal under --state. SIGTERM or SIGINT shuts down gracefully.

            Example:
              allot serve --snapshot snapshot.json --listen 127.0.0.1:8080 --state state
            """
    )

    @Option(help: "Snapshot JSON from allot solve --snapshot.") var snapshot: String
    @Option(help: "HOST:PORT to listen on (port 0: any free port, printed on standard error).") var listen: String = "127.0.0.1:8080"
    @Option(help: "Directory of the day's state (the journal); without it, nothing survives a restart.") var state: String?
    @Option(help: "Pacing rule: proportional or fixed.") var pacing: String = "proportional"
    @Option(help: "Pacing gain (docs/serve.md).") var gain: Double = Pacing().gain
    @Option(name: .customLong("body-limit"), help: "Largest request body, in bytes.") var bodyLimit: Int = 1 << 20
    @Option(help: "Exploration: with this probability a decision is drawn uniformly from nothing and every candidate that fits (needs --decision-log and a snapshot with max_per_user 1; docs/serve.md).")
    var explore: Double?
    @Option(name: .customLong("explore-seed"), help: "Seed of the exploration's draws (with the user id).") var exploreSeed: UInt64 = 0
    @Option(name: .customLong("decision-log"), help: "CSV of the explored decisions: user_id,treatment,propensity,snapshot (appended to).")
    var decisionLog: String?

    @Option(help: "Event-loop threads that parse and decide requests (default: one per core; docs/benchmarks.md).") var threads: Int?

    @Flag(name: .customLong("benchmark-echo"), help: .hidden) var benchmarkEcho = false
    @Option(name: .customLong("benchmark-parser"), help: .hidden) var benchmarkParser: String = ServeHTTP.Parser.schema.rawValue

    func validate() throws {
        guard Pacing.Rule(rawValue: pacing) != nil else { throw ValidationError("--pacing '\(pacing)' is not one of: proportional, fixed") }
        guard hostPort() != nil else { throw ValidationError("--listen '\(listen)' is not HOST:PORT") }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1") }
        guard bodyLimit > 0 else { throw ValidationError("--body-limit must be > 0") }
        if let explore, !(explore >= 0 && explore <= 1) { throw ValidationError("--explore is \(explore); it must be a probability from 0 to 1") }
        if (explore == nil) != (decisionLog == nil) { throw ValidationError("--explore and --decision-log go together: the log holds the explored decisions' propensities") }
        guard ServeHTTP.Parser(rawValue: benchmarkParser) != nil else { throw ValidationError("--benchmark-parser '\(benchmarkParser)' is not one of: schema, foundation") }
    }

    func hostPort() -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        return (String(listen[..<colon]), port)
    }

    func run() throws {
        try runReportingErrors {
            let snap = try Snapshot.load(path: snapshot)
            if explore != nil, snap.maxPerUser != 1 {
                throw InputError(file: snapshot, "--explore needs a snapshot with max_per_user 1 (this one has \(snap.maxPerUser)): a randomised log has one treatment per decision")
            }
            let service = try LiveService(snapshot: snap, stateDirectory: state,
                                          pacing: Pacing(rule: Pacing.Rule(rawValue: pacing)!, gain: gain),
                                          exploration: explore.map { Exploration(epsilon: $0, seed: exploreSeed) }, decisionLog: decisionLog,
                                          day: LiveService.utcDay)
            // Before anything makes Hummingbird's event loops (the application does).
            ServeHTTP.runHandlersOnTheEventLoops(threads: threads)
            let http = ServeHTTP(service: service, bodyLimit: bodyLimit, parser: ServeHTTP.Parser(rawValue: benchmarkParser)!)
            let (host, port) = hostPort()!
            // SIGHUP: reload the snapshot file; a bad file keeps the old snapshot.
            signal(SIGHUP, SIG_IGN)
            let path = snapshot
            let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            hup.setEventHandler {
                do {
                    let new = try Snapshot.load(path: path)
                    service.reload(new)
                    Terminal.say("reloaded snapshot \(new.version)")
                } catch {
                    Terminal.error("reload refused, the snapshot in force is kept: \(error)")
                }
            }
            hup.resume()
            let app = http.buildApplication(host: host, port: port, echo: benchmarkEcho) { bound in
                Terminal.say("allot serve: listening on \(host):\(bound), snapshot \(snap.version)")
            }
            let done = DispatchSemaphore(value: 0)
            let failure = Failure()
            Task {
                do { try await app.runService() } catch { failure.set(error) }
                done.signal()
            }
            done.wait()
            service.journal?.sync()
            service.decisionLog?.sync()
            if let error = failure.error {
                Terminal.error("the server stopped: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

private final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ e: Error) { lock.withLock { stored = e } }
    var error: Error? { lock.withLock { stored } }
}
