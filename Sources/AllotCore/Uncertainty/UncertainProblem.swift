/// A problem with its scores' uncertainty: standard errors (`uplift_se`) or draws
/// (`uplift_1 ... uplift_B`), and the problem the solver gets under `UncertaintyOptions`.
///
/// With standard errors the solver's problem is ready at `init`. With draws and active options,
/// `prepare(seed:solve:)` solves on folds of the draws first: for `--risk auto` to choose κ,
/// and for every option to value the allocation on draws its selection did not see.
public struct UncertainProblem: Sendable {
    /// The problem to solve: its uplift is the options' solver uplift (after `prepare` with draws).
    public var problem: Problem
    /// The plug-in problem: the scores as read.
    public let plugIn: Problem
    /// The scores' uncertainty, when `uplift_se` or draws were read (with draws: their mean and
    /// its standard error).
    public var scores: UncertainScores?
    /// The draws, when read.
    public var draws: ScoreDraws?
    /// The named truth column (`--truth`), in candidate order.
    public var truth: [Double]?
    /// Further scores columns read by name (`load`'s `otherColumns`), in candidate order.
    public var columns: [String: [Double]] = [:]
    public var options: UncertaintyOptions
    /// `--risk auto`: the κ chosen (after `prepare`).
    public private(set) var chosenKappa: Double?
    /// With draws: the cross-fitted expected objective (after `prepare`).
    private var heldOut: ExpectedObjective?
    private let threads: Int

    /// The name of the standard errors' column.
    public static let seColumn = "uplift_se"

    /// - Parameters:
    ///   - plugIn: the problem on the scores as read.
    ///   - se: each candidate's standard error (>= 0), or nil.
    ///   - draws: the draws (each of `plugIn`'s candidate count), or nil; with draws, `se` is not used.
    ///   - truth: the truth column (`--truth`), in candidate order, or nil.
    ///   - options: how the solver's uplift is made.
    ///   - source: the scores' name, for messages.
    ///   - threads: worker threads for the posteriors; the result does not depend on it.
    ///   - naming: the front end's name of an option from its key (`shrink`, `risk`,
    ///     `risk_quantile`), for messages; nil: the command line's (`--risk`).
    /// - Throws: `InputError` naming `source` when the options need standard errors or draws
    ///   that were not given.
    /// - Complexity: that of `UncertainScores.init` when the options are active; O(n · B) for draws.
    public init(plugIn: Problem, se: [Double]?, draws: ScoreDraws?, truth: [Double]? = nil, options: UncertaintyOptions,
                source: String, threads: Int = SolveOptions().threads, naming: ((String) -> String)? = nil) throws {
        self.plugIn = plugIn
        self.problem = plugIn
        self.draws = draws
        self.truth = truth
        self.options = options
        self.threads = threads
        guard options.isActive else { return }
        let flag = naming.map { options.flag(naming: $0) } ?? options.flag
        if options.needsDraws && draws == nil {
            throw InputError(file: source, "\(flag) needs draws of the scores, columns uplift_1 to uplift_B (at least \(ScoreDraws.minimum))")
        }
        let t = plugIn.candidates
        let basis: (mean: [Double], se: [Double])? = draws.map { $0.meanAndStandardError() } ?? se.map { (t.uplift, $0) }
        guard let basis else {
            throw InputError(file: source, "\(flag) needs the scores' standard errors, a column '\(Self.seColumn)', or draws uplift_1 to uplift_B")
        }
        if options.quantile == nil {
            scores = UncertainScores(uplift: basis.mean, se: basis.se, group: t.coupon, groupCount: t.couponCount,
                                     userStart: t.userStart, threads: threads, posteriors: options.shrink)
        }
        guard options.risk != .auto else { return }  // chosen in `prepare`
        if let q = options.quantile, let draws {
            problem = plugIn.withUplift(draws.quantile(q))
        } else if let scores, options.shrink || options.kappa != 0 || draws != nil {
            problem = plugIn.withUplift(scores.solverUplift(options))
        }
    }

    /// True when `prepare` must run before the solve (draws and active options).
    public var needsPreparation: Bool { draws != nil && options.isActive && heldOut == nil }

