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
