@testable import AllotCore
import AllotTestSupport
import Testing

private func dualOnly(threads: Int = 2) -> SolveOptions {
    var options = SolveOptions()
    options.dual.baselineCheck = .never
    options.threads = threads
    return options
}

/// Many coupon caps: the campaign shape at a size the references can handle.
@Suite struct CampaignShapeTests {
    /// Tiny instances where every coupon is capped (caps of 1 and 2, frequency caps 1 to 3,
    /// channel caps, one or two budgets), against the optimum by trying every subset.
    @Test func everyCouponCappedAgainstBruteForce() throws {
        var cases = 0
        for maxPerUser in 1...3 {
            for cap in 1...2 {
                for (channels, budgets) in [(false, 1), (true, 1), (false, 2)] {
                    var mix = RandomProblem()
                    mix.users = 4
                    mix.coupons = 5
                    mix.couponsPerUser = 3
                    mix.maxPerUser = maxPerUser
                    mix.couponCap = cap
                    mix.budgets = budgets
                    mix.budgetFraction = 0.6
                    if channels {
                        mix.channels = ["push", "email"]
                        mix.channelCap = 1
                    }
                    for seed in 1...6 as ClosedRange<UInt64> {
                        let problem = mix.make(seed: seed)
                        let label = "F \(maxPerUser) cap \(cap) channels \(channels) budgets \(budgets) seed \(seed)"
                        let solution = try solve(problem, method: .dual, options: dualOnly())
                        let report = Verifier.verify(problem, solution.allocation)
                        #expect(report.isFeasible, "\(label): \(report.violations)")
                        let optimum = bruteForceOptimum(problem).value
                        let bound = try #require(solution.upperBound)
                        #expect(bound >= optimum - 1e-9 * max(1, optimum), "\(label): bound \(bound) < optimum \(optimum)")
                        #expect(report.objective <= optimum + 1e-9, "\(label)")
                        #expect(abs(report.objective - solution.objective) <= 1e-9 * max(1, optimum), "\(label)")
                        if solution.status == .optimal {
                            #expect(abs(report.objective - optimum) <= 1e-9 * max(1, optimum), "\(label)")
                        }
                        #expect(solution.shadowPrices.allSatisfy { $0.value >= 0 }, "\(label)")
                        cases += 1
                    }
                }
            }
        }
        #expect(cases == 108)
    }

    /// A capped candidate's margin is exactly where its user stops taking it: just below, the
    /// user's choice at those multipliers holds it; just above, it does not.
    @Test func marginIsWhereTheChoiceChanges() throws {
        for (maxPerUser, channels) in [(1, false), (2, false), (3, true), (2, true)] {
            var mix = RandomProblem()
            mix.users = 12
            mix.coupons = 6
            mix.couponsPerUser = 5
            mix.maxPerUser = maxPerUser
            mix.couponCap = 2
            if channels {
                mix.channels = ["push", "email", "sms"]
                mix.channelCap = 1
            }
            let problem = mix.make(seed: 7)
            let engine = DualEngine(problem, threads: 1)
            var rng = SeededGenerator(seed: 11)
            let m = (0..<engine.constraintCount).map { i -> Double in
                if case .budget = engine.kinds[i] { return 0.2 * rng.nextUnit() }
                return 5 * rng.nextUnit()
            }
            let margins = engine.capMargins(m)
            var checked = 0
            for (j, margin) in margins.sorted(by: { $0.key < $1.key }) {
                let i = Int(engine.couponMultiplier[Int(problem.candidates.coupon[j])])
                for (λ, held) in [(margin - 1e-7, true), (margin + 1e-7, false)] where λ >= 0 {
                    var mm = m
                    mm[i] = λ
                    #expect(engine.choices(mm).contains(j) == held, "F \(maxPerUser) channels \(channels) candidate \(j) at margin \(margin) \(held ? "-" : "+") 1e-7")
                    checked += 1
                }
            }
            #expect(checked > 20)
        }
    }