    /// With draws: solves on the two folds of the draws (`ScoreDraws.folds`), each fold's
    /// allocation chosen on the other fold's draws and valued on its own; for `--risk auto`
    /// once per κ of `RiskAdjustment.autoGrid`, choosing the κ of the highest held-out value
    /// (the smallest on a tie), then sets `problem` on all the draws. The expected objective
    /// is the mean of the two folds' held-out values at the κ used, its interval from the
    /// spread of the per-draw values (`ScoreDraws.value`): the value of the rule on half the
    /// draws, a conservative estimate for the allocation on all of them.
    ///
    /// Deterministic for a seed whatever the thread count when `solve` is.
    ///
    /// - Parameters:
    ///   - seed: cuts the draws into folds.
    ///   - solve: the method's allocation (candidate indices) of a problem.
    /// - Complexity: 2 solves (2 · 7 with `auto`), plus O(n · B) per fold.
    public mutating func prepare(seed: UInt64, solve: (Problem) throws -> [Int]) throws {
        guard let draws, options.isActive else { return }
        let folds = draws.folds(seed: seed)
        let kappas = options.risk == .auto ? RiskAdjustment.autoGrid : [options.kappa]
        // values[κ][f]: fold f's allocation at κ, valued on fold f's draws.
        var values = [[(value: Double, se: Double)]](repeating: [], count: kappas.count)
        for f in 0..<2 {
            let train = folds[1 - f], test = folds[f]
            let uplift = foldUplift(draws, train: train)
            for (k, kappa) in kappas.enumerated() {
                let chosen = try solve(plugIn.withUplift(uplift(kappa)))
                values[k].append(draws.value(of: chosen, under: test))
            }
        }
        var best = 0
        for k in kappas.indices where values[k][0].value + values[k][1].value > values[best][0].value + values[best][1].value {
            best = k
        }
        let v = values[best]
        let value = (v[0].value + v[1].value) / 2
        let half = 1.959963984540054 * (v[0].se * v[0].se + v[1].se * v[1].se).squareRoot() / 2
        var basis = "held-out draws (the allocation solved on half of the \(draws.count) draws, valued on the other half, both ways)"
        var points: [CrossValidationPoint]? = nil
        if options.risk == .auto {
            chosenKappa = kappas[best]
            points = kappas.indices.map { CrossValidationPoint(kappa: kappas[$0], heldOutValue: values[$0][0].value + values[$0][1].value) }
            basis += "; kappa chosen by cross-validation"
            let scores = scores!
            problem = plugIn.withUplift(scores.solverUplift(shrink: options.shrink, kappa: kappas[best]))
        }
        heldOut = ExpectedObjective(value: value, ci95Low: value - half, ci95High: value + half, basis: basis,
                                    riskKappa: options.quantile == nil ? kappas[best] : nil, riskQuantile: options.quantile,
                                    crossValidation: points)
    }

    /// The solver uplift at κ from the `train` draws alone, as `init` makes it from all of them.
    private func foldUplift(_ draws: ScoreDraws, train: [Int]) -> (Double) -> [Double] {
        if let q = options.quantile {
            let quantile = draws.quantile(q, of: train)
            return { _ in quantile }
        }
        let basis = draws.meanAndStandardError(of: train)
        let t = plugIn.candidates
        let scores = UncertainScores(uplift: basis.mean, se: basis.se, group: t.coupon, groupCount: t.couponCount,
                                     userStart: t.userStart, threads: threads, posteriors: options.shrink)
        let shrink = options.shrink
        return { kappa in scores.solverUplift(shrink: shrink, kappa: kappa) }
    }

