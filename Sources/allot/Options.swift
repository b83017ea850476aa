import Allot
import ArgumentParser

/// The problem's inputs, shared by every command that reads scores.
struct ProblemOptions: ParsableArguments {
    @Argument(help: "Scores CSV (or TSV, or either gzip-compressed): user_id,coupon_id,uplift,cost[,channel][,...]; '-' reads standard input.")
    var scores: String

    @Option(help: "Spec JSON with budgets (limit, min), max_per_user, coupon_caps, coupon_floors, channel_caps, min_roi, constraints.")
    var spec: String?

    // Unconditional: `--budget -5` reaches the range check instead of reading as a flag.
    @Option(parsing: .unconditional, help: "Budget on the cost column (overrides the spec's limit for that column).")
    var budget: Double?

    @Option(name: .customLong("max-per-user"), parsing: .unconditional, help: "At most this many incentives per user (default: 1, or the spec's).")
    var maxPerUser: Int?

    @Option(name: .customLong("budget-min"), parsing: .unconditional, help: "Spend floor of the budget on the cost column: spend at least this much (the spec's min for that budget).")
    var budgetMin: Double?

    @Option(name: .customLong("constraint"), help: ArgumentHelp("A general row, MIN <= sum of COLUMN over the allocation <= MAX, either bound empty (e.g. new_users:is_new:3000: ); repeatable, added after the spec's constraints.", valueName: "NAME:COLUMN:MIN:MAX"),
            transform: ConstraintArgument.parse)
    var constraints: [AllocationSpec.Constraint] = []

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
                      columns: columns, budgetMin: budgetMin, constraints: constraints, progress: progress)
    }

    static func load(scores: String, spec: String?, budget: Double?, maxPerUser: Int?, delimiter: Delimiter? = nil,
                     columns: [ColumnMapping] = [], budgetMin: Double? = nil, constraints: [AllocationSpec.Constraint] = [],
                     progress: ProgressLine) throws -> Problem {
        progress.begin("reading \(scores == "-" ? "<stdin>" : scores)")
        defer { progress.end() }
        let scoresInput = try InputBytes(path: scores)
        scoresInput.delimiter = delimiter?.byte
        scoresInput.columnNames = Dictionary(uniqueKeysWithValues: columns.map { ($0.standard, $0.own) })
        let specInput = try spec.map { try InputBytes(path: $0) }
        let fraction = Terminal.fraction(progress)
        return try ProblemLoader.load(scores: scoresInput, spec: specInput,
                                      overrides: .init(budget: budget, maxPerUser: maxPerUser, budgetMin: budgetMin,
                                                       constraints: constraints),
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

/// `--constraint NAME:COLUMN:MIN:MAX`: a general row of the spec, either bound empty.
enum ConstraintArgument {
    static func parse(_ text: String) throws -> AllocationSpec.Constraint {
        let shown = escapingControlCharacters(text)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
        guard parts.count == 4, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ValidationError("--constraint '\(shown)' must be NAME:COLUMN:MIN:MAX with either bound empty, e.g. new_users:is_new:3000:")
        }
        var bounds: [Double?] = [nil, nil]
        for (k, side) in ["MIN", "MAX"].enumerated() where !parts[2 + k].isEmpty {
            guard let v = Double(parts[2 + k]), v.isFinite else {
                throw ValidationError("--constraint '\(shown)': \(side) '\(escapingControlCharacters(parts[2 + k]))' must be a finite number or empty")
            }
            bounds[k] = v
        }
        guard bounds[0] != nil || bounds[1] != nil else {
            throw ValidationError("--constraint '\(shown)' has neither MIN nor MAX")
        }
        if let lo = bounds[0], let hi = bounds[1], lo > hi {
            throw ValidationError("--constraint '\(shown)': MIN \(lo) > MAX \(hi)")
        }
        return AllocationSpec.Constraint(name: parts[0], column: parts[1], min: bounds[0], max: bounds[1])
    }
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
