import Allot
import ArgumentParser

/// The problem's inputs, shared by every command that reads scores.
struct ProblemOptions: ParsableArguments {
    @Argument(help: "Scores CSV: user_id,coupon_id,uplift,cost[,channel][,...]; '-' reads standard input.")
    var scores: String

    @Option(help: "Spec JSON with budgets, max_per_user, coupon_caps, channel_caps, min_roi.")
    var spec: String?

    @Option(help: "Budget on the cost column (overrides the spec's limit for that column).")
    var budget: Double?

    @Option(name: .customLong("max-per-user"), help: "At most this many incentives per user (default 1, or the spec's).")
    var maxPerUser: Int?

    func load() throws -> Problem {
        try Self.load(scores: scores, spec: spec, budget: budget, maxPerUser: maxPerUser)
    }

    static func load(scores: String, spec: String?, budget: Double?, maxPerUser: Int?) throws -> Problem {
        let scoresInput = try InputBytes(path: scores)
        let specInput = try spec.map { try InputBytes(path: $0) }
        let progress = Terminal.progress("reading \(scoresInput.name)")
        defer { progress?(1) }
        return try ProblemLoader.load(scores: scoresInput, spec: specInput,
                                      overrides: .init(budget: budget, maxPerUser: maxPerUser),
                                      progress: progress)
    }
}

/// Refuses, as a usage error before any work, two outputs naming the same file or an output
/// naming an input: either would silently overwrite.
func checkDistinctPaths(inputs: [String?], outputs: [String?]) throws {
    var seen: [String: String] = [:]
    for case let path? in outputs {
        guard let id = AtomicFile.identity(path) else { continue }
        if let other = seen[id] {
            throw ValidationError("outputs '\(escapingControlCharacters(other))' and '\(escapingControlCharacters(path))' are the same file")
        }
        seen[id] = path
    }
    for case let path? in inputs {
        guard let id = AtomicFile.identity(path), let output = seen[id] else { continue }
        throw ValidationError("output '\(escapingControlCharacters(output))' is the input '\(escapingControlCharacters(path))': it would be overwritten")
    }
}

/// An option error of the library, in the command line's words.
func commandLineMessage(_ error: InvalidOption) -> String {
    let flag: [String: String] = ["timeLimit": "--time-limit", "milp.timeLimit": "--time-limit", "threads": "--threads",
                                  "milp.relativeGap": "--gap", "dual.targetGap": "--gap"]
    guard let name = flag[error.option] else { return error.description }
    return "\(name) is \(error.value); it must be \(error.requirement)"
}
