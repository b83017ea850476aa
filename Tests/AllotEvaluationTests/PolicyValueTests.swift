import Allot
import AllotTestSupport
import Testing

/// A randomised log with a known effect: arms control, A, B with equal shares; A adds
/// `effectA(u)` to the outcome, B adds 1.
private func syntheticLog(users: Int, seed: UInt64, propensityColumn: Bool) -> (text: String, effectA: [Double]) {
    var rng = SeededGenerator(seed: seed)
    var lines = [propensityColumn ? "user_id,treatment,outcome,propensity" : "user_id,treatment,outcome"]
    var effect: [Double] = []
    for u in 0..<users {
        let e = u % 2 == 0 ? 10.0 : 2.0
        effect.append(e)
        let arm = rng.nextIndex(below: 3)
        let base = 20 + 5 * rng.nextNormal()
        let outcome = base + (arm == 1 ? e : arm == 2 ? 1 : 0)
        let treatment = ["control", "A", "B"][arm]
        lines.append("u\(u),\(treatment),\(outcome)" + (propensityColumn ? ",0.3333333333333333" : ""))
    }
    return (lines.joined(separator: "\n") + "\n", effect)
}

@Suite struct PolicyValueTests {
    @Test(arguments: [false, true])
    func recoversAKnownEffect(propensityColumn: Bool) throws {
        let users = 30_000
        let (text, effect) = syntheticLog(users: users, seed: 12, propensityColumn: propensityColumn)
        // Give A to the users where it works best (even ids): true total effect = 10 per such user.
        var assignments: [String: Set<String>] = [:]
        var truth = 0.0
        for u in stride(from: 0, to: users, by: 2) {
            assignments["u\(u)"] = ["A"]
            truth += effect[u]
        }
        let v = try PolicyValue.estimate(log: InputBytes(name: "log.csv", text: text), assignments: assignments)
        #expect(v.logRows == users)
        #expect(v.allocationUsersMissingFromLog == 0)
        #expect(v.ci95Low <= truth && truth <= v.ci95High, "truth \(truth) outside [\(v.ci95Low), \(v.ci95High)]")
        #expect(abs(v.incrementalOutcome - truth) < 0.1 * truth)
        #expect(v.standardError > 0 && v.standardError < 0.1 * truth)
        // About a third of the allocated users were logged with A.
        #expect(abs(Double(v.matchedRows) - Double(users / 2) / 3) < 300)
    }

    @Test func givingNothingIsWorthNothing() throws {
        let (text, _) = syntheticLog(users: 3_000, seed: 2, propensityColumn: false)
        let v = try PolicyValue.estimate(log: InputBytes(name: "log.csv", text: text), assignments: ["nobody": ["A"]])
        #expect(v.incrementalOutcome == 0)
        #expect(v.allocationUsersMissingFromLog == 1)
    }

    @Test func badLogs() {
        #expect(throws: InputError(file: "log.csv", line: 1, column: 1, "missing column 'outcome' in the header (found: user_id,treatment)")) {
            try PolicyValue.estimate(log: InputBytes(name: "log.csv", text: "user_id,treatment\nu,A\n"), assignments: [:])
        }
        #expect(throws: InputError(file: "log.csv", line: 2, column: 9, "propensity must be in (0, 1], got 0.0")) {
            try PolicyValue.estimate(log: InputBytes(name: "log.csv", text: "user_id,treatment,outcome,propensity\nu,A,1.5,0\n"), assignments: [:])
        }
        #expect(throws: InputError(file: "log.csv", "the log has no 'control' rows (treatments: 'A'): nothing to compare with; name the control arm with --control")) {
            try PolicyValue.estimate(log: InputBytes(name: "log.csv", text: "user_id,treatment,outcome\nu,A,1.5\n"), assignments: [:])
        }
    }

    @Test(arguments: [false, true])
    func columnsGiveTheFilesEstimate(propensityColumn: Bool) throws {
        let (text, _) = syntheticLog(users: 2_000, seed: 4, propensityColumn: propensityColumn)
        let file = try RandomisedLog(InputBytes(name: "log.csv", text: text))
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        let columns = try RandomisedLog(name: "log.csv", users: rows.map { $0[0] }, treatments: rows.map { $0[1] },
                                        outcomes: rows.map { Double($0[2])! },
                                        propensities: propensityColumn ? rows.map { Double($0[3])! } : nil)
        let policy = LoggedPolicy.allocation(["u0": ["A"], "u1": ["B"], "u2": ["A"], "u3": ["A"]])
        #expect(columns.value(of: policy) == file.value(of: policy))
        #expect(columns.compare(policy, against: .none, named: "none") == file.compare(policy, against: .none, named: "none"))
    }

    @Test func badColumns() {
        #expect(throws: InputError(file: "t", "row 1: propensity must be in (0, 1], got 1.5")) {
            try RandomisedLog(name: "t", users: ["u", "v"], treatments: ["control", "A"], outcomes: [1, 2], propensities: [0.5, 1.5])
        }
        #expect(throws: InputError(file: "t", "row 0: 'nan' in column 'spend' is not a finite number")) {
            try RandomisedLog(name: "t", outcome: "spend", users: ["u"], treatments: ["control"], outcomes: [.nan], propensities: nil)
        }
        #expect(throws: InputError(file: "t", "row 0: empty treatment")) {
            try RandomisedLog(name: "t", users: ["u"], treatments: [" "], outcomes: [1], propensities: nil)
        }
        #expect(throws: InputError(file: "t", "the log has no rows")) {
            try RandomisedLog(name: "t", users: [], treatments: [], outcomes: [], propensities: nil)
        }
    }
}
