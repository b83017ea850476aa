import AllotServe
import AllotTestSupport
import Foundation
import Testing

/// A settable day for the service's day clock.
final class Day: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(_ value: Int) { self.value = value }
    func set(_ v: Int) { lock.withLock { value = v } }
    var now: Int { lock.withLock { value } }
}

@Suite struct DayRolloverTests {
    /// At the first decision of a later UTC day the counters start again from 0 (a user's cap
    /// too) and the old day's journal is moved aside under its date; a restart on the same day
    /// finds the day's counters, a restart on a later day starts empty.
    @Test func countersResetAtTheDayBoundaryAndSurviveRestarts() throws {
        let dir = try TemporaryDirectory()
        let state = dir.path("state")
        let day = Day(100)
        let service = try LiveService(snapshot: testSnapshot, stateDirectory: state, pacing: Pacing(rule: .fixed),
                                      clock: { 0.5 }, day: { day.now })
        let all = [c0, c1, c2].joined(separator: ",")
        let first = try service.decide(DecideRequest.parse(Data(request("u1", all).utf8)))
        #expect(first.contains(#""coupon_id":"c0""#))
        #expect(service.engine.currentState.spend == ["cash": 5, "sms": 1])
        // The same user again, the same day: at the cap of 2.
        #expect(try service.decide(DecideRequest.parse(Data(request("u1", all).utf8))).contains(#""assignments":[]"#))

        day.set(101)
        let next = try service.decide(DecideRequest.parse(Data(request("u1", all).utf8)))
        #expect(next == first)  // a new day: the user and the budgets start again
        #expect(service.engine.currentDay == 101)
        #expect(service.engine.currentState.spend == ["cash": 5, "sms": 1])
        #expect(service.engine.currentState.decisions == 1)
        let archived = try Journal.records(directory: state, file: "journal-1970-04-11.jsonl")
        #expect(archived.count == 2)
        #expect(Journal.day(directory: state) == 101)

        let sameDay = try LiveService(snapshot: testSnapshot, stateDirectory: state, clock: { 0.5 }, day: { 101 })
        #expect(sameDay.engine.currentState == service.engine.currentState)
        let later = try LiveService(snapshot: testSnapshot, stateDirectory: state, clock: { 0.5 }, day: { 103 })
        #expect(later.engine.currentState == DayState())
        #expect(try Journal.records(directory: state, file: "journal-1970-04-12.jsonl").count == 1)
        #expect(Journal.day(directory: state) == 103)
    }
}
