import AllotTestSupport
import Foundation
import Testing

private let scores = """
    user_id,coupon_id,uplift,cost,is_new,a_minus_half_b
    u1,c1,9,1,0,1
    u2,c1,8,1,0,1
    u3,c1,7,1,0,-0.5
    u4,c1,2,1,1,-0.5
    u5,c2,1,1,1,0
    u6,c2,1,1,1,0

    """

/// Issue 23 on the command line: floors solved exactly, infeasible specs, the options' errors.
@Suite struct FloorsCLITests {
    @Test func aCoverageFloorIsMetAndReported() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("spec.json", #"{"budgets":[{"name":"cash","limit":3,"min":3}],"coupon_floors":{"c2":1},"constraints":[{"name":"new_users","column":"is_new","min":2}]}"#)
        let r = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--method", "milp-cbc", "--out", "a.csv", "--summary", "sum.json"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        // u1 and two new users, one of them on c2: 9 + 2 + 1.
        #expect(dir.read("a.csv") == "user_id,coupon_id,uplift,cost\nu1,c1,9.0,1.0\nu4,c1,2.0,1.0\nu5,c2,1.0,1.0\n")
        let text = try #require(dir.read("sum.json"))
        #expect(try summarySchemaViolations(text) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        #expect(summary["status"] as? String == "optimal")
        #expect(summary["coupon_floors"] as? [String: Int] == ["c2": 1])
        let row = try #require((summary["constraints"] as? [[String: Any]])?.first)
        #expect(row["name"] as? String == "new_users" && row["value"] as? Double == 2 && row["min"] as? Double == 2)
        #expect((summary["budgets"] as? [[String: Any]])?.first?["min"] as? Double == 3)
        // The same floors from the command line, and the floor-aware greedy.
        let flags = try AllotBinary.run(["solve", "s.csv", "--budget", "3", "--budget-min", "3", "--constraint", "new_users:is_new:2:",
                                         "--method", "greedy-floors", "--json", "--out", "b.csv"], in: dir.url)
        #expect(flags.status == 0, "\(flags.stderr)")
        #expect(try summarySchemaViolations(flags.stdout) == [])
        #expect(flags.stdout.contains("\"feasible\" : true"))
    }

