import AllotCore
import AllotTestSupport
import Testing

private let scores = """
    user_id,coupon_id,uplift,cost,channel,is_new,tilt
    u1,c1,5,2,push,1,-0.5
    u1,c2,3,1,email,1,2
    u2,c1,4,2,push,0,1
    u3,c2,1,3,push,1,-1

    """

private func load(_ spec: String, scores: String = scores) throws -> Problem {
    try ProblemLoader.load(scores: InputBytes(name: "s.csv", text: scores), spec: InputBytes(name: "spec.json", text: spec))
}

private func message(_ spec: String, scores: String = scores) -> String? {
    do { _ = try load(spec, scores: scores); return nil } catch { return "\(error)" }
}

/// Issue 23: the spec's floors and general rows, resolved into one row form.
@Suite struct FloorSpecTests {
    @Test func floorsResolveIntoTwoSidedRows() throws {
        let p = try load(#"{"budgets":[{"name":"cash","limit":6,"min":4}],"coupon_caps":{"c1":2},"coupon_floors":{"c1":1,"c2":1},"constraints":[{"name":"new_users","column":"is_new","min":2},{"name":"tilt","column":"tilt","min":-1,"max":1.5}],"max_per_user":2}"#)
        let r = p.rules
        // budget, c1 (cap and floor), c2 (floor only), then the two general rows.
        #expect(r.count == 5)
        #expect(r.generalStart == 3)
        #expect(r.limits == [6, 2, .infinity, .infinity, 1.5])
        #expect(r.lower == [4, 1, 1, 2, -1])
        #expect((0..<5).map { r.name($0, in: p) } == ["cash", "c1", "c2", "new_users", "tilt"])
        #expect(p.rows.map(\.name) == ["new_users", "tilt"])
        // Candidate 0 is u1/c1: cost 2, coupon c1, is_new 1, tilt -0.5.
        var seen: [Int: Double] = [:]
        r.forEachCoefficient(of: 0) { i, a in seen[i] = a }
        #expect(seen == [0: 2, 1: 1, 3: 1, 4: -0.5])
        #expect((0..<5).map { r.coefficient($0, 0) } == [2, 1, 0, 1, -0.5])
        #expect(r.hasFloors && r.hasGeneralRows && p.hasFloorsOrRows)
        #expect(p.floor(ofCoupon: 0) == 1 && p.cap(ofCoupon: 0) == 2)
    }

    @Test func aCeilingOnlySpecHasNoFloors() throws {
        let p = try load(#"{"budgets":[{"name":"cash","limit":6}],"coupon_caps":{"c1":2}}"#)
        #expect(!p.hasFloorsOrRows)
        #expect(p.rules.lower.allSatisfy { $0 == -.infinity })
        // Without floors, the MILP's columns are the eligible candidates.
        #expect((0..<p.candidates.count).map(p.mayBeUseful) == (0..<p.candidates.count).map(p.isEligible))
    }

    @Test func aCandidateOfNoUpliftMayMeetAFloor() throws {
        let text = "user_id,coupon_id,uplift,cost,is_new\nu1,c1,-1,1,1\nu2,c1,0,1,0\n"
        let p = try load(#"{"budgets":[{"name":"cash","limit":6}],"constraints":[{"name":"n","column":"is_new","min":1}]}"#, scores: text)
        #expect(!p.isEligible(0) && p.mayBeUseful(0))
        #expect(!p.mayBeUseful(1))
    }

    @Test func badFloorsNameTheKey() {
        #expect(message(#"{"budgets":[{"name":"cash","limit":5,"min":6}]}"#) == "spec.json: budgets[0] 'cash': min 6.0 > limit 5.0")
        #expect(message(#"{"budgets":[{"name":"cash","limit":5,"min":"x"}]}"#) == "spec.json: budgets[0]: 'min' must be a number")
        #expect(message(#"{"coupon_floors":{"c9":1}}"#) == "spec.json: coupon_floors names coupon 'c9', which is not in the scores")
        #expect(message(#"{"coupon_floors":{"c1":3},"coupon_caps":{"c1":2}}"#) == "spec.json: coupon_floors['c1'] is 3 > its cap 2 in coupon_caps")
        #expect(message(#"{"coupon_floors":{"c1":1.5}}"#) == "spec.json: coupon_floors['c1'] must be a whole number")
        #expect(message(#"{"constraints":[{"name":"n","column":"nope","min":1}]}"#)
                == "spec.json: constraints[0] 'n' names column 'nope', which s.csv does not have (columns: user_id,coupon_id,uplift,cost,channel,is_new,tilt)")
        #expect(message(#"{"constraints":[{"name":"n","column":"channel","min":1}]}"#)
                == "spec.json: constraints[0] 'n' names column 'channel', which is not numeric (a row sums a numeric column)")
        #expect(message(#"{"constraints":[{"name":"n","column":"is_new"}]}"#) == "spec.json: constraints[0] 'n': give 'min', 'max' or both")
        #expect(message(#"{"constraints":[{"name":"n","column":"is_new","min":3,"max":2}]}"#) == "spec.json: constraints[0] 'n': min 3.0 > max 2.0")
        #expect(message(#"{"constraints":[{"name":"n","column":"is_new","min":true}]}"#) == "spec.json: constraints[0] 'n': 'min' must be a number")
        #expect(message(#"{"constraints":[{"name":"n","column":"is_new","least":1}]}"#) == "spec.json: constraints[0]: unknown key 'least' (known: column, max, min, name)")
        #expect(message(#"{"constraints":[{"column":"is_new","min":1},{"column":"is_new","max":1}]}"#)
                == "spec.json: constraints[1] 'is_new': two constraints are named 'is_new'")
    }

