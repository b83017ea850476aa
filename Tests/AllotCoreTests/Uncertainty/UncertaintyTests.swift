import AllotCore
import Testing

/// Shrinkage, the risk-adjusted uplift and the expected objective (docs/algorithms.md).
@Suite struct UncertaintyTests {
    /// The estimator against the formulas written out group by group.
    @Test func shrinkageMatchesADirectComputation() {
        let uplift = [10.0, 2, -1, 7, 30, 5, 6, 4]
        let se = [1.0, 3, 0.5, 2, 10, 0, 1, 2]
        let group: [Int32] = [0, 0, 0, 0, 1, 1, 1, 1]
        let s = UncertainScores(uplift: uplift, se: se, group: group, groupCount: 2)
        for g in 0..<2 {
            let members = group.indices.filter { group[$0] == Int32(g) }
            let m = members.map { uplift[$0] }.reduce(0, +) / Double(members.count)
            let sampleVariance = members.map { (uplift[$0] - m) * (uplift[$0] - m) }.reduce(0, +) / Double(members.count - 1)
            let noise = members.map { se[$0] * se[$0] }.reduce(0, +) / Double(members.count)
            let tau2 = max(0, sampleVariance - noise)
            for j in members {
                let w = tau2 / (tau2 + se[j] * se[j])
                #expect(abs(s.shrunk[j] - (m + w * (uplift[j] - m))) < 1e-12)
                #expect(abs(s.posteriorVariance[j] - w * se[j] * se[j]) < 1e-12)
            }
        }
        // A score with no noise is kept as it is.
        #expect(s.shrunk[5] == 5)
        #expect(s.posteriorVariance[5] == 0)
    }

    /// A group whose spread is all noise is pulled to its mean.
    @Test func pureNoiseShrinksToTheMean() {
        let s = UncertainScores(uplift: [1, 3], se: [10, 10], group: [0, 0], groupCount: 1)
        #expect(s.shrunk == [2, 2])
    }

    @Test func riskAdjustedUplift() {
        let s = UncertainScores(uplift: [10, 2, 7, 1], se: [1, 3, 2, 0], group: [0, 0, 0, 0], groupCount: 1)
        #expect(s.solverUplift(.init()) == [10, 2, 7, 1])
        #expect(s.solverUplift(.init(risk: 0)) == [10, 2, 7, 1])
        #expect(s.solverUplift(.init(risk: 2)) == [8, -4, 3, 1])
        #expect(s.solverUplift(.init(shrink: true)) == s.shrunk)
        let both = s.solverUplift(.init(shrink: true, risk: 1.5))
        for j in 0..<4 { #expect(abs(both[j] - (s.shrunk[j] - 1.5 * s.posteriorVariance[j].squareRoot())) < 1e-12) }
    }

    @Test func expectedObjectiveSumsThePosterior() {
        let s = UncertainScores(uplift: [10, 2, 7, 1], se: [1, 3, 2, 0], group: [0, 0, 0, 0], groupCount: 1)
        let e = s.expectedObjective(of: [0, 2], riskKappa: 1)
        let value = s.shrunk[0] + s.shrunk[2]
        let half = 1.959963984540054 * (s.posteriorVariance[0] + s.posteriorVariance[2]).squareRoot()
        #expect(abs(e.value - value) < 1e-12)
        #expect(abs(e.ci95Low - (value - half)) < 1e-12)
        #expect(abs(e.ci95High - (value + half)) < 1e-12)
        #expect(e.riskKappa == 1)
    }

    private let scores = """
        user_id,coupon_id,uplift,cost,uplift_se,true_uplift
        u1,c1,10,4,1,8
        u1,c2,6,2,2,-1
        u2,c1,8,5,0.5,9

        """

    @Test func loadReadsStandardErrorsAndTruth() throws {
        let input = InputBytes(name: "s.csv", text: scores)
        let p = try UncertainProblem.load(scores: input, spec: nil, overrides: .init(budget: 10),
                                          options: .init(risk: 1), truthColumn: "true_uplift")
        #expect(p.scores?.se == [1, 2, 0.5])
        #expect(p.problem.candidates.uplift == [9, 4, 7.5])
        #expect(p.problem.candidates.columnNames == ["cost"])
        #expect(p.truth == [8, -1, 9])
        #expect(p.trueValue(of: Allocation(candidates: [1, 2])) == 8)
    }

    @Test(arguments: [
        ("u1,c1,10,4,-1,8", "s.csv:2:12: uplift_se must be >= 0, got -1.0"),
        ("u1,c1,10,4,nan,8", "s.csv:2:12: 'nan' in column 'uplift_se' is not a finite number"),
        ("u1,c1,10,4,,8", "s.csv:2:12: empty value in column 'uplift_se'"),
        ("u1,c1,10,4,1,inf", "s.csv:2:14: 'inf' in column 'true_uplift' is not a finite number"),
    ])
    func badStandardErrorsAreNamed(row: String, message: String) throws {
        let input = InputBytes(name: "s.csv", text: "user_id,coupon_id,uplift,cost,uplift_se,true_uplift\n\(row)\n")
        #expect(throws: InputError.self) {
            _ = try UncertainProblem.load(scores: input, spec: nil, overrides: .init(budget: 10),
                                          options: .init(shrink: true), truthColumn: "true_uplift")
        }
        do {
            _ = try UncertainProblem.load(scores: input, spec: nil, overrides: .init(budget: 10),
                                          options: .init(shrink: true), truthColumn: "true_uplift")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func riskWithoutStandardErrorsIsNamed() throws {
        let input = InputBytes(name: "s.csv", text: "user_id,coupon_id,uplift,cost\nu1,c1,10,4\n")
        do {
            _ = try UncertainProblem.load(scores: input, spec: nil, overrides: .init(budget: 10), options: .init(risk: 1))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "s.csv:1:1: --risk needs the scores' standard errors, a column 'uplift_se' (found: user_id,coupon_id,uplift,cost)")
        }
    }

    /// `--noise 0` writes the noiseless scores with zero standard errors.
    @Test func zeroNoiseIsTheTruth() throws {
        let g = SyntheticScores(users: 50, coupons: 3, seed: 7)
        let plain = try ScoresFile.read(InputBytes(name: "a", bytes: g.csv()))
        let noisy = try ScoresFile.read(InputBytes(name: "b", bytes: g.noisyCSV(noise: 0)), extraColumns: ["uplift_se"],
                                        signedColumns: ["true_uplift"])
        #expect(noisy.uplift == plain.uplift)
        #expect(noisy.columns[2] == plain.uplift)
        #expect(noisy.columns[1].allSatisfy { $0 == 0 })
        #expect(noisy.cost == plain.cost)
    }
}
