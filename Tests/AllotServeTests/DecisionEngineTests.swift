import AllotCore
import AllotServe
import AllotTestSupport
import Foundation
import Testing

/// A user's candidates of `problem` as a request gives them (the replay's own conversion).
func liveCandidates(_ problem: Problem, user u: Int) -> [LiveCandidate] {
    Replay.candidates(problem, user: u)
}

/// Feeds every user of `problem` to `engine` in order (user k at time k / users) and returns the
/// answers as an allocation of `problem`.
func replayInOrder(_ problem: Problem, _ engine: DecisionEngine) throws -> Allocation {
    let t = problem.candidates
    var chosen: [Int] = []
    for u in 0..<t.userCount {
        let given = try engine.decide(user: t.userIDs[u], candidates: liveCandidates(problem, user: u),
                                      at: Double(u) / Double(t.userCount))
        for g in given {
            chosen.append(t.candidates(ofUser: u).first { t.couponIDs[Int(t.coupon[$0])] == g.coupon }!)
        }
    }
    return Allocation(candidates: chosen)
}

@Suite struct DecisionEngineTests {
    /// With no global constraint binding, one user's decision is the subset of best total
    /// reduced value under the frequency and channel caps, found by trying every subset.
    @Test func oneUserMatchesBruteForce() throws {
        var mix = RandomProblem(users: 1, coupons: 7, couponsPerUser: 7, budgets: 2, budgetFraction: 100, channels: ["push", "email", "sms"])
        for (maxPerUser, channelCap) in [(1, 1), (2, 1), (3, 1), (3, 2), (7, 2)] {
            mix.maxPerUser = maxPerUser
            mix.channelCap = channelCap
            for seed in 1...15 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                var rng = SeededGenerator(seed: seed)
                let lambda = [rng.nextUnit() * 2, rng.nextUnit() * 2]
                let snapshot = Snapshot(
                    budgets: problem.budgets.enumerated().map { b, budget in
                        .init(name: budget.name, column: problem.candidates.columnNames[budget.column],
                              limit: budget.limit, multiplier: lambda[b])
                    },
                    maxPerUser: maxPerUser, channelCaps: Dictionary(uniqueKeysWithValues: mix.channels.map { ($0, channelCap) }))
                let engine = DecisionEngine(snapshot: snapshot, pacing: Pacing(rule: .fixed))
                let allocation = try replayInOrder(problem, engine)
                #expect(Verifier.verify(problem, allocation).isFeasible)
                // The reference: every subset feasible for the user's caps, by Lagrangian value.
                let t = problem.candidates
                let value = { (j: Int) in t.uplift[j] - lambda[0] * t.cost[j] - lambda[1] * t.columns[1][j] }
                var best = 0.0
                for mask in 0..<(1 << t.count) {
                    let set = (0..<t.count).filter { mask & (1 << $0) != 0 }
                    guard Verifier.verify(problem, Allocation(candidates: set)).isFeasible else { continue }
                    best = max(best, set.map(value).reduce(0, +))
                }
                let got = allocation.candidates.map(value).reduce(0, +)
                #expect(abs(got - best) < 1e-9, "seed \(seed), max \(maxPerUser), channel cap \(channelCap)")
                #expect(allocation.candidates.allSatisfy { value($0) > 0 })
            }
        }
    }

    /// The reduced value with every multiplier (two budgets, each coupon's cap, the ROI floor's
    /// `ρ (r cost - uplift)`): where no limit binds, one user's decision is the subset of best
    /// total reduced value under the frequency and channel caps, by trying every subset; where
    /// the floor would bind, the decision still keeps it.
    @Test func reducedValueWithCouponAndROIMultipliersMatchesBruteForce() throws {
        var mix = RandomProblem(users: 1, coupons: 6, couponsPerUser: 6, budgets: 2, budgetFraction: 100, channels: ["push", "email"])
        let rate = 0.8
        var compared = 0
        for (maxPerUser, channelCap) in [(1, 1), (2, 1), (3, 2), (6, 3)] {
            mix.maxPerUser = maxPerUser
            mix.channelCap = channelCap
            for seed in 1...20 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let t = problem.candidates
                var rng = SeededGenerator(seed: seed + 100)
                let lambda = [rng.nextUnit(), rng.nextUnit()]
                let mu = Dictionary(uniqueKeysWithValues: t.couponIDs.map { ($0, rng.nextUnit() * 3) })
                let rho = rng.nextUnit()
                let snapshot = Snapshot(
                    budgets: problem.budgets.enumerated().map { b, budget in
                        .init(name: budget.name, column: t.columnNames[budget.column], limit: budget.limit, multiplier: lambda[b])
                    },
                    couponCaps: mu.mapValues { .init(cap: 100, multiplier: $0) }, maxPerUser: maxPerUser,
                    channelCaps: Dictionary(uniqueKeysWithValues: mix.channels.map { ($0, channelCap) }),
                    minROI: rate, roiMultiplier: rho, coupons: t.couponIDs)
                let engine = DecisionEngine(snapshot: snapshot, pacing: Pacing(rule: .fixed))
                let allocation = try replayInOrder(problem, engine)
                #expect(Verifier.verify(problem, allocation).isFeasible)
                let uplift = allocation.candidates.map { t.uplift[$0] }.reduce(0, +)
                let cost = allocation.candidates.map { t.cost[$0] }.reduce(0, +)
                #expect(uplift >= rate * cost - 1e-9, "the ROI floor: seed \(seed)")
                let value = { (j: Int) in
                    t.uplift[j] - lambda[0] * t.cost[j] - lambda[1] * t.columns[1][j] - mu[t.couponIDs[Int(t.coupon[j])]]!
                        - rho * (rate * t.cost[j] - t.uplift[j])
                }
                // The reference: the best subset for the user's caps (the problem has no floor);
                // compared only where it keeps the floor too (else the floor binds).
                var best = 0.0
                var bestSet: [Int] = []
                for mask in 0..<(1 << t.count) {
                    let set = (0..<t.count).filter { mask & (1 << $0) != 0 }
                    guard Verifier.verify(problem, Allocation(candidates: set)).isFeasible else { continue }
                    let v = set.map(value).reduce(0, +)
                    if v > best { best = v; bestSet = set }
                }
                #expect(allocation.candidates.allSatisfy { value($0) > 0 })
                let keepsFloor = bestSet.map { t.uplift[$0] }.reduce(0, +) >= rate * bestSet.map { t.cost[$0] }.reduce(0, +)
                guard keepsFloor else { continue }
                compared += 1
                let got = allocation.candidates.map(value).reduce(0, +)
                #expect(abs(got - best) < 1e-9, "seed \(seed), max \(maxPerUser), channel cap \(channelCap)")
            }
        }
        #expect(compared >= 40, "only \(compared) of 80 cases had a non-binding floor")
    }

    /// Over whole days of arrivals with every kind of constraint binding, with and without
    /// pacing, the answers together pass the verifier, and the engine's counters are the sum of
    /// the records it reported.
    @Test(arguments: ["fixed", "proportional"])
    func daysPassTheVerifier(rule: String) throws {
        for (name, var mix) in constraintMixes {
            mix.users = 40
            mix.couponsPerUser = 3
            mix.coupons = 5
            for seed in 1...6 as ClosedRange<UInt64> {
                let problem = mix.make(seed: seed)
                let solution = try solve(problem, options: SolveOptions(seed: seed))
                let snapshot = try Snapshot(problem: problem, solution: solution)
                let records = RecordList()
                let engine = DecisionEngine(snapshot: snapshot, pacing: Pacing(rule: Pacing.Rule(rawValue: rule)!),
                                            onDecision: { records.append($0) })
                let allocation = try replayInOrder(problem, engine)
                let report = Verifier.verify(problem, allocation)
                #expect(report.isFeasible, "\(name) seed \(seed): \(report.violations)")
                var rebuilt = DayState()
                for r in records.all { rebuilt.apply(r) }
                #expect(rebuilt == engine.currentState)
                #expect(records.all.count == problem.candidates.userCount)
                for (b, budget) in problem.budgets.enumerated() {
                    #expect(abs(engine.currentState.spend[budget.name, default: 0] - report.budgetSpend[b]) < 1e-9)
                }
            }
        }
    }

    /// Many threads deciding at once against small integer budgets and coupon caps: the spend
    /// and the counts never pass a limit, and the limits are reached exactly where demand
    /// exceeds them.
    @Test func concurrentReserversNeverOverspend() throws {
        let snapshot = Snapshot(budgets: [.init(name: "cash", column: "cost", limit: 100, multiplier: 0),
                                          .init(name: "sms", column: "sms_units", limit: 37, multiplier: 0)],
                                couponCaps: ["c0": .init(cap: 25, multiplier: 0)], maxPerUser: 2,
                                coupons: ["c0", "c1", "c2"])
        let engine = DecisionEngine(snapshot: snapshot, pacing: Pacing(rule: .proportional))
        let users = 2000
        let given = RecordList()
        DispatchQueue.concurrentPerform(iterations: users) { u in
            let candidates = [
                LiveCandidate(coupon: "c0", uplift: 5, cost: 1, columns: ["sms_units": 0]),
                LiveCandidate(coupon: "c1", uplift: 4, cost: 1, columns: ["sms_units": 1]),
                LiveCandidate(coupon: "c2", uplift: 3, cost: 2, columns: ["sms_units": 0]),
            ]
            let answer = try! engine.decide(user: "u\(u % 700)", candidates: candidates, at: 0.5)
            given.append(DecisionRecord(user: "u\(u % 700)", given: answer.map {
                .init(coupon: $0.coupon, uplift: $0.uplift, cost: $0.cost, channel: nil,
                      consumption: ["cash": $0.cost, "sms": $0.columns["sms_units"]!])
            }))
        }
        var total = DayState()
        for r in given.all { total.apply(r) }
        #expect(total.spend["cash"] == 100)
        #expect(total.spend["sms"] == 37)
        #expect(total.couponUsers["c0"] == 25)
        #expect(total.users.values.allSatisfy { $0.count <= 2 })
        #expect(total.spend == engine.currentState.spend)
        #expect(total.decisions == users)
    }

    @Test func badCandidatesAreRefusedWithTheirReason() throws {
        let snapshot = Snapshot(budgets: [.init(name: "sms", column: "sms_units", limit: 10, multiplier: 0)],
                                couponCaps: ["c0": .init(cap: 1, multiplier: 0)], coupons: ["c0", "c1"])
        let engine = DecisionEngine(snapshot: snapshot)
        let good = LiveCandidate(coupon: "c1", uplift: 1, cost: 1, columns: ["sms_units": 1])
        func refusal(_ c: LiveCandidate) -> String? {
            do { _ = try engine.decide(user: "u", candidates: [good, c], at: 0); return nil } catch let e as DecisionError { return e.message } catch { return "\(error)" }
        }
        var c = good; c.coupon = "c0"; c.uplift = .nan
        #expect(refusal(c) == "candidates[1]: uplift is not a finite number")
        c = good; c.coupon = "c0"; c.cost = -1
        #expect(refusal(c) == "candidates[1]: cost is -1.0; it must be >= 0")
        c = good; c.coupon = "c0"; c.columns = [:]
        #expect(refusal(c) == "candidates[1]: missing field 'sms_units' (budget 'sms')")
        c = good
        #expect(refusal(c) == "candidates[1]: coupon_id 'c1' repeats within the request")
        c = good; c.coupon = "c9"
        #expect(refusal(c) == "candidates[1]: unknown coupon_id 'c9': the snapshot has coupon caps, so only its coupons are allowed")
        #expect(engine.currentState == DayState())
    }

    @Test func snapshotRoundTripsAndDetectsAlteration() throws {
        let problem = constraintMixes.last!.1.make(seed: 3)
        let snapshot = try Snapshot(problem: problem, solution: solve(problem), profile: [1, 2, 3, 2])
        let text = snapshot.json()
        let back = try Snapshot.parse(Data(text.utf8), file: "s.json")
        #expect(back == snapshot)
        #expect(back.version == snapshot.version)
        #expect(text.contains("\"version\" : \"\(snapshot.version)\""))
        let altered = text.replacingOccurrences(of: "\"max_per_user\" : 2", with: "\"max_per_user\" : 3")
        #expect(altered != text)
        #expect(throws: InputError.self) { try Snapshot.parse(Data(altered.utf8), file: "s.json") }
        // The plan: cumulative weights, linear within a slot.
        #expect(snapshot.plannedFraction(at: 0) == 0)
        #expect(snapshot.plannedFraction(at: 0.25) == 1.0 / 8)
        #expect(snapshot.plannedFraction(at: 0.375) == 2.0 / 8)
        #expect(snapshot.plannedFraction(at: 1) == 1)
    }
}

