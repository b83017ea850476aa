import AllotTestSupport
import Foundation
import Testing

private let scores = """
    user_id,coupon_id,uplift,cost,channel
    u1,c1,10,4,push
    u1,c2,6,2,email
    u2,c1,8,5,push
    u2,c2,1,1,email
    u3,c2,-2,1,email

    """

@Suite struct CLITests {
    @Test func solveWritesVerifiedAllocationAndSummary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "7", "--method", "greedy-marginal",
                                     "--out", "a.csv", "--summary", "sum.json"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "")
        #expect(dir.read("a.csv") == "user_id,coupon_id,uplift,cost\nu1,c1,10.0,4.0\nu2,c2,1.0,1.0\n"
            || dir.read("a.csv") == "user_id,coupon_id,uplift,cost\nu1,c2,6.0,2.0\nu2,c1,8.0,5.0\n")
        #expect(try summarySchemaViolations(dir.read("sum.json")!) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(dir.read("sum.json")!.utf8)) as! [String: Any]
        #expect(summary["feasible"] as? Bool == true)
        #expect(summary["method"] as? String == "greedy-marginal")
        #expect(r.stderr.contains("greedy-marginal: objective"))
        // The evaluate command agrees with the summary.
        let e = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--budget", "7"], in: dir.url)
        #expect(e.status == 0)
        #expect(e.stdout.contains("feasible: yes"))
        #expect(e.stdout.contains("objective: 11.00"))
        #expect(summary["objective"] as? Double == 11)
    }

    @Test func generatePipesIntoSolve() throws {
        let g = try AllotBinary.run(["generate", "--users", "200", "--coupons", "3", "--channels", "push,email", "--seed", "4"])
        #expect(g.status == 0)
        #expect(g.stdout.hasPrefix("user_id,coupon_id,uplift,cost,channel\nu1,c1,"))
        #expect(g.stdout.split(separator: "\n").count == 601)
        let again = try AllotBinary.run(["generate", "--users", "200", "--coupons", "3", "--channels", "push,email", "--seed", "4"])
        #expect(again.stdout == g.stdout)
        let s = try AllotBinary.run(["solve", "-", "--budget", "300", "--method", "greedy-ratio", "--json"], stdin: Data(g.stdout.utf8))
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try summarySchemaViolations(s.stdout) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as! [String: Any]
        #expect(summary["feasible"] as? Bool == true)
        let budget = (summary["budgets"] as! [[String: Any]])[0]
        #expect((budget["spend"] as! Double) <= 300)
    }

    @Test func evaluateListsViolations() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "user_id,coupon_id\nu1,c1\nu1,c2\nu2,c1\n")
        let r = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--budget", "10"], in: dir.url)
        #expect(r.status == 3)
        #expect(r.stdout == """
            objective: 24.00
            assignments: 3 to 2 users
            budget: spend 11.00 of 10.00
            feasible: no, 2 violations:
              user 'u1' gets 2 incentives, more than max_per_user 1
              budget 'budget': spend 11.0 exceeds limit 10.0

            """)
    }

    /// Each bad input: exit status 1, one clear line naming the file, no output file.
    @Test(arguments: [
        ("empty.csv", "", [String](), "allot: error: empty.csv: the file is empty (expected a header: user_id,coupon_id,uplift,cost)\n"),
        ("h.csv", "user_id,coupon_id,cost\nu,c,1\n", [], "allot: error: h.csv:1:1: missing required column 'uplift' in the header (found: user_id,coupon_id,cost)\n"),
        ("d.csv", "user_id,coupon_id,uplift,cost,cost\nu,c,1,1,1\n", [], "allot: error: d.csv:1:31: duplicate column 'cost' in the header (also column 26)\n"),
        ("n.csv", "user_id,coupon_id,uplift,cost\nu,c,x1,1\n", [], "allot: error: n.csv:2:5: 'x1' in column 'uplift' is not a number\n"),
        ("f.csv", "user_id,coupon_id,uplift,cost\nu,c,1,nan\n", [], "allot: error: f.csv:2:7: 'nan' in column 'cost' is not a finite number\n"),
        ("c.csv", "user_id,coupon_id,uplift,cost\nu,c,1,-1\n", [], "allot: error: c.csv:2:7: cost must be >= 0, got -1.0\n"),
        ("p.csv", "user_id,coupon_id,uplift,cost\nu,c,1,1\nu,c,2,1\n", [], "allot: error: p.csv:3:1: duplicate row for user 'u' and coupon 'c' (first at line 2)\n"),
        ("s.csv", scores, ["--spec", "bad.json"], "allot: error: bad.json:1:14: malformed JSON: invalid value\n"),
        ("s.csv", scores, ["--spec", "coupon.json"], "allot: error: coupon.json: coupon_caps names coupon 'c7', which is not in the scores\n"),
        ("s.csv", scores, ["--spec", "channel.json"], "allot: error: channel.json: channel_caps names channel 'sms', which is not in the scores (channels: push, email)\n"),
        ("s.csv", scores, ["--spec", "column.json"], "allot: error: column.json: budget 'pts' names column 'points', which s.csv does not have (columns: user_id,coupon_id,uplift,cost,channel)\n"),
        ("s.csv", scores, ["--budget=-3"], "allot: error: command line: budget 'budget' has limit -3.0; a limit must be a finite number >= 0\n"),
        ("s.csv", scores, ["--out", "missing/dir/a.csv"], "allot: error: missing/dir/a.csv: cannot write output: No such file or directory (directory 'missing/dir')\n"),
        ("latin1.csv", "", [], "allot: error: latin1.csv:2:2: the file is not valid UTF-8 (byte 0xE9)\n"),
        ("nothere.csv", nil as String?, [], "allot: error: nothere.csv: cannot read: No such file or directory\n"),
    ] as [(String, String?, [String], String)])
    func badInput(file: String, content: String?, extra: [String], expected: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        if file == "latin1.csv" {
            try dir.write(file, bytes: Array("user_id,coupon_id,uplift,cost\nu".utf8) + [0xE9] + Array(",c,1,1\n".utf8))
        } else if let content {
            try dir.write(file, content)
        }
        try dir.write("bad.json", #"{"budgets": [}"#)
        try dir.write("coupon.json", #"{"coupon_caps": {"c7": 1}}"#)
        try dir.write("channel.json", #"{"channel_caps": {"sms": 1}}"#)
        try dir.write("column.json", #"{"budgets": [{"name": "pts", "column": "points", "limit": 1}]}"#)
        let budget = extra.contains { $0.hasPrefix("--budget") || $0 == "--spec" } ? [] : ["--no-budget"]
        let r = try AllotBinary.run(["solve", file, "--out", "a.csv"] + extra + budget, in: dir.url)
        #expect(r.status == 1)
        #expect(r.stdout == "")
        if expected.hasSuffix("\n") {
            #expect(r.stderr == expected)
        } else {
            #expect(r.stderr.hasPrefix(expected), "got: \(r.stderr)")
        }
        #expect(!dir.exists("a.csv"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix(".allot-tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func missingSpecWritesNothing() throws {
        // An existing output survives a failed run untouched.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "previous\n")
        let r = try AllotBinary.run(["solve", "s.csv", "--out", "a.csv", "--spec", "nope.json"], in: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr == "allot: error: nope.json: cannot read: No such file or directory\n")
        #expect(dir.read("a.csv") == "previous\n")
    }

    @Test func unknownMethodIsAUsageError() throws {
        let r = try AllotBinary.run(["solve", "x.csv", "--method", "magic"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("Error: The value 'magic' is invalid for '--method <method>': unknown method 'magic'; choose one of: dual, milp-glpk, milp-cbc, dual+milp, dual+milp-cbc, greedy-marginal, greedy-floors, greedy-ratio, greedy-uplift, blanket, random\n"))
    }

    @Test(arguments: [["--help"], ["solve", "--help"], ["generate", "--help"], ["evaluate", "--help"]])
    func helpHasAnExample(args: [String]) throws {
        let r = try AllotBinary.run(args)
        #expect(r.status == 0)
        #expect(r.stdout.contains("Example:"))
    }
}

@Suite struct DualCLITests {
    @Test func defaultMethodIsDualWithCertificate() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let g = try AllotBinary.run(["generate", "--users", "500", "--coupons", "4", "--seed", "2", "--out", "s.csv"], in: dir.url)
        #expect(g.status == 0)
        try dir.write("spec.json", #"{"budgets":[{"name":"cash","limit":400}],"coupon_caps":{"c4":30},"min_roi":3}"#)
        let r = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--json", "--threads", "1"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try summarySchemaViolations(r.stdout) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(summary["method"] as? String == "dual")
        #expect(summary["feasible"] as? Bool == true)
        let bound = try #require(summary["upper_bound"] as? Double)
        let objective = try #require(summary["objective"] as? Double)
        #expect(bound >= objective)
        #expect(try #require(summary["relative_gap"] as? Double) < 0.01)
        let prices = try #require(summary["shadow_prices"] as? [String: Double])
        #expect(Set(prices.keys) == ["budget:cash", "coupon_cap:c4", "min_roi:min_roi"])
        #expect(r.stderr.contains("upper bound"))
        // Same allocation with two threads.
        let a = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--threads", "1"], in: dir.url)
        let b = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--threads", "2"], in: dir.url)
        #expect(a.stdout == b.stdout)
        #expect(!a.stdout.isEmpty)
    }
}

@Suite struct EvaluateLogCLITests {
    @Test func evaluateWithALog() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "user_id,coupon_id\nu1,c1\nu2,c2\n")
        try dir.write("log.csv", "user_id,treatment,outcome\nu1,c1,30\nu1,control,10\nu2,c1,5\nu2,control,4\nu3,control,1\nu9,c2,7\n")
        let r = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "log.csv", "--json"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try summarySchemaViolations(r.stdout) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let value = try #require(summary["policy_value"] as? [String: Any])
        // Shares: c1 2/6, control 3/6, c2 1/6. u1 follows (c1): +30/(1/3); u1 control: -10/(1/2);
        // u2 gets c2, logged c1: 0; u2 control: -4/(1/2). Total 90 - 20 - 8 = 62.
        #expect(abs((value["incremental_outcome"] as! Double) - 62) < TestTolerance.reordered)
        #expect(value["matched_rows"] as? Int == 1)
        #expect(value["log_users"] as? Int == 4)
        #expect(value["allocation_users_missing_from_log"] as? Int == 0)
        let text = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "log.csv"], in: dir.url)
        #expect(text.stdout.contains("  this allocation: 62.00 (95% interval "))
        #expect(value["unknown_treatment_rows"] as? Int == 0)
        #expect(!text.stdout.contains("dropped"))
    }

    /// Issue 25, finding 9: rows whose treatment matches neither the control arm nor a coupon
    /// are reported, and past --max-unknown-share they fail the run; --control names the arm.
    @Test func evaluateReportsUnknownTreatments() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "user_id,coupon_id\nu1,c1\nu2,c2\n")
        let log = "user_id,treatment,outcome\nu1,c1,30\nu1,control,10\nu2,c1,5\nu2,control,4\nu3,control,1\nu9,c2,7\n"
        try dir.write("ctrl.csv", log.replacingOccurrences(of: "control", with: "ctrl"))
        // The control arm spelt otherwise: no 'control' rows at all.
        let none = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "ctrl.csv"], in: dir.url)
        #expect(none.status == 1)
        #expect(none.stderr == "allot: error: ctrl.csv: the log has no 'control' rows (treatments: 'c1', 'c2', 'ctrl'): nothing to compare with; name the control arm with --control\n")
        // --control gives the same estimate as the log spelt 'control' (62, evaluateWithALog).
        let named = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "ctrl.csv", "--control", "ctrl", "--json"], in: dir.url)
        #expect(named.status == 0, "\(named.stderr)")
        let value = try #require((try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as! [String: Any])["policy_value"] as? [String: Any])
        #expect(abs((value["incremental_outcome"] as! Double) - 62) < TestTolerance.reordered)
        // Two rows of a coupon the scores do not have: 2 of 8 rows, past the default 1%.
        try dir.write("typo.csv", log + "u1,C1,50\nu3,C1,2\n")
        let typo = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "typo.csv"], in: dir.url)
        #expect(typo.status == 1)
        #expect(typo.stderr == "allot: error: typo.csv: 2 of 8 log rows (25%) have a treatment that is neither the control arm 'control' nor a coupon of the scores ('C1'): they would be dropped from the estimate; name the control arm with --control, or allow up to that share with --max-unknown-share\n")
        let allowed = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "typo.csv", "--max-unknown-share", "0.3"], in: dir.url)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("  dropped: 2 log rows whose treatment is neither 'control' nor a coupon of the scores\n"))
    }
}

@Suite struct BenchCLITests {
    static func rows(_ text: String) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [[String: Any]]
    }

    @Test func benchComparesVerifiedMethodsDeterministically() throws {
        let args = ["bench", "--users", "400", "--coupons", "4", "--seeds", "1,2", "--budget-fractions", "0.2",
                    "--methods", "dual,greedy-marginal,greedy-ratio,random", "--json"]
        let a = try AllotBinary.run(args)
        #expect(a.status == 0, "\(a.stderr)")
        let rows = try Self.rows(a.stdout)
        #expect(rows.count == 8)
        #expect(rows.allSatisfy { $0["feasible"] as? Bool == true && $0["outcome"] as? String == "ok" })
        for instance in Set(rows.map { $0["instance"] as! String }) {
            let mine = rows.filter { $0["instance"] as! String == instance }
            let value = Dictionary(uniqueKeysWithValues: mine.map { ($0["method"] as! String, $0["objective"] as! Double) })
            #expect(value["dual"]! >= value["greedy-marginal"]!)
            #expect(value["dual"]! >= value["greedy-ratio"]!)
            #expect(mine.allSatisfy { ($0["percent_of_bound"] as! Double) <= 100 + TestTolerance.reordered })
            let best = max(value["greedy-marginal"]!, value["greedy-ratio"]!, value["random"]!)
            let gain = mine.first { $0["method"] as! String == "dual" }!["gain_over_best_greedy_percent"] as! Double
            #expect(abs(gain - 100 * (value["dual"]! - best) / best) < TestTolerance.reordered)
        }
        // Same objectives again, and with each method in its own process.
        let b = try Self.rows(try AllotBinary.run(args).stdout)
        let c = try Self.rows(try AllotBinary.run(args + ["--isolate"]).stdout)
        #expect(rows.map { $0["objective"] as! Double } == b.map { $0["objective"] as! Double })
        #expect(rows.map { $0["objective"] as! Double } == c.map { $0["objective"] as! Double })
        let md = try AllotBinary.run(Array(args.dropLast()) + ["--markdown"])
        #expect(md.stdout.hasPrefix("| instance | method | objective | % of bound | gain over best greedy % | spend of limit |"))
    }
}
