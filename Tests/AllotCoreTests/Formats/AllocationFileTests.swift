import AllotCore
import AllotTestSupport
import Testing

@Suite struct AllocationFileTests {
    @Test func renderThenReadRoundTrips() throws {
        let spec = RandomProblem(users: 30, channels: ["push", "email"])
        let problem = spec.make(seed: 3)
        let allocation = Allocation(candidates: [0, 4, 7, 20, 45])
        let bytes = AllocationFile.render(problem, allocation)
        let back = try AllocationFile.read(InputBytes(name: "a.csv", bytes: bytes), for: problem)
        #expect(back == allocation)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("user_id,coupon_id,uplift,cost\n"))
    }

    @Test func quotesIdentifiersThatNeedIt() throws {
        let table = try CandidateTable(rows: [CandidateRow(user: "a,b", coupon: "say \"hi\"", uplift: 1.5, cost: 0.25)])
        let problem = try Problem(candidates: table, spec: AllocationSpec())
        let text = String(decoding: AllocationFile.render(problem, Allocation(candidates: [0])), as: UTF8.self)
        #expect(text == "user_id,coupon_id,uplift,cost\n\"a,b\",\"say \"\"hi\"\"\",1.5,0.25\n")
        #expect(try AllocationFile.read(InputBytes(name: "a.csv", text: text), for: problem) == Allocation(candidates: [0]))
    }

    @Test func unknownPairsAndRepeatsAreErrors() throws {
        let table = try CandidateTable(rows: [CandidateRow(user: "u", coupon: "a", uplift: 1, cost: 1),
                                              CandidateRow(user: "v", coupon: "b", uplift: 1, cost: 1)])
        let problem = try Problem(candidates: table, spec: AllocationSpec())
        #expect(throws: InputError(file: "a.csv", line: 2, column: 1, "user 'w' is not in the scores")) {
            try AllocationFile.read(InputBytes(name: "a.csv", text: "user_id,coupon_id\nw,a\n"), for: problem)
        }
        #expect(throws: InputError(file: "a.csv", line: 2, column: 3, "user 'u' has no score for coupon 'b'")) {
            try AllocationFile.read(InputBytes(name: "a.csv", text: "user_id,coupon_id\nu,b\n"), for: problem)
        }
        #expect(throws: InputError(file: "a.csv", line: 3, column: 1, "user 'u' and coupon 'a' repeat line 2")) {
            try AllocationFile.read(InputBytes(name: "a.csv", text: "user_id,coupon_id\nu,a\nu,a\n"), for: problem)
        }
    }

    @Test func columnsReadAsTheFileIs() throws {
        let spec = RandomProblem(users: 30)
        let problem = spec.make(seed: 5)
        let t = problem.candidates
        let allocation = Allocation(candidates: [3, 9, 21, 40])
        let users = allocation.candidates.map { t.userIDs[t.user(ofCandidate: $0)] }
        let coupons = allocation.candidates.map { t.couponIDs[Int(t.coupon[$0])] }
        #expect(try AllocationFile.allocation(users: users, coupons: coupons, source: "frame", for: problem) == allocation)
        #expect(try AllocationFile.allocation(users: users, coupons: coupons, source: "frame", for: problem)
            == AllocationFile.read(InputBytes(name: "a.csv", bytes: AllocationFile.render(problem, allocation)), for: problem))
        #expect(throws: InputError(file: "frame", "row \(users.count): user '\(users[0])' and coupon '\(coupons[0])' repeat row 0")) {
            try AllocationFile.allocation(users: users + [users[0]], coupons: coupons + [coupons[0]], source: "frame", for: problem)
        }
        #expect(throws: InputError(file: "frame", "row 0: user 'nobody' is not in the scores")) {
            try AllocationFile.allocation(users: ["nobody"], coupons: ["c1"], source: "frame", for: problem)
        }
    }
}
