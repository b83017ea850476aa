/// How the uplift the solver optimises is made from uncertain scores (docs/algorithms.md,
/// "Decisions under noisy scores").
///
/// - `shrink`: empirical-Bayes shrinkage of each score towards its coupon's mean.
/// - `risk = κ`: solve on the lower confidence bound `uplift - κ · se` (with `shrink`, the
///   shrunken score less κ posterior standard deviations). `κ = 0` without `shrink` is the
///   plug-in allocation, exactly today's.
///
/// Either needs the scores' standard errors, column `uplift_se`.
public struct UncertaintyOptions: Sendable, Equatable {
    public var shrink: Bool
    public var risk: Double?

    public init(shrink: Bool = false, risk: Double? = nil) {
        self.shrink = shrink
        self.risk = risk
    }

    /// True when the scores' uncertainty is used at all.
    public var isActive: Bool { shrink || risk != nil }

    /// The option as the command line names it, for messages.
    var flag: String { risk != nil ? "--risk" : "--shrink" }
}

/// An allocation's value under the scores' uncertainty: the sum of the shrunken scores
/// (the empirical-Bayes posterior means) of its candidates, with a 95% normal interval from
/// the sum of their posterior variances (independent errors assumed).
public struct ExpectedObjective: Codable, Sendable, Equatable {
    public var value: Double
    public var ci95Low: Double
    public var ci95High: Double
    /// What the estimate rests on, e.g. "shrunken scores".
    public var basis: String
    /// The κ of `--risk` the allocation was solved with, if any.
    public var riskKappa: Double?

    public init(value: Double, ci95Low: Double, ci95High: Double, basis: String, riskKappa: Double? = nil) {
        self.value = value
        self.ci95Low = ci95Low
        self.ci95High = ci95High
        self.basis = basis
        self.riskKappa = riskKappa
    }

    enum CodingKeys: String, CodingKey {
        case value, basis
        case ci95Low = "ci95_low"
        case ci95High = "ci95_high"
        case riskKappa = "risk_kappa"
    }
}

/// Scores with standard errors, and their empirical-Bayes shrinkage.
///
/// The model, per group `g` (a coupon): `uplift_j = θ_j + e_j`, `θ_j ~ (m_g, τ²_g)`,
/// `e_j ~ (0, se_j²)` independent. Method of moments: `m_g` is the group's mean uplift,
/// `τ²_g = max(0, var_g - mean_g(se²))` (the spread of the scores less the noise's share), and
/// the posterior mean is `m_g + w_j (uplift_j - m_g)` with `w_j = τ²_g / (τ²_g + se_j²)`
/// (1 when both are 0), posterior variance `w_j se_j²` (exact for normal θ and e).
/// Deterministic: sums in candidate order.
public struct UncertainScores: Sendable {
    /// The scores as read.
    public let uplift: [Double]
    /// Their standard errors (>= 0).
    public let se: [Double]
    /// Posterior means (shrunken scores) and posterior variances.
    public let shrunk: [Double]
    public let posteriorVariance: [Double]

    /// - Complexity: O(n + groups).
    public init(uplift: [Double], se: [Double], group: [Int32], groupCount: Int) {
        precondition(uplift.count == se.count && uplift.count == group.count)
        self.uplift = uplift
        self.se = se
        var n = [Double](repeating: 0, count: groupCount)
        var sum = n, sumSquares = n, noise = n
        for j in uplift.indices {
            let g = Int(group[j])
            n[g] += 1
            sum[g] += uplift[j]
            sumSquares[g] += uplift[j] * uplift[j]
            noise[g] += se[j] * se[j]
        }
        var mean = n, signal = n
        for g in 0..<groupCount where n[g] > 0 {
            mean[g] = sum[g] / n[g]
            let variance = n[g] > 1 ? max(0, (sumSquares[g] - n[g] * mean[g] * mean[g]) / (n[g] - 1)) : 0
            signal[g] = max(0, variance - noise[g] / n[g])
        }
        var shrunk = uplift, posterior = se
        for j in uplift.indices {
            let g = Int(group[j])
            let s2 = se[j] * se[j]
            let w = signal[g] + s2 > 0 ? signal[g] / (signal[g] + s2) : 1
            shrunk[j] = mean[g] + w * (uplift[j] - mean[g])
            posterior[j] = w * s2
        }
        self.shrunk = shrunk
        self.posteriorVariance = posterior
    }

    /// The uplift the solver optimises under `options`. `risk = 0` without `shrink` returns
    /// `uplift` itself. - Complexity: O(n).
    public func solverUplift(_ options: UncertaintyOptions) -> [Double] {
        let kappa = options.risk ?? 0
        if options.shrink {
            if kappa == 0 { return shrunk }
            return shrunk.indices.map { shrunk[$0] - kappa * posteriorVariance[$0].squareRoot() }
        }
        if kappa == 0 { return uplift }
        return uplift.indices.map { uplift[$0] - kappa * se[$0] }
    }

