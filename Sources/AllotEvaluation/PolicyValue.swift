import AllotCore

/// The value of an allocation on a randomised log, by inverse propensity weighting.
///
/// Log format (CSV, header required): `user_id,treatment,outcome[,propensity]`. `treatment` is a
/// coupon id or `control`; `propensity` is the probability that this row's treatment was
/// assigned, and defaults to the treatment's share of the log (right for a completely
/// randomised test).
///
/// With `π(u)` the coupon the allocation gives user `u` (or `control`), the estimate of the
/// total incremental outcome of following the allocation rather than giving nothing, over the
/// log's users, is
///
///     Δ = Σ_rows (1[T = π(u)] - 1[T = control]) x Y / p
///
/// (users the allocation leaves out contribute 0). It is unbiased when the propensities are
/// right. Its standard error is `sqrt(N) x sd(z)` over the N per-row terms `z`; the 95%
/// interval is `Δ ± 1.96 se`. A user holding several incentives matches any of them.
public struct PolicyValue: Codable, Equatable, Sendable {
    /// Estimated total incremental outcome over the log's users.
    public var incrementalOutcome: Double
    public var standardError: Double
    public var ci95Low: Double
    public var ci95High: Double
    /// Per log user: `incrementalOutcome / logUsers`.
    public var incrementalPerUser: Double
    public var logRows: Int
    public var logUsers: Int
    /// Log rows whose treatment is the one the allocation gives that user (not control).
    public var matchedRows: Int
    /// Users of the allocation with no row in the log.
    public var allocationUsersMissingFromLog: Int
    public var allocationUsers: Int
    /// Log rows whose treatment is neither the control arm nor a coupon of the scores: no
    /// policy over these scores can give it, so they add nothing to any estimate (nil when the
    /// scores were not at hand).
    public var unknownTreatmentRows: Int?

    enum CodingKeys: String, CodingKey {
        case incrementalOutcome = "incremental_outcome"
        case standardError = "standard_error"
        case ci95Low = "ci95_low"
        case ci95High = "ci95_high"
        case incrementalPerUser = "incremental_per_user"
        case logRows = "log_rows"
        case logUsers = "log_users"
        case matchedRows = "matched_rows"
        case allocationUsersMissingFromLog = "allocation_users_missing_from_log"
        case allocationUsers = "allocation_users"
        case unknownTreatmentRows = "unknown_treatment_rows"
    }

    /// - Parameters:
    ///   - input: the randomised log (CSV: user, treatment, propensity, outcome).
    ///   - assignments: per user id, the coupon ids the allocation gives.
    ///   - outcome: the log column to evaluate.
    /// - Throws: `InputError` with line and column for a malformed log.
    /// - Complexity: O(log size + allocation size).
    public static func estimate(log input: InputBytes, assignments: [String: Set<String>], outcome: String = "outcome") throws -> PolicyValue {
        let log = try RandomisedLog(input, outcome: outcome)
        return log.value(of: .allocation(assignments))
    }

    /// Per user id, the coupon ids an allocation gives.
    public static func assignments(_ problem: Problem, _ allocation: Allocation) -> [String: Set<String>] {
        let t = problem.candidates
        var result: [String: Set<String>] = [:]
        for j in allocation.candidates {
            result[t.userIDs[t.user(ofCandidate: j)], default: []].insert(t.couponIDs[Int(t.coupon[j])])
        }
        return result
    }
}

/// A policy to evaluate on a randomised log.
public enum LoggedPolicy: Sendable {
    /// Per user id, the coupon ids an allocation gives.
    case allocation([String: Set<String>])
    /// Uniform random targeting: `users` of the scores' users drawn uniformly, each given one
    /// of its candidate coupons uniformly. Its value is the exact expectation over the draw.
    case random(users: Int, candidates: [String: [String]])
    /// Nobody gets anything: every term is 0.
    case none

