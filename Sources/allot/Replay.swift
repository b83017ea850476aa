import Allot
import AllotServe
import ArgumentParser
import Foundation

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a day of arrivals through the live decision and pacing code.",
        discussion: """
            Users of SCORES arrive one by one (in a seeded random order, round(traffic x the snapshot's forecast users) of them, or in the order of --arrivals) and are decided by the same code as `allot serve`, with the snapshot's constraints. Reports the spend path against the plan, the final spend, and the incremental GMV against the hindsight optimum (allot solve on the users who arrived), for the paced multipliers, the fixed multipliers and first-come greedy. Every policy's allocation is verified.

            Example:
              allot replay scores.csv --snapshot snapshot.json --traffic 1.3 --html replay.html
            """
    )

    @Argument(help: "Scores CSV of the day (the users who may arrive).") var scores: String
    @Option(help: "Snapshot JSON from allot solve --snapshot.") var snapshot: String
    @Option(help: "A file of user ids, one a line: the arrivals in order (default: a seeded random order).") var arrivals: String?
    @Option(help: "Arrivals as a multiple of the snapshot's forecast users (default: 1).") var traffic: Double = 1
    @Option(help: "Seed of the arrival order.") var seed: UInt64 = 1
    @Option(help: "Pacing rule: proportional or fixed.") var pacing: String = "proportional"
    @Option(help: "Pacing gain (docs/serve.md).") var gain: Double = Pacing().gain
    @Option(help: "HTML report output (the spend path chart).") var html: String?
    @Flag(help: "Print the report as JSON on standard output.") var json = false

    func validate() throws {
        guard Pacing.Rule(rawValue: pacing) != nil else { throw ValidationError("--pacing '\(pacing)' is not one of: proportional, fixed") }
        guard traffic.isFinite, traffic > 0 else { throw ValidationError("--traffic is \(traffic); it must be a number > 0") }
        guard gain.isFinite, gain >= 0 else { throw ValidationError("--gain is \(gain); it must be a number >= 0") }
        if arrivals != nil && traffic != 1 { throw ValidationError("--arrivals gives the arrivals: --traffic does not apply") }
    }

    func run() throws {
        try runReportingErrors {
            if let html { try AtomicFile.checkWritable(html) }
            let snap = try Snapshot.load(path: snapshot)
            let problem = try ProblemLoader.load(scores: try InputBytes(path: scores),
                                                 spec: InputBytes(name: snapshot, text: snap.specJSON))
            let order: [Int]
            if let arrivals {
                guard let data = FileManager.default.contents(atPath: arrivals) else { throw InputError(file: arrivals, "cannot read the arrivals file") }
                order = try Replay.arrivals(problem, orderFile: String(decoding: data, as: UTF8.self), file: arrivals)
            } else {
                order = try Replay.arrivals(problem, traffic: traffic, forecastUsers: snap.forecastUsers, seed: seed)
            }
            let report = try Replay.report(problem, arrivals: order, snapshot: snap,
                                           pacing: Pacing(rule: Pacing.Rule(rawValue: pacing)!, gain: gain))
            // The allocations index the whole day's candidates; users who did not arrive get nothing.
            for r in report.runs {
                let check = Verifier.verify(problem, r.allocation)
                guard check.isFeasible else {
                    Terminal.error("the \(r.policy) allocation fails verification:")
                    for v in check.violations.prefix(5) { Terminal.say("  " + v.description) }
                    throw ExitCode(3)
                }
            }
            if let html { try AtomicFile.write(ReplayChart.html(report), to: html) }
            if json { print(ReplayChart.json(report), terminator: "") } else { print(ReplayChart.text(report)) }
        }
    }
}