    /// The expected value of an allocation (candidate indices): see `ExpectedObjective`.
    /// - Complexity: O(allocation size).
    public func expectedObjective(of candidates: [Int], riskKappa: Double?) -> ExpectedObjective {
        var value = 0.0, variance = 0.0
        for j in candidates {
            value += shrunk[j]
            variance += posteriorVariance[j]
        }
        let half = 1.959963984540054 * variance.squareRoot()
        return ExpectedObjective(value: value, ci95Low: value - half, ci95High: value + half,
                                 basis: "shrunken scores", riskKappa: riskKappa)
    }
}

/// A problem read with its uncertainty columns.
public struct UncertainProblem: Sendable {
    /// The problem to solve: its uplift is `UncertainScores.solverUplift` when options are active.
    public var problem: Problem
    /// The scores' uncertainty, when `uplift_se` was read.
    public var scores: UncertainScores?
    /// The named truth column (`--truth`), in candidate order.
    public var truth: [Double]?
    public var options: UncertaintyOptions

    /// The name of the standard errors' column.
    public static let seColumn = "uplift_se"

    /// Reads scores and spec as `ProblemLoader.load` does, plus `uplift_se` when `options` is
    /// active and the `truthColumn` when given.
    ///
    /// - Throws: `InputError`: `options` active and no `uplift_se` column (file, line 1,
    ///   column 1); a negative, empty or non-finite `uplift_se` or truth value (file, line,
    ///   column); and every error of `ProblemLoader.load`.
    /// - Complexity: O(bytes).
    public static func load(scores: InputBytes, spec specInput: InputBytes?,
                            overrides: ProblemLoader.Overrides = .init(), options: UncertaintyOptions = .init(),
                            truthColumn: String? = nil, progress: ((Double) -> Void)? = nil) throws -> UncertainProblem {
        let (spec, specName) = try ProblemLoader.resolvedSpec(scores: scores, spec: specInput, overrides: overrides)
        let header = try ScoresFile.header(of: scores)
        if options.isActive && !header.contains(seColumn) {
            throw InputError(file: scores.name, line: 1, column: 1,
                             "\(options.flag) needs the scores' standard errors, a column '\(seColumn)' (found: \(header.joined(separator: ",")))")
        }
        if let truthColumn, !header.contains(truthColumn) {
            throw InputError(file: scores.name, line: 1, column: 1,
                             "--truth names column '\(truthColumn)', which the header does not have (found: \(header.joined(separator: ",")))")
        }
        let budgetColumns = spec.extraColumns
        let extra = budgetColumns + (options.isActive ? [seColumn] : [])
        let rowColumns = spec.signedColumns
        let signed = rowColumns + (truthColumn.map { [$0] } ?? [])
        let read = try ScoresFile.read(scores, extraColumns: extra, signedColumns: signed, progress: progress)
        let kept = 1 + budgetColumns.count
        var se: [Double]? = nil
        if options.isActive { se = read.columns[kept] }
        let truth = truthColumn.map { _ in read.columns[read.columns.count - 1] }
        // The problem's columns: cost, the budgets', then the general rows' (after the extra ones).
        let rowStart = 1 + extra.count
        let columnIndices = Array(0..<kept) + Array(rowStart ..< rowStart + rowColumns.count)
        let uncertain = se.map { UncertainScores(uplift: read.uplift, se: $0, group: read.coupon, groupCount: read.couponCount) }
        let table = CandidateTable(userIDs: read.userIDs, couponIDs: read.couponIDs, channelNames: read.channelNames,
                                   userStart: read.userStart, coupon: read.coupon, channel: read.channel,
                                   uplift: uncertain?.solverUplift(options) ?? read.uplift,
                                   columnNames: columnIndices.map { read.columnNames[$0] }, columns: columnIndices.map { read.columns[$0] })
        let problem = try Problem(candidates: table, spec: spec, specName: specName)
        return UncertainProblem(problem: problem, scores: uncertain, truth: truth, options: options)
    }

    /// The expected value of `allocation` (nil without standard errors).
    public func expectedObjective(of allocation: Allocation) -> ExpectedObjective? {
        scores?.expectedObjective(of: allocation.candidates, riskKappa: options.risk)
    }

    /// The allocation's exact value under the truth column: the sum of its candidates' values.
    /// - Complexity: O(allocation size).
    public func trueValue(of allocation: Allocation) -> Double? {
        guard let truth else { return nil }
        var total = 0.0
        for j in allocation.candidates { total += truth[j] }
        return total
    }
}
