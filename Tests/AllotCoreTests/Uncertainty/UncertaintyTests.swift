#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import AllotCore
import Testing

/// Shrinkage, the risk-adjusted uplift and the expected objective (docs/algorithms.md).
@Suite struct UncertaintyTests {
    /// The grid prior's EM and posteriors written out densely (every atom, one exponential
    /// each, no band), against the library's banded fit and running-product posteriors.
    @Test func gridPriorMatchesADirectComputation() {
        let y = [10.0, 2, -1, 7, 30, 5, 6, 4, 12, -3]
        let se = [1.0, 3, 0.5, 2, 10, 1.5, 1, 2, 4, 0.8]
        let prior = GridPrior(y: y, se: se, range: -3...30)
        let atoms = prior.weight.count
        let theta = (0..<atoms).map { prior.low + Double($0) * prior.step }
        // The grid: 60 atoms unless the 10th percentile of se is finer.
        #expect(prior.step == min(33.0 / 59, se.sorted()[1]))
        let likelihood = y.indices.map { i in theta.map { exp(-0.5 * (y[i] - $0) * (y[i] - $0) / (se[i] * se[i])) } }
        var g = [Double](repeating: 1 / Double(atoms), count: atoms)
        for _ in 0..<GridPrior.iterations {
            var next = [Double](repeating: 0, count: atoms)
            for i in y.indices {
                let f = (0..<atoms).map { likelihood[i][$0] * g[$0] }.reduce(0, +)
                for k in 0..<atoms { next[k] += likelihood[i][k] * g[k] / f }
            }
            g = next.map { $0 / Double(y.count) }
        }
        for k in 0..<atoms { #expect(abs(prior.weight[k] - g[k]) < 1e-6) }
        for (yj, sj) in [(10.0, 1.0), (2, 3), (25, 10), (-2, 0.7), (40, 2)] {
            let w = theta.indices.map { g[$0] * exp(-0.5 * (yj - theta[$0]) * (yj - theta[$0]) / (sj * sj)) }
            let total = w.reduce(0, +)
            let mean = theta.indices.map { w[$0] * theta[$0] }.reduce(0, +) / total
            let second = theta.indices.map { w[$0] * theta[$0] * theta[$0] }.reduce(0, +) / total
            let p = prior.posterior(yj, sj)
            // The band drops atoms beyond 6 standard errors (weights below e^-18 of the nearest).
            #expect(abs(p.mean - mean) < 1e-6 * (1 + abs(mean)), "y \(yj): \(p.mean) against \(mean)")
            #expect(abs(p.variance - (second - mean * mean)) < 1e-5 * (1 + second))
        }
    }

    /// On a few candidates (one pooled group, one bin) the scores are the posteriors under one
    /// prior fitted to every score with a standard error; a score without one is kept.
    @Test func smallProblemsHaveOneSegment() {
        let uplift = [10.0, 2, -1, 7, 30, 5, 6, 4]
        let se = [1.0, 3, 0.5, 2, 10, 0, 1, 2]
        let s = UncertainScores(uplift: uplift, se: se, group: [0, 0, 0, 0, 1, 1, 1, 1], groupCount: 2,
                                userStart: [0, 2, 4, 6, 8])
        #expect(s.segmentCount == 1)
        let noisy = se.indices.filter { se[$0] > 0 }
        let prior = GridPrior(y: noisy.map { uplift[$0] }, se: noisy.map { se[$0] }, range: -1...30)
        for j in noisy {
            let p = prior.posterior(uplift[j], se[j])
            #expect(s.shrunk[j] == p.mean && s.posteriorVariance[j] == p.variance)
        }
        #expect(s.shrunk[5] == 5)
        #expect(s.posteriorVariance[5] == 0)
    }

    /// A known two-point prior (θ = 0 or 10, even odds) seen through noise of sd 3: the fitted
    /// prior's posteriors are close to the exact Bayes posterior `10 / (1 + e^((5 - y) 10 / 9))`
    /// (on average within 0.3, a third of a linear shrinkage's error).
    @Test func recoversAKnownPrior() {
        var rng = SeededGenerator(seed: 11)
        var theta: [Double] = [], y: [Double] = []
        for _ in 0..<4000 {
            let t: Double = rng.nextUnit() < 0.5 ? 0 : 10
            theta.append(t)
            y.append(t + 3 * rng.nextNormal())
        }
        let s = UncertainScores(uplift: y, se: [Double](repeating: 3, count: y.count), group: [Int32](repeating: 0, count: y.count),
                                groupCount: 1, userStart: Array(0...y.count))
        // The linear (normal-normal) shrinkage with the moments known: mean 5, variance 25.
        let linear = y.map { 5 + 25 / (25 + 9) * ($0 - 5) }
        var error = 0.0, linearError = 0.0
        for j in y.indices {
            let exact = 10 / (1 + exp((5 - y[j]) * 10 / 9))
            error += abs(s.shrunk[j] - exact) / Double(y.count)
            linearError += abs(linear[j] - exact) / Double(y.count)
        }
        #expect(error < 0.3 && error < linearError / 3, "mean error \(error), linear \(linearError)")
        // Selection: the sum over the scores above 8 against their true sum (within 2%).
        let chosen = y.indices.filter { y[$0] > 8 }
        let truth = chosen.map { theta[$0] }.reduce(0, +)
        let estimate = chosen.map { s.shrunk[$0] }.reduce(0, +)
        #expect(abs(estimate - truth) < 0.02 * truth, "estimate \(estimate), truth \(truth)")
    }

    /// The segments: coupons of at least 2,000 candidates alone, the others pooled, each cut
    /// into bins of at least 2,500 by the mean of the user's other standardised scores.
    @Test func segmentsFollowTheUsersOtherScores() {
        let g = SyntheticScores(users: 2000, coupons: 3, seed: 2)
        let t = g.table()
        var couponOf = t.coupon
        for j in couponOf.indices where couponOf[j] == 2 { couponOf[j] = 1 }   // c2, c3: 4,000
        let (ids, count) = UncertainScores.segments(uplift: t.uplift, group: couponOf, groupCount: 3, userStart: t.userStart)
        #expect(count == 2 + 4)
        // Within a coupon, a higher mean of the user's other scores never gets a lower bin.
        var mean = [0.0, 0, 0], sd = [0.0, 0, 0], n = [0.0, 0, 0]
        for j in 0..<t.count { mean[Int(couponOf[j])] += t.uplift[j]; n[Int(couponOf[j])] += 1 }
        for c in 0..<2 { mean[c] /= n[c] }
        for j in 0..<t.count { let d = t.uplift[j] - mean[Int(couponOf[j])]; sd[Int(couponOf[j])] += d * d }
        for c in 0..<2 { sd[c] = (sd[c] / n[c]).squareRoot() }
        let z = (0..<t.count).map { (t.uplift[$0] - mean[Int(couponOf[$0])]) / sd[Int(couponOf[$0])] }
        let others = (0..<t.count).map { j -> Double in
            let first = j / 3 * 3
            let total: Double = z[first] + z[first + 1] + z[first + 2]
            return (total - z[j]) / 2
        }
        for c in Int32(0)..<2 {
            let members = (0..<t.count).filter { couponOf[$0] == c }.sorted { others[$0] < others[$1] }
            for (a, b) in zip(members, members.dropFirst()) { #expect(ids[a] <= ids[b]) }
            let sizes = Dictionary(grouping: members, by: { ids[$0] }).values.map(\.count)
            #expect(sizes.count == (c == 0 ? 2 : 4) && sizes.allSatisfy { abs($0 - members.count / sizes.count) <= 1 })
        }
    }

    /// The posteriors are the same whatever the thread count.
    @Test func threadsDoNotChangeThePosteriors() {
        let t = SyntheticScores(users: 2000, coupons: 2, seed: 4).table()
        let se = t.uplift.indices.map { 5 + Double($0 % 7) }
        let one = UncertainScores(uplift: t.uplift, se: se, group: t.coupon, groupCount: 2, userStart: t.userStart, threads: 1)
        let four = UncertainScores(uplift: t.uplift, se: se, group: t.coupon, groupCount: 2, userStart: t.userStart, threads: 4)
        #expect(one.segmentCount == 4)
        #expect(one.shrunk == four.shrunk && one.posteriorVariance == four.posteriorVariance)
        // Computed one at a time (`posteriors: false`, as `--risk` alone does): the same values.
        let lazy = UncertainScores(uplift: t.uplift, se: se, group: t.coupon, groupCount: 2, userStart: t.userStart,
                                   threads: 2, posteriors: false)
        #expect(lazy.shrunk.isEmpty)
        for j in stride(from: 0, to: t.count, by: 97) {
            #expect(lazy.posterior(of: j) == (one.shrunk[j], one.posteriorVariance[j]))
        }
        let chosen = Array(stride(from: 0, to: t.count, by: 5))
        #expect(lazy.expectedObjective(of: chosen, riskKappa: 1) == one.expectedObjective(of: chosen, riskKappa: 1))
        #expect(lazy.solverUplift(.init(shrink: true, risk: 1)) == one.solverUplift(.init(shrink: true, risk: 1)))
    }

    /// Standard errors of 0 (no noise) keep every score as it is.
    @Test func noNoiseKeepsTheScores() {
        let t = SyntheticScores(users: 500, coupons: 3, seed: 4).table()
        let s = UncertainScores(uplift: t.uplift, se: [Double](repeating: 0, count: t.count), group: t.coupon,
                                groupCount: 3, userStart: t.userStart)
        #expect(s.shrunk == t.uplift)
        #expect(s.posteriorVariance.allSatisfy { $0 == 0 })
    }

    @Test func riskAdjustedUplift() {
        let s = UncertainScores(uplift: [10, 2, 7, 1], se: [1, 3, 2, 0], group: [0, 0, 0, 0], groupCount: 1, userStart: [0, 1, 2, 3, 4])
        #expect(s.solverUplift(.init()) == [10, 2, 7, 1])
        #expect(s.solverUplift(.init(risk: 0)) == [10, 2, 7, 1])
        #expect(s.solverUplift(.init(risk: 2)) == [8, -4, 3, 1])
        #expect(s.solverUplift(.init(shrink: true)) == s.shrunk)
        let both = s.solverUplift(.init(shrink: true, risk: 1.5))
        for j in 0..<4 { #expect(abs(both[j] - (s.shrunk[j] - 1.5 * s.posteriorVariance[j].squareRoot())) < 1e-12) }
    }

    @Test func expectedObjectiveSumsThePosterior() {
        let s = UncertainScores(uplift: [10, 2, 7, 1], se: [1, 3, 2, 0], group: [0, 0, 0, 0], groupCount: 1, userStart: [0, 1, 2, 3, 4])
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
            #expect("\(error)" == "s.csv:1:1: --risk needs the scores' standard errors, a column 'uplift_se', or draws uplift_1 to uplift_B (found: user_id,coupon_id,uplift,cost)")
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
        // With noise, the same rows (ids, costs, channels) and the noiseless uplift as truth.
        let h = SyntheticScores(users: 50, coupons: 3, channels: ["a", "b"], seed: 7)
        let clean = try ScoresFile.read(InputBytes(name: "c", bytes: h.csv()))
        let noised = try ScoresFile.read(InputBytes(name: "d", bytes: h.noisyCSV(noise: 1)), extraColumns: ["uplift_se"],
                                         signedColumns: ["true_uplift"])
        #expect(noised.columns[2] == clean.uplift && noised.cost == clean.cost && noised.channel == clean.channel)
        #expect(noised.userIDs == clean.userIDs && noised.coupon == clean.coupon && noised.uplift != clean.uplift)
        #expect(noised.columns[1].allSatisfy { $0 > 0 })
    }
}
