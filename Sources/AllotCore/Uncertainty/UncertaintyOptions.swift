/// How cautious the allocation is about its scores' errors (`--risk`).
public enum RiskAdjustment: Sendable, Equatable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    /// Solve on the point estimate less κ standard errors (`κ >= 0`; `0` is the plug-in problem).
    case kappa(Double)
    /// κ chosen from `autoGrid` by cross-validation over the draws (`ScoreDraws`): each κ's
    /// allocation chosen on one fold of the draws is valued on the other fold, both ways, and
    /// the κ of the highest held-out value (the smallest on a tie) is used on all the draws.
    case auto

    /// The κ that `auto` tries.
    public static let autoGrid: [Double] = [0, 0.25, 0.5, 1, 1.5, 2, 3]

    public init(floatLiteral value: Double) { self = .kappa(value) }
    public init(integerLiteral value: Int) { self = .kappa(Double(value)) }
}

/// How the uplift the solver optimises is made from uncertain scores (docs/algorithms.md,
/// "Decisions under noisy scores").
///
/// - `shrink`: empirical-Bayes shrinkage of each score towards its segment's prior.
/// - `risk = κ`: solve on the lower confidence bound `uplift - κ · se` (with `shrink`, the
///   shrunken score less κ posterior standard deviations). `κ = 0` without `shrink` is the
///   plug-in allocation, exactly today's. `risk = .auto` chooses κ over the draws.
/// - `quantile = p`: solve on each candidate's `p` quantile of its draws.
///
/// `shrink` and `risk = κ` need the scores' standard errors (column `uplift_se`) or draws
/// (`uplift_1 ... uplift_B`, whose mean and standard error then stand for the score); `auto`
/// and `quantile` need draws.
public struct UncertaintyOptions: Sendable, Equatable {
    public var shrink: Bool
    public var risk: RiskAdjustment?
    public var quantile: Double?

    public init(shrink: Bool = false, risk: RiskAdjustment? = nil, quantile: Double? = nil) {
        self.shrink = shrink
        self.risk = risk
        self.quantile = quantile
    }

    /// True when the scores' uncertainty is used at all.
    public var isActive: Bool { shrink || risk != nil || quantile != nil }

    /// True when only draws can serve (`--risk auto`, a quantile).
    public var needsDraws: Bool { risk == .auto || quantile != nil }

    /// The fixed κ (0 for none or `auto`, whose κ is chosen later).
    public var kappa: Double {
        if case .kappa(let k) = risk { return k }
        return 0
    }

    /// What is wrong with the combination, in one line, or nil. `name` gives the front end's
    /// name of an option from its key (`shrink`, `risk`, `risk_quantile`): `--risk-quantile` on
    /// the command line, `risk_quantile=` in Python.
    public func problem(naming name: (String) -> String) -> String? {
        if case .kappa(let k) = risk, !(k.isFinite && k >= 0) { return "\(name("risk")) must be a finite number >= 0, or auto" }
        if let q = quantile {
            guard q.isFinite, q > 0, q < 1 else { return "\(name("risk_quantile")) must be a number above 0 and below 1" }
            if shrink || risk != nil {
                return "\(name("risk_quantile")) solves on a quantile of the draws: give it without \(name("shrink")) and \(name("risk"))"
            }
        }
        return nil
    }

    /// The option as the command line names it, for messages.
    var flag: String { flag { "--" + $0.replacing("_", with: "-") } }

    /// The option in use as `name` names it from its key, for messages.
    func flag(naming name: (String) -> String) -> String {
        if quantile != nil { return name("risk_quantile") }
        if risk == .auto {
            let risk = name("risk")
            return risk.hasSuffix("=") ? risk + "\"auto\"" : risk + " auto"
        }
        return name(risk != nil ? "risk" : "shrink")
    }
}

/// An allocation's value under the scores' uncertainty, as an estimate with a 95% interval.
///
/// With standard errors: the sum of the allocation's shrunken scores (the empirical-Bayes
/// posterior means, `UncertainScores`), the interval from the sum of their posterior
/// variances (independent errors assumed; the prior's own estimation error is not in it).
/// With draws: cross-fitted on held-out draws (`UncertainProblem.prepare`).
public struct ExpectedObjective: Codable, Sendable, Equatable {
    public var value: Double
    public var ci95Low: Double
    public var ci95High: Double
    /// What the estimate rests on, e.g. "shrunken scores".
    public var basis: String
    /// The κ of `--risk` the allocation was solved with (for `auto`, the κ chosen), if any.
    public var riskKappa: Double?
    /// The quantile of the draws the allocation was solved on (`--risk-quantile`), if any.
    public var riskQuantile: Double?
    /// `--risk auto`: each κ tried and its held-out value (summed over both folds).
    public var crossValidation: [CrossValidationPoint]?

    public init(value: Double, ci95Low: Double, ci95High: Double, basis: String, riskKappa: Double? = nil,
                riskQuantile: Double? = nil, crossValidation: [CrossValidationPoint]? = nil) {
        self.value = value
        self.ci95Low = ci95Low
        self.ci95High = ci95High
        self.basis = basis
        self.riskKappa = riskKappa
        self.riskQuantile = riskQuantile
        self.crossValidation = crossValidation
    }

    enum CodingKeys: String, CodingKey {
        case value, basis
        case ci95Low = "ci95_low"
        case ci95High = "ci95_high"
        case riskKappa = "risk_kappa"
        case riskQuantile = "risk_quantile"
        case crossValidation = "cross_validation"
    }
}

/// One κ of `--risk auto` and the value its allocations reached on the held-out draws.
public struct CrossValidationPoint: Codable, Sendable, Equatable {
    public var kappa: Double
    /// The sum over both folds of the held-out value of the fold's allocation.
    public var heldOutValue: Double

    public init(kappa: Double, heldOutValue: Double) {
        self.kappa = kappa
        self.heldOutValue = heldOutValue
    }

    enum CodingKeys: String, CodingKey {
        case kappa
        case heldOutValue = "held_out_value"
    }
}
