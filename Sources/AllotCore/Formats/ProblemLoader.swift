/// Loads a problem from a scores file and an optional spec file, as the CLI does.
public enum ProblemLoader {
    /// Overrides given on the command line, applied over the spec.
    public struct Overrides: Sendable {
        /// Limit of the budget on the `cost` column; adds a budget named `budget` if the spec has
        /// none on that column.
        public var budget: Double?
        public var maxPerUser: Int?
        /// The spend floor of the budget on the `cost` column (`--budget-min`).
        public var budgetMin: Double?
        /// General rows added after the spec's (`--constraint`).
        public var constraints: [AllocationSpec.Constraint]
        public init(budget: Double? = nil, maxPerUser: Int? = nil, budgetMin: Double? = nil,
                    constraints: [AllocationSpec.Constraint] = []) {
            self.budget = budget
            self.maxPerUser = maxPerUser
            self.budgetMin = budgetMin
            self.constraints = constraints
        }
    }

    /// Reads the spec (if any), checks its column names against the scores header, then parses
    /// the scores and resolves the spec against them.
    ///
    /// - Throws: `InputError` naming the file at fault.
    public static func load(scores: InputBytes, spec specInput: InputBytes?, overrides: Overrides = Overrides(),
                            progress: ((Double) -> Void)? = nil) throws -> Problem {
        let (spec, specName) = try resolvedSpec(scores: scores, spec: specInput, overrides: overrides)
        let table = try ScoresFile.read(scores, extraColumns: spec.extraColumns, signedColumns: spec.signedColumns, progress: progress)
        return try Problem(candidates: table, spec: spec, specName: specName)
    }

    /// The spec with the overrides applied, and its name, checked against the scores header.
    package static func resolvedSpec(scores: InputBytes, spec specInput: InputBytes?,
                                     overrides: Overrides) throws -> (AllocationSpec, String) {
        var spec = try specInput.map(AllocationSpec.parse) ?? AllocationSpec()
        let specName = specInput?.name ?? "command line"
        if let limit = overrides.budget {
            if let k = spec.budgets.firstIndex(where: { $0.column == "cost" }) {
                spec.budgets[k].limit = limit
            } else {
                spec.budgets.insert(.init(name: "budget", column: "cost", limit: limit), at: 0)
            }
        }
        if let floor = overrides.budgetMin {
            guard let k = spec.budgets.firstIndex(where: { $0.column == "cost" }) else {
                throw InputError(file: specName, "--budget-min sets the floor of the budget on the cost column, and there is none: give --budget or a spec budget on cost")
            }
            spec.budgets[k].min = floor
        }
        if let f = overrides.maxPerUser { spec.maxPerUser = f }
        spec.constraints += overrides.constraints
        let header = try ScoresFile.header(of: scores)
        // All the missing required columns at once, before a budget names one of them.
        try ScoresFile.checkRequiredColumns(header: header, file: scores.name)
        try checkBudgetColumns(spec, header: header, scoresName: scores.name, specName: specName)
        return (spec, specName)
    }

    /// Checks that every budget and every general row names a numeric column of the scores.
    package static func checkBudgetColumns(_ spec: AllocationSpec, header: [String], scoresName: String, specName: String) throws {
        for b in spec.budgets where !header.contains(b.column) {
            throw InputError(file: specName, "budget '\(b.name)' names column '\(b.column)', which \(scoresName) does not have (columns: \(header.joined(separator: ",")))")
        }
        for (k, r) in spec.constraints.enumerated() {
            if ["user_id", "coupon_id", "channel"].contains(r.column) {
                throw InputError(file: specName, "constraints[\(k)] '\(r.name)' names column '\(r.column)', which is not numeric (a row sums a numeric column)")
            }
            if !header.contains(r.column) {
                throw InputError(file: specName, "constraints[\(k)] '\(r.name)' names column '\(r.column)', which \(scoresName) does not have (columns: \(header.joined(separator: ",")))")
            }
        }
    }
}
