@testable import AllotCore
import Testing

/// Draws `uplift_1 ... uplift_B`: their columns, summaries, folds, `--risk auto` and the
/// held-out expected objective (docs/algorithms.md).
@Suite struct DrawsTests {
    @Test func drawColumnsAreNumberedWithoutAGap() throws {
        #expect(try ScoreDraws.columns(in: ["user_id", "uplift", "uplift_se", "uplift_x"], file: "s.csv") == [])
        let header = ["user_id", "coupon_id", "uplift", "cost", "uplift_2", "uplift_1", "uplift_3", "uplift_4"]
        #expect(try ScoreDraws.columns(in: header, file: "s.csv") == ["uplift_1", "uplift_2", "uplift_3", "uplift_4"])
        let gap = ["user_id", "coupon_id", "uplift", "cost", "uplift_1", "uplift_2", "uplift_4", "uplift_5"]
        #expect(throws: InputError(file: "s.csv", line: 1, column: 7,
                                   "draw columns must be uplift_1 to uplift_B without a gap: found 'uplift_4' but no uplift_3")) {
            try ScoreDraws.columns(in: gap, file: "s.csv", columns: Array(1...8))
        }
        #expect(throws: InputError(file: "t", "3 draw columns (uplift_1 to uplift_3): give at least 4")) {
            try ScoreDraws.columns(in: ["uplift_1", "uplift_2", "uplift_3"], file: "t")
        }
    }

    /// Mean, standard error of the mean, quantiles and per-draw values against direct sums.
    @Test func summariesMatchADirectComputation() {
        let d = ScoreDraws(values: [[1, 10], [3, 10], [2, 16], [6, 12]])
        let (mean, se) = d.meanAndStandardError()
        #expect(mean == [3, 12])
        // Sample variances 14/3 and 24/3; se = sqrt(var / 4).
        #expect(abs(se[0] - (14.0 / 3 / 4).squareRoot()) < 1e-12 && abs(se[1] - (8.0 / 4).squareRoot()) < 1e-12)
        #expect(d.meanAndStandardError(of: [0, 2]).mean == [1.5, 13])
        // Sorted draws of candidate 0: 1, 2, 3, 6; the 0.5 quantile at position 1.5.
        #expect(d.quantile(0.5) == [2.5, 11])
        #expect(d.quantile(0.25, of: [1, 3]) == [3.75, 10.5])
        // Both candidates chosen, valued on draws 1 and 3: sums 13 and 18.
        let v = d.value(of: [0, 1], under: [1, 3])
        #expect(v.value == 15.5 && abs(v.se - 2.5) < 1e-12)
    }

    @Test func foldsSplitTheDrawsInHalvesForASeed() {
        let d = ScoreDraws(values: [[Double]](repeating: [0], count: 9))
        let folds = d.folds(seed: 4)
        #expect(folds.count == 2 && folds[0].count == 4 && folds[1].count == 5)
        #expect((folds[0] + folds[1]).sorted() == Array(0..<9))
        #expect(d.folds(seed: 4) == folds)
    }

    /// 300 users with 3 candidates, 6 draws each, in a problem that keeps 40 users' best.
    private func problem(seed: UInt64) throws -> (Problem, ScoreDraws) {
        var rng = SeededGenerator(seed: seed)
        var rows: [CandidateRow] = []
        var draws = [[Double]](repeating: [], count: 6)
        for u in 0..<300 {
            for c in 0..<3 {
                let truth = rng.nextUnit() * 10
                let noise = rng.nextUnit() * 12  // unequal noise: caution pays
                var sum = 0.0
                for b in 0..<6 {
                    let v = truth + noise * rng.nextNormal()
                    draws[b].append(v)
                    sum += v
                }
                rows.append(CandidateRow(user: "u\(u)", coupon: "c\(c)", uplift: sum / 6, cost: 1))
            }
        }
        let table = try CandidateTable(rows: rows)
        let p = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "cash", limit: 40)], maxPerUser: 1))
        return (p, ScoreDraws(values: draws))
    }

    /// The 40 candidates of highest positive uplift, at most one per user: a deterministic solve.
    private func best40(_ p: Problem) -> [Int] {
        let t = p.candidates
        var best: [(Double, Int)] = []
        for u in 0..<t.userCount {
            let range = t.candidates(ofUser: u)
            let j = range.max { t.uplift[$0] < t.uplift[$1] }!
            if t.uplift[j] > 0 { best.append((t.uplift[j], j)) }
        }
        return best.sorted { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.prefix(40).map(\.1).sorted()
    }

    /// `--risk auto`: every κ's held-out value is the direct sum over the folds, the κ chosen is
    /// the best, the problem is solved on all draws at it, and the expected objective is the
    /// chosen κ's held-out value.
    @Test func autoChoosesTheKappaOfTheBestHeldOutValue() throws {
        let (p, draws) = try problem(seed: 11)
        var u = try UncertainProblem(plugIn: p, se: nil, draws: draws, options: .init(risk: .auto), source: "s")
        #expect(u.needsPreparation)
        try u.prepare(seed: 3, solve: best40)
        let e = try #require(u.expectedObjective(of: Allocation(candidates: [])))
        let points = try #require(e.crossValidation)
        #expect(points.map(\.kappa) == RiskAdjustment.autoGrid)
        let folds = draws.folds(seed: 3)
        for point in points {
            var total = 0.0
            for f in 0..<2 {
                let (mean, se) = draws.meanAndStandardError(of: folds[1 - f])
                let chosen = best40(p.withUplift(zip(mean, se).map { $0 - point.kappa * $1 }))
                let test = folds[f]
                total += chosen.reduce(0.0) { s, j in s + test.reduce(0.0) { $0 + draws.values[$1][j] } / Double(test.count) }
            }
            #expect(abs(point.heldOutValue - total) < 1e-9)
        }
        let top = points.max { $0.heldOutValue < $1.heldOutValue }!
        #expect(u.chosenKappa == top.kappa && e.riskKappa == top.kappa)
        #expect(abs(e.value - top.heldOutValue / 2) < 1e-9 && e.ci95Low < e.value && e.value < e.ci95High)
        let (mean, se) = draws.meanAndStandardError()
        #expect(u.problem.candidates.uplift == zip(mean, se).map { $0 - top.kappa * $1 })
    }

    /// The κ chosen, the allocation and the expected objective do not depend on the threads.
    @Test(arguments: [UncertaintyOptions(risk: .auto), UncertaintyOptions(shrink: true, risk: .auto),
                      UncertaintyOptions(quantile: 0.3), UncertaintyOptions(risk: 1)])
    func sameWhateverTheThreads(options: UncertaintyOptions) throws {
        let (p, draws) = try problem(seed: 5)
        var results: [(Double?, [Double], ExpectedObjective?)] = []
        for threads in [1, 4] {
            var u = try UncertainProblem(plugIn: p, se: nil, draws: draws, options: options, source: "s", threads: threads)
            try u.prepare(seed: 9, solve: best40)
            results.append((u.chosenKappa, u.problem.candidates.uplift, u.expectedObjective(of: Allocation(candidates: []))))
        }
        #expect(results[0].0 == results[1].0 && results[0].1 == results[1].1 && results[0].2 == results[1].2)
        #expect(results[0].2 != nil)
    }

    @Test func autoAndQuantilesNeedDraws() {
        let p = try! problem(seed: 1).0
        #expect(throws: InputError(file: "s", "--risk auto needs draws of the scores, columns uplift_1 to uplift_B (at least 4)")) {
            try UncertainProblem(plugIn: p, se: [Double](repeating: 1, count: p.candidates.count), draws: nil,
                                 options: .init(risk: .auto), source: "s")
        }
        #expect(UncertaintyOptions(shrink: true, quantile: 0.2).problem { "--" + $0 }
                    == "--risk_quantile solves on a quantile of the draws: give it without --shrink and --risk")
        #expect(UncertaintyOptions(quantile: 1).problem { $0 } == "risk_quantile must be a number above 0 and below 1")
        #expect(UncertaintyOptions(risk: -1).problem { $0 } == "risk must be a finite number >= 0, or auto")
    }

    private let drawScores = "user_id,coupon_id,uplift,cost,uplift_1,uplift_2,uplift_3,uplift_4\n"

    @Test(arguments: [
        ("u1,c1,10,4,1,2,nan,3", "s.csv:2:16: 'nan' in column 'uplift_3' is not a finite number"),
        ("u1,c1,10,4,1,2,,3", "s.csv:2:16: empty value in column 'uplift_3'"),
        ("u1,c1,10,4,1,2,3", "s.csv:2:16: expected 8 fields as in the header, found 7"),
    ])
    func badDrawsAreNamed(row: String, message: String) {
        let input = InputBytes(name: "s.csv", text: drawScores + row + "\n")
        do {
            _ = try UncertainProblem.load(scores: input, spec: nil, overrides: .init(budget: 10), options: .init(risk: .auto))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func loadReadsTheDraws() throws {
        let input = InputBytes(name: "s.csv", text: drawScores + "u1,c1,10,4,1,2,3,6\nu2,c1,8,5,8,8,8,8\n")
        let u = try UncertainProblem.load(scores: input, spec: nil, overrides: .init(budget: 10), options: .init(risk: 1))
        #expect(u.draws?.values == [[1, 8], [2, 8], [3, 8], [6, 8]])
        #expect(u.problem.candidates.columnNames == ["cost"])
        // Mean 3 less one standard error sqrt((4 + 1 + 0 + 9) / 3 / 4); the constant draws keep 8.
        #expect(u.problem.candidates.uplift == [3 - (14.0 / 12).squareRoot(), 8])
        #expect(u.needsPreparation)
        let plain = InputBytes(name: "p.csv", text: "user_id,coupon_id,uplift,cost,uplift_se\nu1,c1,10,4,1\n")
        do {
            _ = try UncertainProblem.load(scores: plain, spec: nil, overrides: .init(budget: 10), options: .init(quantile: 0.1))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "p.csv:1:1: --risk-quantile needs draws of the scores, columns uplift_1 to uplift_B (found: user_id,coupon_id,uplift,cost,uplift_se)")
        }
    }
}

/// The bins' cuts by selection are the sorted values' order statistics.
@Suite struct OrderStatisticsTests {
    @Test(arguments: [1, 5, 17, 100, 2_000])
    func selectionMatchesASort(count: Int) {
        var rng = SeededGenerator(seed: UInt64(count))
        // Many ties (a few distinct values) and distinct values, both.
        for distinct in [3, 1_000_000] {
            var values = (0..<count).map { _ in Double(rng.nextIndex(below: distinct)) }
            let sorted = values.sorted()
            let ranks = [0, count / 7, count / 3, count / 3, count / 2, count - 1].filter { $0 < count }.sorted()
            #expect(UncertainScores.orderStatistics(&values, ranks: ranks) == ranks.map { sorted[$0] })
        }
    }
}