    /// Random targeting that reaches as many users as `assignments`, over `problem`'s candidates.
    public static func random(like assignments: [String: Set<String>], in problem: Problem) -> LoggedPolicy {
        let t = problem.candidates
        var candidates: [String: [String]] = [:]
        for u in 0..<t.userCount {
            candidates[t.userIDs[u]] = t.candidates(ofUser: u).map { t.couponIDs[Int(t.coupon[$0])] }
        }
        return .random(users: assignments.count, candidates: candidates)
    }

    /// The weight of a log row in the estimate: P(the policy gives `treatment`) minus, for a
    /// control row, P(the policy gives the user anything). Users the policy never reaches get 0
    /// (they get control under both policies).
    func weight(user: String, treatment: String, isControl: Bool) -> Double {
        switch self {
        case .none: return 0
        case .allocation(let assignments):
            guard let given = assignments[user] else { return 0 }
            return (!isControl && given.contains(treatment) ? 1 : 0) - (isControl ? 1 : 0)
        case .random(let users, let candidates):
            guard let coupons = candidates[user], !coupons.isEmpty, !candidates.isEmpty else { return 0 }
            let reach = min(1, Double(users) / Double(candidates.count))
            if isControl { return -reach }
            return coupons.contains(treatment) ? reach / Double(coupons.count) : 0
        }
    }
}

/// Two policies evaluated on the same log rows: the difference of their estimates, with a 95%
/// interval from the per-row differences (pairing removes the variance the two share).
public struct PolicyComparison: Codable, Equatable, Sendable {
    /// `allocation FILE`, `random` or `none`.
    public var against: String
    public var outcomeColumn: String
    public var policy: PolicyValue
    public var baseline: PolicyValue
    /// `policy - baseline`, total over the log's users.
    public var difference: Double
    public var standardError: Double
    public var ci95Low: Double
    public var ci95High: Double

    enum CodingKeys: String, CodingKey {
        case against, policy, baseline, difference
        case outcomeColumn = "outcome_column"
        case standardError = "standard_error"
        case ci95Low = "ci95_low"
        case ci95High = "ci95_high"
    }
}

/// The rows of a randomised log, read once, to evaluate several policies on the same rows.
public struct RandomisedLog: Sendable {
    struct Row: Sendable { var user: String; var treatment: String; var isControl: Bool; var outcome: Double; var weight: Double }
    let rows: [Row]
    let users: Set<String>
    public let name: String
    public let outcomeColumn: String
    /// The treatment that names the control arm (`allot evaluate --control`).
    public let control: String
    /// How the front end that made this log spells its options, for the messages.
    public let optionNames: OptionNames

    /// The options that name the control arm and the share of unknown treatments allowed, as a
    /// front end spells them in its messages.
    public struct OptionNames: Sendable, Equatable {
        public var control: String
        public var maxUnknownShare: String
        public init(control: String, maxUnknownShare: String) {
            self.control = control
            self.maxUnknownShare = maxUnknownShare
        }
        /// `allot evaluate`'s flags.
        public static let commandLine = OptionNames(control: "--control", maxUnknownShare: "--max-unknown-share")
        /// `allot.evaluate`'s keyword arguments (the C ABI's callers).
        public static let keywords = OptionNames(control: "control=", maxUnknownShare: "max_unknown_share=")
    }

