import AllotCore
import AllotTestSupport
import Testing

@Suite struct VerifierTests {
    /// Two users, three coupons, two channels, every constraint type set.
    let problem: Problem = {
        let rows = [
            CandidateRow(user: "u1", coupon: "a", uplift: 10, cost: 4, channel: "push", extra: [1]),
            CandidateRow(user: "u1", coupon: "b", uplift: 6, cost: 2, channel: "push", extra: [1]),
            CandidateRow(user: "u1", coupon: "c", uplift: 3, cost: 1, channel: "email", extra: [0]),
            CandidateRow(user: "u2", coupon: "a", uplift: 8, cost: 5, channel: "push", extra: [2]),
            CandidateRow(user: "u2", coupon: "c", uplift: 1, cost: 1, channel: "email", extra: [0]),
        ]
        let table = try! CandidateTable(rows: rows, extraColumns: ["pts"])
        let spec = AllocationSpec(budgets: [.init(name: "cash", limit: 9), .init(name: "points", column: "pts", limit: 2)],
                                  maxPerUser: 2, couponCaps: ["a": 1], channelCaps: ["push": 1], minROI: 1.5)
        return try! Problem(candidates: table, spec: spec)
    }()

    @Test func feasibleAllocationIsRecomputed() {
        let r = Verifier.verify(problem, Allocation(candidates: [0, 2, 4]))
        #expect(r.isFeasible)
        #expect(r.objective == 14)
        #expect(r.budgetSpend == [6, 1])
        #expect(r.usersReached == 2)
        #expect(r.assignmentsPerCoupon == [1, 0, 2])
        #expect(r.assignmentsPerChannel == [1, 2])
    }

    @Test func everyViolationIsNamed() {
        // u1 gets a, b, c (3 > max 2; 2 push > cap 1); u2 gets a (coupon a twice > cap 1);
        // cash 4+2+1+5 = 12 > 9; points 1+1+0+2 = 4 > 2; ROI 27 < 1.5 x 12.
        let r = Verifier.verify(problem, Allocation(candidates: [0, 1, 2, 3]))
        #expect(r.violations.map(\.description) == [
            "user 'u1' gets 3 incentives, more than max_per_user 2",
            "user 'u1' gets 2 on channel 'push', more than its cap 1",
            "budget 'cash': spend 12.0 exceeds limit 9.0",
            "budget 'points': spend 4.0 exceeds limit 2.0",
            "coupon 'a' goes to 2 users, more than its cap 1",
        ])
        let roi = Verifier.verify(problem, Allocation(candidates: [2, 4]))
        #expect(roi.isFeasible)
        // 8 >= 1.5 x 5: the floor holds.
        #expect(Verifier.verify(problem, Allocation(candidates: [3])).isFeasible)
    }

    @Test func roiFloor() throws {
        let table = try CandidateTable(rows: [CandidateRow(user: "u", coupon: "a", uplift: 2, cost: 4)])
        let p = try Problem(candidates: table, spec: AllocationSpec(minROI: 1))
        #expect(Verifier.verify(p, Allocation(candidates: [0])).violations == [.minROI(uplift: 2, cost: 4, required: 1)])
    }

    @Test func invalidAndRepeatedCandidates() {
        let r = Verifier.verify(problem, Allocation(candidates: [7, 0, 0]))
        #expect(r.violations.map(\.description) == [
            "user 'u1' is given coupon 'a' twice",
            "candidate index 7 does not exist",
        ])
    }

    @Test func toleranceAbsorbsRounding() throws {
        let table = try CandidateTable(rows: [CandidateRow(user: "u", coupon: "a", uplift: 1, cost: 0.1),
                                              CandidateRow(user: "v", coupon: "a", uplift: 1, cost: 0.2)])
        let p = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "b", limit: 0.3)]))
        // 0.1 + 0.2 = 0.30000000000000004 > 0.3 in floating point.
        #expect(Verifier.verify(p, Allocation(candidates: [0, 1])).isFeasible)
    }
}

/// A large allocation is checked in parts of whole users: cut anywhere, on any number of threads,
/// the report is the one-part report (sums up to their order of addition).
@Suite struct VerifierPartsTests {
    @Test func partsGiveTheOnePartReport() throws {
        var generator = SeededGenerator(seed: 5)
        for trial in 0..<30 {
            var rows: [CandidateRow] = []
            for u in 0..<Int.random(in: 1...30, using: &generator) {
                for c in 0..<4 where Bool.random(using: &generator) || c == 0 {
                    rows.append(CandidateRow(user: "u\(u)", coupon: "c\(c)", uplift: Double(Int.random(in: -3...20, using: &generator)) / 4,
                                             cost: Double(Int.random(in: 0...9, using: &generator)) / 2,
                                             channel: c % 2 == 0 ? "push" : "email", extra: [Double(c)]))
                }
            }
            let table = try CandidateTable(rows: rows, extraColumns: ["pts"])
            let spec = AllocationSpec(budgets: [.init(name: "cash", limit: 20), .init(name: "points", column: "pts", limit: 15)],
                                      maxPerUser: 2, couponCaps: ["c1": 3], channelCaps: ["push": 1], minROI: trial % 3 == 0 ? 1.5 : nil)
            let problem = try Problem(candidates: table, spec: spec)
            // Any subset, some candidates twice, sometimes an index that does not exist.
            var chosen = (0..<table.count).filter { _ in Int.random(in: 0..<3, using: &generator) > 0 }
            chosen += chosen.filter { _ in Int.random(in: 0..<8, using: &generator) == 0 }
            if trial % 4 == 1 { chosen += [table.count + 2, -1] }
            let allocation = Allocation(candidates: chosen)
            let whole = Verifier.verify(problem, allocation, threads: 1, partSize: Int.max)
            for (partSize, threads) in [(1, 1), (1, 3), (2, 2), (5, 1), (7, 4)] {
                let r = Verifier.verify(problem, allocation, threads: threads, partSize: partSize)
                #expect(r.violations == whole.violations && r.violationCount == whole.violationCount)
                #expect(r.usersReached == whole.usersReached && r.assignmentsPerCoupon == whole.assignmentsPerCoupon
                        && r.assignmentsPerChannel == whole.assignmentsPerChannel)
                #expect(abs(r.objective - whole.objective) <= TestTolerance.rounding * max(1, abs(whole.objective)))
                #expect(zip(r.budgetSpend, whole.budgetSpend).allSatisfy { abs($0 - $1) <= TestTolerance.rounding * max(1, abs($1)) })
                #expect(abs(r.totalCost - whole.totalCost) <= TestTolerance.rounding * max(1, abs(whole.totalCost)))
            }
            // Whatever the threads, the same cut gives the same bits.
            #expect(Verifier.verify(problem, allocation, threads: 1, partSize: 2).objective
                    == Verifier.verify(problem, allocation, threads: 2, partSize: 2).objective)
        }
    }
}