    /// The expected value of `allocation`: with draws, the cross-fitted held-out value (nil
    /// before `prepare`); else under the shrunken scores (nil without standard errors).
    public func expectedObjective(of allocation: Allocation) -> ExpectedObjective? {
        if draws != nil && options.isActive { return heldOut }
        return scores?.expectedObjective(of: allocation.candidates, riskKappa: options.risk == nil ? nil : options.kappa)
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

extension UncertainProblem {
    /// Reads scores and spec as `ProblemLoader.load` does, plus `uplift_se` or the draws
    /// `uplift_1 ... uplift_B` when `options` is active, the `truthColumn` when given, and
    /// `otherColumns` (finite numbers of any sign) into `columns`.
    ///
    /// - Throws: `InputError`: `options` active and neither `uplift_se` nor draws (or, for
    ///   `auto` and quantiles, no draws) in the header (file, line 1, column 1); draw columns
    ///   numbered with a gap, or fewer than `ScoreDraws.minimum` (file, line 1 and the column);
    ///   a negative, empty or non-finite `uplift_se`, draw or truth value (file, line, column);
    ///   and every error of `ProblemLoader.load`.
    /// - Complexity: O(bytes).
    public static func load(scores: InputBytes, spec specInput: InputBytes?,
                            overrides: ProblemLoader.Overrides = .init(), options: UncertaintyOptions = .init(),
                            truthColumn: String? = nil, otherColumns: [String] = [], threads: Int = SolveOptions().threads,
                            progress: ((Double) -> Void)? = nil) throws -> UncertainProblem {
        let (spec, specName) = try ProblemLoader.resolvedSpec(scores: scores, spec: specInput, overrides: overrides)
        let header = try ScoresFile.header(of: scores)
        var drawColumns: [String] = []
        if options.isActive {
            var columns: [Int] = [], at = 1
            for name in header { columns.append(at); at += name.utf8.count + 1 }
            drawColumns = try ScoreDraws.columns(in: header, file: scores.name, columns: columns)
            let found = "(found: \(header.joined(separator: ",")))"
            if options.needsDraws && drawColumns.isEmpty {
                throw InputError(file: scores.name, line: 1, column: 1,
                                 "\(options.flag) needs draws of the scores, columns uplift_1 to uplift_B \(found)")
            }
            if drawColumns.isEmpty && !header.contains(seColumn) {
                throw InputError(file: scores.name, line: 1, column: 1,
                                 "\(options.flag) needs the scores' standard errors, a column '\(seColumn)', or draws uplift_1 to uplift_B \(found)")
            }
        }
        if let truthColumn, !header.contains(truthColumn) {
            throw InputError(file: scores.name, line: 1, column: 1,
                             "--truth names column '\(truthColumn)', which the header does not have (found: \(header.joined(separator: ",")))")
        }
        for name in otherColumns where !header.contains(name) {
            throw InputError(file: scores.name, line: 1, column: 1,
                             "no column '\(name)' in the header (found: \(header.joined(separator: ",")))")
        }
        var named: [String] = truthColumn.map { [$0] } ?? []
        for name in otherColumns where !named.contains(name) { named.append(name) }
        let readSE = options.isActive && drawColumns.isEmpty
        let budgetColumns = spec.extraColumns
        let extra = budgetColumns + (readSE ? [seColumn] : [])
        let rowColumns = spec.signedColumns
        let signed = rowColumns + drawColumns + named
        let read = try ScoresFile.read(scores, extraColumns: extra, signedColumns: signed, progress: progress)
        let kept = 1 + budgetColumns.count
        let se = readSE ? read.columns[kept] : nil
        let rowStart = 1 + extra.count
        let drawStart = rowStart + rowColumns.count
        let draws = drawColumns.isEmpty ? nil : ScoreDraws(values: Array(read.columns[drawStart ..< drawStart + drawColumns.count]))
        let namedStart = drawStart + drawColumns.count
        let truth = truthColumn.map { _ in read.columns[namedStart] }
        // The problem's columns: cost, the budgets', then the general rows'.
        let columnIndices = Array(0..<kept) + Array(rowStart ..< rowStart + rowColumns.count)
        let table = CandidateTable(userIDs: read.userIDs, couponIDs: read.couponIDs, channelNames: read.channelNames,
                                   userStart: read.userStart, coupon: read.coupon, channel: read.channel, uplift: read.uplift,
                                   columnNames: columnIndices.map { read.columnNames[$0] }, columns: columnIndices.map { read.columns[$0] })
        let plugIn = try Problem(candidates: table, spec: spec, specName: specName)
        var problem = try UncertainProblem(plugIn: plugIn, se: se, draws: draws, truth: truth, options: options,
                                           source: scores.name, threads: threads)
        for (k, name) in named.enumerated() { problem.columns[name] = read.columns[namedStart + k] }
        return problem
    }
}