    @Test func anInfeasibleFloorExitsWithStatusFourAndWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "old\n")
        for method in ["milp-cbc", "milp-glpk"] {
            let r = try AllotBinary.run(["solve", "s.csv", "--budget", "2", "--constraint", "new_users:is_new:3:", "--method", method,
                                         "--out", "a.csv", "--summary", "sum.json"], in: dir.url)
            #expect(r.status == 4, "\(r.stderr)")
            #expect(r.stderr == "allot: error: infeasible: constraint new_users needs at least 3, at most 2 is reachable under max_per_user and the ceilings; nothing was written\n")
            #expect(dir.read("a.csv") == "old\n")
            #expect(dir.read("sum.json") == nil)
        }
        // The greedy that cannot meet the floor says only that its search failed.
        let g = try AllotBinary.run(["solve", "s.csv", "--budget", "2", "--constraint", "new_users:is_new:3:", "--method", "greedy-floors",
                                     "--out", "a.csv"], in: dir.url)
        #expect(g.status == 5, "\(g.stderr)")
        #expect(g.stderr.hasPrefix("allot: error: greedy-floors found no allocation that meets every floor within its limits (the search failed; the floors were not proven infeasible)"))
        // The dual takes floors: a reachable one is met (verified before writing).
        let d = try AllotBinary.run(["solve", "s.csv", "--budget", "2", "--constraint", "new_users:is_new:1:", "--out", "d.csv"], in: dir.url)
        #expect(d.status == 0, "\(d.stderr)")
        // u1 and the best new user, u4: 9 + 2.
        #expect(dir.read("d.csv") == "user_id,coupon_id,uplift,cost\nu1,c1,9.0,1.0\nu4,c1,2.0,1.0\n")
        // The pure dual (no exact finish) proves an out-of-reach floor by its ray: three new
        // users, one incentive each, can never make five.
        let ray = try AllotBinary.run(["solve", "s.csv", "--budget", "9", "--constraint", "new_users:is_new:5:", "--exact-finish-limit", "0",
                                       "--out", "a.csv"], in: dir.url)
        #expect(ray.status == 4, "\(ray.stderr)")
        #expect(ray.stderr == "allot: error: infeasible: constraint new_users needs at least 5, at most 3 is reachable under max_per_user (the dual's bound falls without limit along its multiplier); nothing was written\n")
        #expect(dir.read("a.csv") == "old\n")
    }

    @Test func badFloorOptionsAreOneLineErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        for (args, expected) in [
            (["--constraint", "n:is_new"], "--constraint 'n:is_new' must be NAME:COLUMN:MIN:MAX with either bound empty, e.g. new_users:is_new:3000:"),
            (["--constraint", "n:is_new:nan:"], "--constraint 'n:is_new:nan:': MIN 'nan' must be a finite number or empty"),
            (["--constraint", "n:is_new::"], "--constraint 'n:is_new::' has neither MIN nor MAX"),
            (["--constraint", "n:is_new:3:2"], "--constraint 'n:is_new:3:2': MIN 3.0 > MAX 2.0"),
        ] {
            let r = try AllotBinary.run(["solve", "s.csv", "--budget", "3", "--method", "milp-cbc"] + args, in: dir.url)
            #expect(r.status == 64, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("Error: " + expected) || r.stderr.contains(expected), "\(args): \(r.stderr)")
        }
        for (args, expected) in [
            (["--budget", "3", "--budget-min", "4"], "allot: error: command line: budget 'budget' has min 4.0 > limit 3.0\n"),
            (["--no-budget", "--budget-min", "4"], "allot: error: command line: --budget-min sets the floor of the budget on the cost column, and there is none: give --budget or a spec budget on cost\n"),
            (["--budget", "3", "--constraint", "n:is_nw:1:"], "allot: error: command line: constraints[0] 'n' names column 'is_nw', which s.csv does not have (columns: user_id,coupon_id,uplift,cost,is_new,a_minus_half_b)\n"),
        ] {
            let r = try AllotBinary.run(["solve", "s.csv", "--method", "milp-cbc"] + args, in: dir.url)
            #expect(r.status == 1, "\(args): \(r.stderr)")
            #expect(r.stderr == expected)
        }
    }

    @Test func theFloorSweepSaysWhatEachUnitOfCoverageCosts() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let r = try AllotBinary.run(["frontier", "s.csv", "--budget", "3", "--constraint", "new_users:is_new:0:",
                                     "--floor-range", "new_users:0:4:5", "--csv", "f.csv"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        // Three incentives: the best three (24), then new users one by one in place of the
        // best others: 9 + 8 + 2, 9 + 2 + 1, 2 + 1 + 1; four new users cannot be reached.
        let rows = try #require(dir.read("f.csv")).split(separator: "\n").filter { $0.hasPrefix("milp-cbc,") }
        #expect(rows == ["milp-cbc,0.0,optimal,24.0,24.0,", "milp-cbc,1.0,optimal,19.0,19.0,5.0", "milp-cbc,2.0,optimal,12.0,12.0,7.0",
                         "milp-cbc,3.0,optimal,4.0,4.0,8.0", "milp-cbc,4.0,infeasible,,,"])
        #expect(r.stderr.contains("milp-cbc: raising new_users to 3 costs 8 incremental GMV per unit"))
        let bad = try AllotBinary.run(["frontier", "s.csv", "--budget", "3", "--floor-range", "nope:0:4:5"], in: dir.url)
        #expect(bad.status == 1)
        #expect(bad.stderr == "allot: error: floor: no constraint, budget or coupon is named 'nope' (constraints and budgets: budget)\n")
    }

    @Test func exportCarriesTheRowsAsTheyAre() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let r = try AllotBinary.run(["export", "s.csv", "--budget", "3", "--budget-min", "2", "--constraint", "parity:a_minus_half_b:0:1",
                                     "--out", "m.lp"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let lp = try #require(dir.read("m.lp"))
        #expect(lp.contains("budget_budget_min:"))
        #expect(lp.contains("row_parity_max:"))
        #expect(lp.contains("row_parity_min:"))
        #expect(lp.contains(">= 2"))
    }
}
