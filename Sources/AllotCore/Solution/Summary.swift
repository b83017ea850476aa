import FoundationEssentials

/// The summary JSON of one solve: what the method claims, and what the verifier found.
public struct Summary: Codable, Equatable, Sendable {
    public struct BudgetLine: Codable, Equatable, Sendable {
        public var name: String
        public var column: String
        public var spend: Double
        public var limit: Double
        /// The spend floor, when the spec sets one.
        public var min: Double?
        /// Incremental GMV per extra unit of this budget, when known.
        public var shadowPrice: Double?

        enum CodingKeys: String, CodingKey {
            case name, column, spend, limit, min
            case shadowPrice = "shadow_price"
        }
    }

    /// One general row of the spec's `constraints`: its sum over the allocation and its bounds.
    public struct ConstraintLine: Codable, Equatable, Sendable {
        public var name: String
        public var column: String
        public var value: Double
        public var min: Double?
        public var max: Double?
    }

    public var method: String
    public var status: String
    public var objective: Double
    public var budgets: [BudgetLine]
    public var totalCost: Double
    public var usersReached: Int
    public var assignments: Int
    public var assignmentsPerCoupon: [String: Int]
    public var assignmentsPerChannel: [String: Int]?
    /// The general rows, in spec order; nil when the spec has none.
    public var constraints: [ConstraintLine]?
    /// The coupon floors by coupon id; nil when the spec sets none.
    public var couponFloors: [String: Int]?
    public var upperBound: Double?
    public var relativeGap: Double?
    /// Set when `status` is `optimal` because the search stopped within this relative gap
    /// tolerance, not because it closed the gap.
    public var gapTolerance: Double?
    /// Shadow prices of every relaxed constraint, by `kind:name`.
    public var shadowPrices: [String: Double]?
    public var iterations: Int?
    public var notes: [String]
    public var wallSeconds: Double
    public var feasible: Bool
    /// The allocation's value under the scores' uncertainty, with a 95% interval (`--shrink`, `--risk`).
    public var expectedObjective: ExpectedObjective?
    public var violations: [String]?
    /// SHA-256 (hex) and data rows of the allocation file written with this summary, so that a
    /// consumer can tell a mismatched pair.
    public var allocationSHA256: String?
    public var allocationRows: Int?

    enum CodingKeys: String, CodingKey {
        case method, status, objective, budgets, notes, feasible, violations, iterations, assignments, constraints
        case couponFloors = "coupon_floors"
        case totalCost = "total_cost"
        case usersReached = "users_reached"
        case assignmentsPerCoupon = "assignments_per_coupon"
        case assignmentsPerChannel = "assignments_per_channel"
        case upperBound = "upper_bound"
        case relativeGap = "relative_gap"
        case shadowPrices = "shadow_prices"
        case wallSeconds = "wall_seconds"
        case gapTolerance = "gap_tolerance"
        case allocationSHA256 = "allocation_sha256"
        case allocationRows = "allocation_rows"
        case expectedObjective = "expected_objective"
    }

    /// `allocationFile`: the bytes of the allocation file written with this summary, if any.
    public init(problem: Problem, solution: Solution, report: VerificationReport, allocationFile: [UInt8]? = nil) {
        let t = problem.candidates
        method = solution.method
        status = solution.status.rawValue
        objective = report.objective
        budgets = problem.budgets.enumerated().map { b, budget in
            BudgetLine(name: budget.name, column: t.columnNames[budget.column], spend: report.budgetSpend[b],
                       limit: budget.limit, min: budget.min,
                       shadowPrice: solution.shadowPrices.first { $0.kind == .budget && $0.name == budget.name }?.value)
        }
        totalCost = report.totalCost
        usersReached = report.usersReached
        assignments = solution.allocation.count
        var perCoupon: [String: Int] = [:]
        for (c, n) in report.assignmentsPerCoupon.enumerated() where n > 0 { perCoupon[t.couponIDs[c]] = n }
        assignmentsPerCoupon = perCoupon
        if t.hasChannels {
            var perChannel: [String: Int] = [:]
            for (h, n) in report.assignmentsPerChannel.enumerated() where n > 0 { perChannel[t.channelNames[h]] = n }
            assignmentsPerChannel = perChannel
        }
        if !problem.rows.isEmpty {
            constraints = problem.rows.enumerated().map { k, row in
                ConstraintLine(name: row.name, column: row.column == Problem.Row.upliftColumn ? "uplift" : t.columnNames[row.column],
                               value: report.rowValues[k], min: row.min, max: row.max)
            }
        }
        var floors: [String: Int] = [:]
        for c in 0..<t.couponCount { if let f = problem.floor(ofCoupon: c) { floors[t.couponIDs[c]] = f } }
        if !floors.isEmpty { couponFloors = floors }
        upperBound = solution.upperBound
        relativeGap = solution.relativeGap
        gapTolerance = solution.status == .optimal ? solution.gapTolerance : nil
        if let allocationFile {
            allocationSHA256 = SHA256.hex(allocationFile)
            allocationRows = solution.allocation.count
        }
        if !solution.shadowPrices.isEmpty {
            shadowPrices = Dictionary(solution.shadowPrices.map { ("\($0.kind.rawValue):\($0.name)", $0.value) },
                                      uniquingKeysWith: { a, _ in a })
        }
        iterations = solution.iterations
        notes = solution.notes
        expectedObjective = solution.expectedObjective
        wallSeconds = solution.wallSeconds
        feasible = report.isFeasible
        violations = report.isFeasible ? nil : report.violations.map(\.description)
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() -> String { prettyJSON(self) }
}

/// `value` as pretty-printed JSON with sorted keys, ending in a newline: the form of every JSON
/// document Allot writes.
package func prettyJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self) + "\n"
}