    /// The complexity claim, by counting: a sweep visits the same number of candidates whether
    /// no coupon, a few, or every coupon is capped.
    @Test func sweepVisitsDoNotGrowWithTheNumberOfCaps() throws {
        let table = SyntheticScores(users: 3_000, coupons: 400, seed: 3, couponsPerUser: 5).table()
        for maxPerUser in [1, 2] {
            var perSweep: [Int] = []
            for capped in [0, 4, 40, 400] {
                var spec = SyntheticScores.campaignSpec(table, capShare: 0.3, budgetFraction: 0.3, maxPerUser: maxPerUser)
                spec.couponCaps = Dictionary(uniqueKeysWithValues: spec.couponCaps.sorted { $0.key < $1.key }.prefix(capped).map { ($0.key, $0.value) })
                // With several incentives per user, a budget's bracket takes a varying number of
                // passes: count the block alone there.
                if maxPerUser > 1 { spec.budgets = [] }
                let problem = try Problem(candidates: table, spec: spec)
                let engine = DualEngine(problem, threads: 2)
                var search = DualSearch(ThreadTransport(engine), options: DualOptions())
                search.step()
                let before = engine.candidateVisits.load(ordering: .relaxed)
                search.step()
                perSweep.append(engine.candidateVisits.load(ordering: .relaxed) - before)
            }
            // One pass for the evaluation (and the margins), one per budget (its hull).
            let passes = maxPerUser == 1 ? 2 : 1
            #expect(perSweep.allSatisfy { $0 == passes * table.count }, "F \(maxPerUser): \(perSweep)")
        }
    }

    /// Same allocation, bound and prices with 1, 2 and 3 threads on the campaign shape.
    @Test func deterministicWithManyCaps() throws {
        let table = SyntheticScores(users: 8_000, coupons: 300, channels: ["push", "email"], seed: 5, couponsPerUser: 4).table()
        var spec = SyntheticScores.campaignSpec(table, capShare: 0.4, budgetFraction: 0.3, maxPerUser: 2)
        spec.channelCaps = ["email": 1, "push": 1]
        let problem = try Problem(candidates: table, spec: spec)
        var results: [Solution] = []
        for threads in [1, 2, 3] {
            results.append(try solve(problem, method: .dual, options: dualOnly(threads: threads)))
        }
        for r in results.dropFirst() {
            #expect(r.allocation == results[0].allocation)
            #expect(r.upperBound == results[0].upperBound)
            #expect(r.shadowPrices == results[0].shadowPrices)
        }
        let report = Verifier.verify(problem, results[0].allocation)
        #expect(report.isFeasible)
        let greedy = try solve(problem, method: .greedyMarginal)
        #expect(Verifier.verify(problem, greedy.allocation).isFeasible)
        #expect(report.objective >= greedy.objective)
        #expect(try #require(results[0].relativeGap) < 1e-3)
    }

    /// One user with many candidates and a high frequency cap: near-linear per-user work (no
    /// quadratic path), and within the gap of the bound.
    @Test func oneUserWithManyCandidates() throws {
        let table = SyntheticScores(users: 1, coupons: 20_000, seed: 2).table()
        for maxPerUser in [1, 2_000] {
            var top = table.uplift.indices.sorted { table.uplift[$0] > table.uplift[$1] }
            top = Array(top.prefix(maxPerUser))
            let limit = (0.3 * top.reduce(0) { $0 + table.cost[$1] }).rounded()
            let problem = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "cash", limit: limit)], maxPerUser: maxPerUser))
            let solution = try solve(problem, method: .dual, options: dualOnly())
            let report = Verifier.verify(problem, solution.allocation)
            #expect(report.isFeasible)
            let greedy = try solve(problem, method: .greedyRatio)
            #expect(report.objective >= greedy.objective)
            if maxPerUser > 1 { #expect(try #require(solution.relativeGap) < 1e-3) }
        }
    }

    /// The generator's campaign shape: each user holds the asked number of distinct coupons,
    /// popular coupons are held more, and the spec caps every coupon at its share of demand.
    @Test func generatorCampaignShape() throws {
        let scores = SyntheticScores(users: 2_000, coupons: 100, seed: 9, couponsPerUser: 6)
        let table = scores.table()
        #expect(table.count == 12_000)
        for u in 0..<table.userCount {
            let coupons = table.candidates(ofUser: u).map { table.coupon[$0] }
            #expect(Set(coupons).count == 6 && coupons == coupons.sorted())
        }
        var holders = [Int](repeating: 0, count: 100)
        for j in 0..<table.count { holders[Int(table.coupon[j])] += 1 }
        #expect(holders[0] > 3 * holders[99])
        let spec = SyntheticScores.campaignSpec(table, capShare: 0.5, budgetFraction: 0.3, maxPerUser: 2)
        #expect(spec.couponCaps.count == 100)
        let parsed = try AllocationSpec.parse(InputBytes(name: "spec.json", text: spec.json))
        #expect(parsed == spec)
        // The CSV reads back into the same table.
        let read = try ScoresFile.read(InputBytes(name: "scores.csv", bytes: scores.csv()))
        #expect(read.uplift == table.uplift && read.coupon.map { read.couponIDs[Int($0)] } == table.coupon.map { table.couponIDs[Int($0)] })
    }
}