    /// Reads `user_id,treatment,<outcome>[,propensity]`; `control` names the control arm.
    /// - Throws: `InputError` with line and column for a malformed log.
    public init(_ input: InputBytes, outcome outcomeColumn: String = "outcome", control: String = "control") throws {
        let name = input.name
        var raw: [Entry] = []
        try input.withBytes { buffer in
            try requireUTF8(buffer, file: name)
            var scanner = CSVScanner(buffer, delimiter: input.delimiter)
            defer { scanner.freeScratch() }
            var fields: [CSVScanner.Field] = []
            guard try scanner.nextRecord(into: &fields, file: name) != nil else {
                throw InputError(file: name, "the file is empty (expected a header: user_id,treatment,\(outcomeColumn)[,propensity])")
            }
            let header = fields.map { String(decoding: UnsafeBufferPointer(start: $0.start, count: $0.count), as: UTF8.self).trimmingSpaces() }
            let missing = ["user_id", "treatment", outcomeColumn].filter { !header.contains($0) }
            if !missing.isEmpty {
                throw InputError(file: name, line: 1, column: 1, "missing column\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")) in the header (found: \(header.joined(separator: ",")))")
            }
            let ui = header.firstIndex(of: "user_id")!, ti = header.firstIndex(of: "treatment")!, oi = header.firstIndex(of: outcomeColumn)!
            let pi = header.firstIndex(of: "propensity")
            func text(_ f: CSVScanner.Field) -> String { String(decoding: UnsafeBufferPointer(start: f.start, count: f.count), as: UTF8.self).trimmingSpaces() }
            func number(_ f: CSVScanner.Field, _ column: String, _ line: Int) throws -> Double {
                guard case .value(let v) = parseNumber(f.start, f.count) else {
                    throw InputError(file: name, line: line, column: f.column, "'\(text(f))' in column '\(column)' is not a finite number")
                }
                return v
            }
            while let line = try scanner.nextRecord(into: &fields, file: name) {
                guard fields.count == header.count else {
                    throw InputError(file: name, line: line, column: fields.last?.column ?? 1, "expected \(header.count) fields as in the header, found \(fields.count)")
                }
                var p: Double?
                if let pi {
                    let v = try number(fields[pi], "propensity", line)
                    guard v > 0, v <= 1 else { throw InputError(file: name, line: line, column: fields[pi].column, "propensity must be in (0, 1], got \(v)") }
                    p = v
                }
                let treatment = text(fields[ti])
                guard !treatment.isEmpty else { throw InputError(file: name, line: line, column: fields[ti].column, "empty treatment") }
                raw.append(Entry(user: text(fields[ui]), treatment: treatment, outcome: try number(fields[oi], outcomeColumn, line), propensity: p))
            }
        }
        guard !raw.isEmpty else { throw InputError(file: name, line: 2, "the log has a header but no rows") }
        try self.init(name: name, outcomeColumn: outcomeColumn, control: control, optionNames: .commandLine, entries: raw)
    }

    /// A log given as columns: row `r` is `users[r]`, `treatments[r]`, `outcomes[r]` and, when
    /// given, `propensities[r]`. Values are checked as the CSV's are; errors name the 0-based row.
    /// - Throws: `InputError` ("name: row N: ...") for a bad value, or for a log without rows.
    public init(name: String, outcome outcomeColumn: String = "outcome", control: String = "control",
                optionNames: OptionNames = .commandLine, users: [String], treatments: [String],
                outcomes: [Double], propensities: [Double]?) throws {
        guard users.count == treatments.count, users.count == outcomes.count, propensities.map({ $0.count == users.count }) ?? true else {
            throw InputError(file: name, "the log's columns differ in length")
        }
        func fail(_ r: Int, _ message: String) -> InputError { InputError(file: name, "row \(r): " + message) }
        var entries: [Entry] = []
        entries.reserveCapacity(users.count)
        for r in users.indices {
            guard outcomes[r].isFinite else { throw fail(r, "'\(outcomes[r])' in column '\(outcomeColumn)' is not a finite number") }
            var p: Double?
            if let propensities {
                let v = propensities[r]
                guard v.isFinite else { throw fail(r, "'\(v)' in column 'propensity' is not a finite number") }
                guard v > 0, v <= 1 else { throw fail(r, "propensity must be in (0, 1], got \(v)") }
                p = v
            }
            let treatment = treatments[r].trimmingSpaces()
            guard !treatment.isEmpty else { throw fail(r, "empty treatment") }
            entries.append(Entry(user: users[r].trimmingSpaces(), treatment: treatment, outcome: outcomes[r], propensity: p))
        }
        guard !entries.isEmpty else { throw InputError(file: name, "the log has no rows") }
        try self.init(name: name, outcomeColumn: outcomeColumn, control: control, optionNames: optionNames, entries: entries)
    }

    /// One row of the log as read, before weighting.
    struct Entry { var user: String; var treatment: String; var outcome: Double; var propensity: Double? }

    /// The rows weighted by their inverse propensity (the treatment's share of the log when
    /// no propensity is given). `raw` is not empty.
    private init(name: String, outcomeColumn: String, control: String, optionNames: OptionNames, entries raw: [Entry]) throws {
        self.name = name
        self.outcomeColumn = outcomeColumn
        self.control = control
        self.optionNames = optionNames
        var share: [String: Double] = [:]
        for r in raw { share[r.treatment, default: 0] += 1 }
        for k in share.keys { share[k]! /= Double(raw.count) }
        guard share[control] != nil else {
            let seen = share.keys.sorted().prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            throw InputError(file: name, "the log has no '\(control)' rows (treatments: \(seen)\(share.count > 5 ? ", ..." : "")): nothing to compare with; name the control arm with \(optionNames.control)")
        }
        rows = raw.map { Row(user: $0.user, treatment: $0.treatment, isControl: $0.treatment == control, outcome: $0.outcome,
                             weight: 1 / ($0.propensity ?? share[$0.treatment]!)) }
        users = Set(raw.map(\.user))
    }

    /// The rows whose treatment is neither the control arm nor one of `coupons`, and those
    /// treatments, most frequent first (ties by name).
    /// - Complexity: O(rows).
    public func unknownTreatments(coupons: Set<String>) -> (rows: Int, treatments: [String]) {
        var counts: [String: Int] = [:]
        for r in rows where !r.isControl && !coupons.contains(r.treatment) { counts[r.treatment, default: 0] += 1 }
        let names = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        return (counts.values.reduce(0, +), names)
    }

    /// Refuses a log of which more than `maxShare` of the rows have a treatment that is neither
    /// the control arm nor a coupon of `problem`: those rows drop out of every estimate, and a
    /// misspelt control arm or coupon would otherwise go unnoticed.
    /// - Returns: the number of such rows.
    /// - Throws: `InputError` naming the log, the share and the first such treatments.
    @discardableResult
    public func checkTreatments(_ problem: Problem, maxShare: Double) throws -> Int {
        let (count, names) = unknownTreatments(coupons: Set(problem.candidates.couponIDs))
        let share = Double(count) / Double(rows.count)
        if count > 0 && share > maxShare {
            let shown = names.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (names.count > 3 ? ", ..." : "")
            throw InputError(file: name, "\(Readable.count(count)) of \(Readable.count(rows.count)) log rows (\(Readable.percent(share))) have a treatment that is neither the control arm '\(control)' nor a coupon of the scores (\(shown)): they would be dropped from the estimate; name the control arm with \(optionNames.control), or allow up to that share with \(optionNames.maxUnknownShare)")
        }
        return count
    }

    /// The per-row terms `z` of a policy's estimate: Σ z is the estimate.
    func terms(_ policy: LoggedPolicy) -> [Double] {
        rows.map { r in
            let w = policy.weight(user: r.user, treatment: r.treatment, isControl: r.isControl)
            return w == 0 ? 0 : w * r.outcome * r.weight
        }
    }

    /// Total, standard error `sqrt(N) x sd(z)`, and the 95% interval of Σ z.
    static func interval(_ z: [Double]) -> (total: Double, se: Double) {
        let n = Double(z.count)
        let total = z.reduce(0, +)
        let mean = total / n
        let variance = z.count > 1 ? z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        return (total, (n * variance).squareRoot())
    }

    /// A policy's estimated incremental outcome over the log's users.
    public func value(of policy: LoggedPolicy) -> PolicyValue {
        let (total, se) = Self.interval(terms(policy))
        var matched = 0
        var reached = 0
        var missing = 0
        if case .allocation(let assignments) = policy {
            for r in rows where !r.isControl && assignments[r.user]?.contains(r.treatment) ?? false { matched += 1 }
            reached = assignments.count
            missing = assignments.keys.filter { !users.contains($0) }.count
        } else if case .random(let k, _) = policy {
            reached = k
        }
        return PolicyValue(incrementalOutcome: total, standardError: se, ci95Low: total - 1.96 * se, ci95High: total + 1.96 * se,
                           incrementalPerUser: total / Double(users.count), logRows: rows.count, logUsers: users.count,
                           matchedRows: matched, allocationUsersMissingFromLog: missing, allocationUsers: reached)
    }

    /// `policy - baseline` on the same rows, with its paired 95% interval.
    public func compare(_ policy: LoggedPolicy, against baseline: LoggedPolicy, named: String) -> PolicyComparison {
        let a = terms(policy), b = terms(baseline)
        let (difference, se) = Self.interval(zip(a, b).map { $0 - $1 })
        return PolicyComparison(against: named, outcomeColumn: outcomeColumn, policy: value(of: policy), baseline: value(of: baseline),
                                difference: difference, standardError: se, ci95Low: difference - 1.96 * se, ci95High: difference + 1.96 * se)
    }
}

