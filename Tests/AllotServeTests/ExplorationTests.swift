import Allot
import AllotServe
import AllotTestSupport
import Foundation
import Testing

@Suite struct ExplorationTests {
    /// A day of explored decisions writes a decision log; with an outcome column joined (each
    /// treatment's uplift, 0 for the control), `allot evaluate --log`'s reader and estimator
    /// take it as a randomised log, and the 95% interval of two policies' estimates covers
    /// their true value. The budget does not bind, so every candidate stays an arm all day (the
    /// propensities of every policy's choices are positive).
    @Test func decisionLogRoundTripsThroughEvaluate() throws {
        var mix = RandomProblem(users: 4000, coupons: 4, couponsPerUser: 4, budgetFraction: 100)
        let problem = mix.make(seed: 9)
        let solution = try solve(problem)
        let snapshot = try Snapshot(problem: problem, solution: solution)
        let dir = try TemporaryDirectory()
        let logPath = dir.path("decisions.csv")
        let epsilon = 0.5
        let service = try LiveService(snapshot: snapshot, stateDirectory: nil, pacing: Pacing(rule: .fixed),
                                      exploration: Exploration(epsilon: epsilon, seed: 3), decisionLog: logPath, clock: { 0.5 })
        let given = try replayInOrder(problem, service.engine)
        #expect(Verifier.verify(problem, given).isFeasible)
        service.decisionLog?.sync()

        let t = problem.candidates
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "user_id,treatment,propensity,snapshot")
        #expect(lines.count == t.userCount + 1)
        // Join the outcomes: the uplift of the treatment given, 0 for the control arm.
        var joined = "user_id,treatment,propensity,snapshot,outcome\n"
        var controls = 0
        for line in lines.dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            let propensity = try #require(Double(f[2]))
            #expect(propensity > 0 && propensity <= 1)
            #expect(f[3] == snapshot.version)
            let u = try #require(t.userIDs.firstIndex(of: f[0]))
            var outcome = 0.0
            if f[1] == "control" {
                controls += 1
            } else {
                let j = try #require(t.candidates(ofUser: u).first { t.couponIDs[Int(t.coupon[$0])] == f[1] })
                outcome = t.uplift[j]
            }
            joined += line + ",\(outcome)\n"
        }
        // About epsilon / (arms + 1) of the users draw the control, and the usual decision
        // gives nothing to users without a positive candidate.
        #expect(controls > t.userCount / 20)
        try dir.write("joined.csv", joined)
        let log = try RandomisedLog(InputBytes(path: dir.path("joined.csv")))
        // Two policies: the dual's allocation, and each user's first candidate.
        let first = Allocation(candidates: (0..<t.userCount).map { t.candidates(ofUser: $0).lowerBound })
        for allocation in [solution.allocation, first] {
            let report = EvaluationReport(problem: problem, allocation: allocation, report: Verifier.verify(problem, allocation), log: log, against: nil)
            let value = try #require(report.policyValue)
            let truth = allocation.candidates.map { t.uplift[$0] }.reduce(0, +)
            #expect(value.logRows == t.userCount)
            #expect(value.ci95Low <= truth && truth <= value.ci95High, "\(value.incrementalOutcome) ± \(value.standardError) against \(truth)")
            // And the log is informative: the interval is within 20% of the truth either side.
            #expect(1.96 * value.standardError < 0.2 * abs(truth), "\(value.standardError) against \(truth)")
        }
    }

    /// The draw is the user's, not the order's: the same users in another order get the same
    /// treatments with the same propensities, when no global constraint binds.
    @Test func drawsDependOnTheUserNotTheOrder() throws {
        let mix = RandomProblem(users: 300, budgetFraction: 100)
        let problem = mix.make(seed: 4)
        let snapshot = try Snapshot(problem: problem, solution: solve(problem))
        func day(_ order: [Int]) throws -> [String: String] {
            let dir = try TemporaryDirectory()
            let service = try LiveService(snapshot: snapshot, stateDirectory: nil, pacing: Pacing(rule: .fixed),
                                          exploration: Exploration(epsilon: 0.4, seed: 8), decisionLog: dir.path("log.csv"), clock: { 0.5 })
            for u in order {
                _ = try service.engine.decide(user: problem.candidates.userIDs[u], candidates: Replay.candidates(problem, user: u), at: 0.5)
            }
            service.decisionLog?.sync()
            let lines = try String(contentsOfFile: dir.path("log.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            return Dictionary(uniqueKeysWithValues: lines.map { line in
                let f = line.split(separator: ",", maxSplits: 1).map(String.init)
                return (f[0], f[1])
            })
        }
        let users = Array(0..<problem.candidates.userCount)
        #expect(try day(users) == day(users.reversed()))
    }

    @Test func explorationNeedsOneTreatmentPerUser() throws {
        let service = try LiveService(snapshot: testSnapshot, stateDirectory: nil, exploration: Exploration(epsilon: 0.1), clock: { 0.5 })
        #expect(throws: DecisionError("exploration needs a snapshot with max_per_user 1 (this one has 2): a randomised log has one treatment per decision")) {
            try service.decide(DecideRequest(user: "u", candidates: [LiveCandidate(coupon: "c1", uplift: 1, cost: 1, columns: ["sms_units": 0])]))
        }
    }
}
