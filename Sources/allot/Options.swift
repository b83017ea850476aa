import Allot
import ArgumentParser

/// The problem's inputs, shared by every command that reads scores.
struct ProblemOptions: ParsableArguments {
    @Argument(help: "Scores CSV (or TSV, or either gzip-compressed): user_id,coupon_id,uplift,cost[,channel][,...]; '-' reads standard input.")
    var scores: String

    @Option(help: "Spec JSON with budgets, max_per_user, coupon_caps, channel_caps, min_roi.")
    var spec: String?

    // Unconditional: `--budget -5` reaches the range check instead of reading as a flag.
    @Option(parsing: .unconditional, help: "Budget on the cost column (overrides the spec's limit for that column).")
    var budget: Double?

    @Option(name: .customLong("max-per-user"), parsing: .unconditional, help: "At most this many incentives per user (default: 1, or the spec's).")
    var maxPerUser: Int?

    @Option(name: .customLong("column"), help: ArgumentHelp("Read the file's column OWN as the standard column NAME (user_id, coupon_id, uplift, cost, channel, or a spec's column); repeatable.", valueName: "NAME=OWN"),
            transform: ColumnMapping.parse)
    var columns: [ColumnMapping] = []

    @Option(help: "Field separator of the scores file: comma or tab (default: a tab when the header has tabs and no commas, otherwise a comma).")
    var delimiter: Delimiter?

    func validate() throws {
        let names = columns.map(\.standard)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw ValidationError("--column maps '\(escapingControlCharacters(repeated))' twice")
        }
    }

    func load(progress: ProgressLine) throws -> Problem {
        try Self.load(scores: scores, spec: spec, budget: budget, maxPerUser: maxPerUser, delimiter: delimiter,
                      columns: columns, progress: progress)
    }

    static func load(scores: String, spec: String?, budget: Double?, maxPerUser: Int?, delimiter: Delimiter? = nil,
                     columns: [ColumnMapping] = [], progress: ProgressLine) throws -> Problem {
        progress.begin("reading \(scores == "-" ? "<stdin>" : scores)")
        defer { progress.end() }
        let scoresInput = try InputBytes(path: scores)
        scoresInput.delimiter = delimiter?.byte
        scoresInput.columnNames = Dictionary(uniqueKeysWithValues: columns.map { ($0.standard, $0.own) })
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

/// `--column NAME=OWN`: the file calls the standard column NAME by OWN.
struct ColumnMapping {
    var standard: String
    var own: String

    static func parse(_ text: String) throws -> ColumnMapping {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ValidationError("--column '\(escapingControlCharacters(text))' must be NAME=OWN, e.g. uplift=tau")
        }
        return ColumnMapping(standard: parts[0], own: parts[1])
    }
}
