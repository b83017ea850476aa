import AllotCore

/// An allocation's predicted value on a randomised log's users beside the value it realised
/// there (`allot evaluate --predicted COLUMN`): how far the scores' promise is from what the
/// test measured, the check of the winner's curse on real data.
///
/// The prediction is the sum of the scores column over the allocation's candidates of the
/// users in the log (users missing from the log are left out, so both figures cover the same
/// users). The realised value is the IPW estimate `PolicyValue`. Their difference
/// `realised - predicted` is paired per log row: each row's term is its IPW term less its
/// user's prediction spread evenly over the user's rows, so the interval `Σ d ± 1.96 √N sd(d)`
/// is that of the IPW estimate of the same users' true value less the (fixed) prediction.
/// Unbiased for `true value - predicted` when the log's propensities are right.
public struct PredictedAgainstRealised: Codable, Equatable, Sendable {
    /// The scores column of the prediction (e.g. `uplift`).
    public var predictedColumn: String
    /// The prediction over the log's users.
    public var predicted: Double
    /// The IPW estimate on the log (the same as `policy_value`).
    public var realised: PolicyValue
    /// `realised - predicted`, with its 95% interval.
    public var difference: Double
    public var standardError: Double
    public var ci95Low: Double
    public var ci95High: Double

    enum CodingKeys: String, CodingKey {
        case predicted, realised, difference
        case predictedColumn = "predicted_column"
        case standardError = "standard_error"
        case ci95Low = "ci95_low"
        case ci95High = "ci95_high"
    }
}

extension RandomisedLog {
    /// The allocation's predicted value against its realised one (see `PredictedAgainstRealised`).
    ///
    /// - Parameters:
    ///   - problem: the scores the allocation was made from.
    ///   - allocation: the allocation.
    ///   - prediction: one value per candidate of `problem` (a scores column).
    ///   - column: the column's name, for the report.
    /// - Complexity: O(log rows + allocation size).
    public func predictedAgainstRealised(_ problem: Problem, _ allocation: Allocation, prediction: [Double],
                                         column: String) -> PredictedAgainstRealised {
        let t = problem.candidates
        var perUser: [String: Double] = [:]
        for j in allocation.candidates { perUser[t.userIDs[t.user(ofCandidate: j)], default: 0] += prediction[j] }
        var rowsOf: [String: Int] = [:]
        for r in rows { rowsOf[r.user, default: 0] += 1 }
        let assignments = PolicyValue.assignments(problem, allocation)
        let z = terms(.allocation(assignments))
        var predicted = 0.0
        for (user, value) in perUser where rowsOf[user] != nil { predicted += value }
        let d = zip(rows, z).map { r, term in term - (perUser[r.user] ?? 0) / Double(rowsOf[r.user]!) }
        let (difference, se) = Self.interval(d)
        var realised = value(of: .allocation(assignments))
        realised.unknownTreatmentRows = unknownTreatments(coupons: Set(t.couponIDs)).rows
        return PredictedAgainstRealised(predictedColumn: column, predicted: predicted, realised: realised, difference: difference,
                                        standardError: se, ci95Low: difference - 1.96 * se, ci95High: difference + 1.96 * se)
    }
}