/// A list appended to from several threads.
final class RecordList: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [DecisionRecord] = []
    func append(_ r: DecisionRecord) { lock.withLock { records.append(r) } }
    var all: [DecisionRecord] { lock.withLock { records } }
}

@Suite struct ReplayTests {
    /// A forecast on half the users, days of 0.7x, 1x and 1.3x that traffic: every policy's
    /// allocation passes the verifier on the day, and none beats the hindsight optimum's bound.
    @Test(arguments: [0.7, 1.0, 1.3])
    func policiesAreFeasibleAndBelowHindsight(traffic: Double) throws {
        let mix = RandomProblem(users: 120, coupons: 4, couponsPerUser: 3, budgetFraction: 0.15)
        let day = mix.make(seed: 11)
        let forecast = day.restricted(toUsers: Array(stride(from: 0, to: 120, by: 2)))
        let snapshot = try Snapshot(problem: forecast, solution: solve(forecast))
        #expect(snapshot.forecastUsers == 60)
        let arrivals = try Replay.arrivals(day, traffic: traffic, forecastUsers: 60, seed: 3)
        #expect(arrivals.count == Int((traffic * 60).rounded()))
        let report = try Replay.report(day, arrivals: arrivals, snapshot: snapshot, pacing: Pacing())
        let arrived = day.restricted(toUsers: arrivals.sorted())
        let bound = try #require(try solve(arrived).upperBound)
        for run in report.runs {
            let check = Verifier.verify(day, run.allocation)
            #expect(check.isFeasible, "\(run.policy): \(check.violations)")
            #expect(abs(check.objective - run.gmv) < 1e-9)
            #expect(run.gmv <= bound + 1e-9)
            #expect(run.path.count == 48)
            #expect(run.path.last == run.spend)
        }
    }
}
