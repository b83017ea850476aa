import Allot
import ArgumentParser

/// `--shrink` and `--risk`: solving on scores made cautious by their standard errors
/// (`UncertaintyOptions`, docs/algorithms.md).
struct UncertaintyFlags: ParsableArguments {
    @Flag(help: "Replace each score by its empirical-Bayes posterior mean, the prior fitted per coupon and per level of the user's other scores (needs a column uplift_se; docs/algorithms.md).")
    var shrink = false

    @Option(help: ArgumentHelp("Solve on the lower confidence bound uplift - K x uplift_se (needs a column uplift_se, or draws uplift_1..uplift_B: their mean less K standard errors of it); 0 is the plug-in allocation; auto chooses K by cross-validation over the draws.", valueName: "K|auto"))
    var risk: String?

    @Option(name: .customLong("risk-quantile"), help: ArgumentHelp("Solve on each candidate's P quantile of its draws uplift_1..uplift_B (0 < P < 1).", valueName: "P"))
    var riskQuantile: Double?

    func validate() throws {
        if let risk, risk != "auto", Double(risk) == nil { throw ValidationError("--risk must be a finite number >= 0, or auto") }
        if let problem = options.problem(naming: { "--" + $0.replacing("_", with: "-") }) {
            throw ValidationError(problem)
        }
    }

    var options: UncertaintyOptions {
        let adjustment: RiskAdjustment? = risk.map { $0 == "auto" ? .auto : .kappa(Double($0) ?? .nan) }
        return UncertaintyOptions(shrink: shrink, risk: adjustment, quantile: riskQuantile)
    }
}

extension ProblemOptions {
    /// The problem with its uncertainty columns (`UncertainProblem.load`).
    func loadUncertain(options: UncertaintyOptions, truthColumn: String? = nil, otherColumns: [String] = [],
                       threads: Int = SolveOptions().threads, progress: ProgressLine) throws -> UncertainProblem {
        progress.begin("reading \(scores == "-" ? "<stdin>" : scores)")
        defer { progress.end() }
        let scoresInput = try InputBytes(path: scores)
        scoresInput.delimiter = delimiter?.byte
        let specInput = try spec.map { try InputBytes(path: $0) }
        return try UncertainProblem.load(scores: scoresInput, spec: specInput,
                                         overrides: .init(budget: budget, maxPerUser: maxPerUser, budgetMin: budgetMin,
                                                          constraints: constraints),
                                         options: options, truthColumn: truthColumn, otherColumns: otherColumns, threads: threads,
                                         progress: Terminal.fraction(progress))
    }
}

/// The summary's expected objective in words, for the CLI's last line.
func describeExpected(_ e: ExpectedObjective) -> String {
    let chosen = e.crossValidation != nil ? e.riskKappa.map { ", kappa \(significant($0)) chosen" } ?? "" : ""
    return "expected \(human(e.value)) (95% interval \(human(e.ci95Low)) to \(human(e.ci95High)), \(e.basis))\(chosen)"
}

/// An evaluation report's JSON with `true_value` (`allot evaluate --truth`) among its keys.
struct WithTrueValue: Encodable {
    var report: EvaluationReport
    var trueValue: Double?

    enum Key: String, CodingKey { case trueValue = "true_value" }

    func encode(to encoder: Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(trueValue, forKey: .trueValue)
    }
}
