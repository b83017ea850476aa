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
    }

    /// - Parameter assignments: per user id, the coupon ids the allocation gives.
    /// - Throws: `InputError` with line and column for a malformed log.
    /// - Complexity: O(log size + allocation size).
    public static func estimate(log input: InputBytes, assignments: [String: Set<String>]) throws -> PolicyValue {
        let name = input.name
        struct Row { var user: String; var treatment: String; var outcome: Double; var propensity: Double? }
        var rows: [Row] = []
        try input.withBytes { buffer in
            try requireUTF8(buffer, file: name)
            var scanner = CSVScanner(buffer)
            defer { scanner.freeScratch() }
            var fields: [CSVScanner.Field] = []
            guard try scanner.nextRecord(into: &fields, file: name) != nil else {
                throw InputError(file: name, "the file is empty (expected a header: user_id,treatment,outcome[,propensity])")
            }
            let header = fields.map { String(decoding: UnsafeBufferPointer(start: $0.start, count: $0.count), as: UTF8.self).trimmingSpaces() }
            let missing = ["user_id", "treatment", "outcome"].filter { !header.contains($0) }
            if !missing.isEmpty {
                throw InputError(file: name, line: 1, column: 1, "missing column\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")) in the header (found: \(header.joined(separator: ",")))")
            }
            let ui = header.firstIndex(of: "user_id")!, ti = header.firstIndex(of: "treatment")!, oi = header.firstIndex(of: "outcome")!
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
                rows.append(Row(user: text(fields[ui]), treatment: treatment, outcome: try number(fields[oi], "outcome", line), propensity: p))
            }
        }
        guard !rows.isEmpty else { throw InputError(file: name, line: 2, "the log has a header but no rows") }
        var share: [String: Double] = [:]
        for r in rows { share[r.treatment, default: 0] += 1 }
        for k in share.keys { share[k]! /= Double(rows.count) }
        guard share["control"] != nil else { throw InputError(file: name, "the log has no 'control' rows: nothing to compare with") }

        var z = [Double](repeating: 0, count: rows.count)
        var matched = 0
        var users = Set<String>()
        for (k, r) in rows.enumerated() {
            users.insert(r.user)
            let given = assignments[r.user]
            let follows = given?.contains(r.treatment) ?? false
            let control = r.treatment == "control"
            if follows { matched += 1 }
            // Users outside the allocation get control under both policies: their terms cancel.
            guard given != nil else { continue }
            let weight = (follows ? 1.0 : 0.0) - (control ? 1.0 : 0.0)
            if weight != 0 { z[k] = weight * r.outcome / (r.propensity ?? share[r.treatment]!) }
        }
        let n = Double(rows.count)
        let total = z.reduce(0, +)
        let mean = total / n
        let variance = rows.count > 1 ? z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        let se = (n * variance).squareRoot()
        let missing = assignments.keys.filter { !users.contains($0) }.count
        return PolicyValue(incrementalOutcome: total, standardError: se, ci95Low: total - 1.96 * se, ci95High: total + 1.96 * se,
                           incrementalPerUser: total / Double(users.count), logRows: rows.count, logUsers: users.count,
                           matchedRows: matched, allocationUsersMissingFromLog: missing, allocationUsers: assignments.count)
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

/// What `allot evaluate` reports: the summary of the allocation, and its value on a randomised
/// log when one is given (the key `policy_value`, beside the summary's own keys).
public struct EvaluationReport: Encodable, Sendable {
    public var summary: Summary
    public var policyValue: PolicyValue?

    public init(summary: Summary, policyValue: PolicyValue? = nil) {
        self.summary = summary
        self.policyValue = policyValue
    }

    enum CodingKeys: String, CodingKey { case policyValue = "policy_value" }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(policyValue, forKey: .policyValue)
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() -> String { prettyJSON(self) }
}