/// What `allot evaluate` reports: the summary of the allocation, and its value on a randomised
/// log when one is given (the key `policy_value`, beside the summary's own keys).
public struct EvaluationReport: Encodable, Sendable {
    public var summary: Summary
    public var policyValue: PolicyValue?
    /// The allocation against another policy on the same log rows (`allot evaluate --against`).
    public var policyComparison: PolicyComparison?
    /// The allocation's predicted value on the log's users against its realised one
    /// (`allot evaluate --predicted`).
    public var predictedAgainstRealised: PredictedAgainstRealised?

    public init(summary: Summary, policyValue: PolicyValue? = nil, policyComparison: PolicyComparison? = nil,
                predictedAgainstRealised: PredictedAgainstRealised? = nil) {
        self.summary = summary
        self.policyValue = policyValue
        self.policyComparison = policyComparison
        self.predictedAgainstRealised = predictedAgainstRealised
    }

    /// What an allocation is compared with on the log (`allot evaluate --against`).
    public enum Baseline: Sendable {
        /// Uniform random targeting of as many users (the exact expectation over the draw).
        case random
        /// No incentives.
        case none
        /// Another allocation, named in the report.
        case allocation(Allocation, name: String)
    }

    /// The report of `allot evaluate`: the summary of `allocation` (verified in `report`) and,
    /// given a log, its value there and its paired difference with `baseline`.
    public init(problem: Problem, allocation: Allocation, report: VerificationReport,
                log: RandomisedLog? = nil, against baseline: Baseline? = nil) {
        let solution = Solution(method: "evaluate", status: report.isFeasible ? .feasible : .infeasible,
                                allocation: allocation, objective: report.objective)
        self.init(summary: Summary(problem: problem, solution: solution, report: report))
        guard let log else { return }
        let mine = PolicyValue.assignments(problem, allocation)
        policyValue = log.value(of: .allocation(mine))
        policyValue!.unknownTreatmentRows = log.unknownTreatments(coupons: Set(problem.candidates.couponIDs)).rows
        guard let baseline else { return }
        switch baseline {
        case .random: policyComparison = log.compare(.allocation(mine), against: .random(like: mine, in: problem), named: "random")
        case .none: policyComparison = log.compare(.allocation(mine), against: .none, named: "none")
        case .allocation(let other, let name):
            policyComparison = log.compare(.allocation(mine), against: .allocation(PolicyValue.assignments(problem, other)), named: name)
        }
    }

    enum CodingKeys: String, CodingKey {
        case policyValue = "policy_value"
        case policyComparison = "policy_comparison"
        case predictedAgainstRealised = "predicted_against_realised"
    }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(policyValue, forKey: .policyValue)
        try container.encodeIfPresent(policyComparison, forKey: .policyComparison)
        try container.encodeIfPresent(predictedAgainstRealised, forKey: .predictedAgainstRealised)
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() -> String { prettyJSON(self) }
}