    @Test func aNonNumericRowColumnNamesLineAndColumn() {
        let text = "user_id,coupon_id,uplift,cost,is_new\nu1,c1,1,1,yes\n"
        #expect(message(#"{"constraints":[{"name":"n","column":"is_new","min":1}]}"#, scores: text)
                == "s.csv:2:11: 'yes' in column 'is_new' is not a number")
    }

    @Test func nanBoundsFromTheLibraryAreRefused() throws {
        let table = try CandidateTable(rows: [CandidateRow(user: "u", coupon: "c", uplift: 1, cost: 1)])
        for (spec, expected) in [
            (AllocationSpec(budgets: [.init(name: "cash", limit: 5, min: .nan)]), "spec: budget 'cash' has min nan; a min must be a finite number >= 0"),
            (AllocationSpec(constraints: [.init(name: "r", column: "cost", min: .nan)]), "spec: constraints[0] 'r' has min nan; a bound must be a finite number"),
            (AllocationSpec(constraints: [.init(name: "r", column: "cost", max: .infinity)]), "spec: constraints[0] 'r' has max inf; a bound must be a finite number"),
        ] {
            #expect(throws: InputError.self) { try Problem(candidates: table, spec: spec) }
            do { _ = try Problem(candidates: table, spec: spec) } catch { #expect("\(error)" == expected) }
        }
    }

    @Test func negativeValuesAreKeptInARowColumnOnly() throws {
        #expect(message(#"{"budgets":[{"name":"t","column":"tilt","limit":5}]}"#) == "s.csv:2:18: tilt must be >= 0, got -0.5")
        #expect(message(#"{"constraints":[{"name":"t","column":"tilt","max":5}]}"#) == nil)
    }
}

/// The verifier flags each kind of floor, with the row's name.
@Suite struct FloorVerifierTests {
    @Test func eachFloorViolationIsNamed() throws {
        let p = try load(#"{"budgets":[{"name":"cash","limit":6,"min":4}],"coupon_floors":{"c2":1},"constraints":[{"name":"new_users","column":"is_new","min":2},{"name":"tilt","column":"tilt","min":-1,"max":1.5}],"max_per_user":2}"#)
        // u2/c1 only: cost 2 < 4, no c2, is_new 0 < 2, tilt 1 within.
        let low = Verifier.verify(p, Allocation(candidates: [2]))
        #expect(low.violations.map(\.description) == [
            "budget 'cash': spend 2.0 is below its min 4.0",
            "coupon 'c2' goes to 0 users, fewer than its floor 1",
            "constraint 'new_users': 0.0 is below its min 2.0",
        ])
        #expect(low.rowValues == [0, 1])
        // u1/c2 and u2/c1: tilt 3 > 1.5.
        let high = Verifier.verify(p, Allocation(candidates: [1, 2]))
        #expect(high.violations.map(\.description) == ["budget 'cash': spend 3.0 is below its min 4.0",
                                                      "constraint 'new_users': 1.0 is below its min 2.0",
                                                      "constraint 'tilt': 3.0 exceeds its max 1.5"])
        // u1/c1, u1/c2, u3/c2... cost 6, c2 twice, is_new 3, tilt 0.5: feasible.
        let fine = Verifier.verify(p, Allocation(candidates: [0, 1, 3]))
        #expect(fine.isFeasible, "\(fine.violations)")
        #expect(fine.rowValues == [3, 0.5])
    }

    @Test func theDualTakesFloorsAndGeneralRows() throws {
        for spec in [#"{"budgets":[{"name":"cash","limit":6,"min":4}]}"#,
                     #"{"budgets":[{"name":"cash","limit":6}],"constraints":[{"name":"tilt","column":"tilt","max":1}]}"#,
                     #"{"budgets":[{"name":"cash","limit":6,"min":4}],"coupon_floors":{"c2":1},"constraints":[{"name":"new_users","column":"is_new","min":2},{"name":"tilt","column":"tilt","min":-1,"max":1.5}],"max_per_user":2}"#] {
            let p = try load(spec)
            let solution = try solve(p, method: .dual)
            let report = Verifier.verify(p, solution.allocation)
            #expect(report.isFeasible, "\(spec): \(report.violations)")
            let optimum = try #require(bruteForce(p))
            #expect(report.objective <= optimum.value + 1e-9, "\(spec)")
            #expect(try #require(solution.upperBound) >= optimum.value - 1e-9, "\(spec)")
        }
    }
}
