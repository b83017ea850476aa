import Allot
import ArgumentParser

/// The problem's inputs, shared by every command that reads scores.
struct ProblemOptions: ParsableArguments {
    @Argument(help: "Scores CSV (or TSV, or either gzip-compressed): user_id,coupon_id,uplift,cost[,channel][,...]; '-' reads standard input.")
    var scores: String

    @Option(help: "Spec JSON with budgets, max_per_user, coupon_caps, channel_caps, min_roi.")
    var spec: String?

    @Option(help: "Budget on the cost column (overrides the spec's limit for that column).")
    var budget: Double?

    @Option(name: .customLong("max-per-user"), help: "At most this many incentives per user (default: 1, or the spec's).")
    var maxPerUser: Int?

    @Option(help: "Field separator of the scores file: comma or tab (default: a tab when the header has tabs and no commas, otherwise a comma).")
    var delimiter: Delimiter?

    func load(progress: ProgressLine) throws -> Problem {
        try Self.load(scores: scores, spec: spec, budget: budget, maxPerUser: maxPerUser, delimiter: delimiter, progress: progress)
    }

    static func load(scores: String, spec: String?, budget: Double?, maxPerUser: Int?, delimiter: Delimiter? = nil,
                     progress: ProgressLine) throws -> Problem {
        progress.begin("reading \(scores == "-" ? "<stdin>" : scores)")
        defer { progress.end() }
        let scoresInput = try InputBytes(path: scores)
        scoresInput.delimiter = delimiter?.byte
        let specInput = try spec.map { try InputBytes(path: $0) }
        let fraction = Terminal.fraction(progress)
        return try ProblemLoader.load(scores: scoresInput, spec: specInput,
                                      overrides: .init(budget: budget, maxPerUser: maxPerUser),
                                      progress: fraction)
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

/// An option error of the library, in the command line's words (`SolveOptions.frontEndOptions`).
func commandLineMessage(_ error: InvalidOption) -> String {
    guard let option = SolveOptions.frontEndOption(setting: error.option) else { return error.description }
    return option.message(error, commandLine: true)
}

enum Delimiter: String, ExpressibleByArgument, CaseIterable {
    case comma, tab
    var byte: UInt8 { self == .comma ? 0x2C : 0x09 }
}
