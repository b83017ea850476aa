import AllotCore
import Testing

private let scores = "user_id,coupon_id,uplift,cost,channel,points\nu1,c1,5,2,push,1\nu1,c2,3,1,email,0\nu2,c1,4,2,push,2\n"

private func load(_ spec: String, budget: Double? = nil) throws -> Problem {
    try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: scores), spec: InputBytes(name: "spec.json", text: spec),
                           overrides: .init(budget: budget))
}

private func message(_ spec: String) -> String? {
    do { _ = try load(spec); return nil } catch { return "\(error)" }
}

@Suite struct SpecTests {
    @Test func fullSpecResolves() throws {
        let p = try load(#"{"budgets":[{"name":"cash","column":"cost","limit":50},{"name":"pts","column":"points","limit":2}],"max_per_user":2,"coupon_caps":{"c1":1},"channel_caps":{"push":1,"email":2},"min_roi":2.0}"#)
        #expect(p.budgets.map(\.name) == ["cash", "pts"])
        #expect(p.budgets.map(\.column) == [0, 1])
        #expect(p.budgets.map(\.limit) == [50, 2])
        #expect(p.maxPerUser == 2)
        #expect((0..<p.candidates.couponCount).map(p.cap(ofCoupon:)) == [1, nil])
        #expect((0..<p.candidates.channelCount).map(p.cap(ofChannel:)) == [1, 2])
        #expect(p.minROI == 2)
    }

    @Test func budgetFlagOverridesTheCostBudget() throws {
        #expect(try load(#"{"budgets":[{"name":"cash","limit":50}]}"#, budget: 7).budgets.map(\.limit) == [7])
        #expect(try load("{}", budget: 7).budgets.map(\.name) == ["budget"])
    }

    @Test func malformedJSON() {
        #expect(message("{\"budgets\": [\n  {\"limit\": 5 \"name\": \"x\"}\n]}") == "spec.json:2:15: malformed JSON: invalid value")
    }

    @Test func emptySpec() {
        #expect(message("  \n") == "spec.json: the spec is empty (expected a JSON object)")
    }

    @Test func unknownKey() {
        #expect(message(#"{"budget": 5}"#) == "spec.json: unknown key 'budget' (known: budgets, channel_caps, constraints, coupon_caps, coupon_floors, max_per_user, min_roi)")
    }

    @Test func unknownCoupon() {
        #expect(message(#"{"coupon_caps":{"c9":1}}"#) == "spec.json: coupon_caps names coupon 'c9', which is not in the scores")
    }

    @Test func unknownChannel() {
        #expect(message(#"{"channel_caps":{"sms":1}}"#) == "spec.json: channel_caps names channel 'sms', which is not in the scores (channels: push, email)")
    }

    @Test func unknownColumn() {
        #expect(message(#"{"budgets":[{"name":"x","column":"nope","limit":1}]}"#)
            == "spec.json: budget 'x' names column 'nope', which s.csv does not have (columns: user_id,coupon_id,uplift,cost,channel,points)")
    }

    @Test func negativeLimit() {
        #expect(message(#"{"budgets":[{"name":"cash","limit":-5}]}"#) == "spec.json: budget 'cash' has limit -5.0; a limit must be a finite number >= 0")
    }

    @Test func wrongTypes() {
        #expect(message(#"{"max_per_user": 1.5}"#) == "spec.json: 'max_per_user' must be a whole number")
        #expect(message(#"{"max_per_user": 0}"#) == "spec.json: max_per_user is 0; it must be at least 1")
        #expect(message(#"{"min_roi": true}"#) == "spec.json: 'min_roi' must be a number")
        #expect(message(#"{"coupon_caps":{"c1":-1}}"#) == "spec.json: coupon_caps['c1'] is -1; a cap must be >= 0")
        #expect(message("[1]") == "spec.json: the spec must be a JSON object")
    }
}
