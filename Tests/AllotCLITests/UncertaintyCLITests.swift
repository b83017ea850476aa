import AllotTestSupport
import Foundation
import Testing

/// `allot generate --noise`, `allot solve --shrink/--risk`, `allot evaluate --truth`.
@Suite struct UncertaintyCLITests {
    private func generate(in dir: TemporaryDirectory) throws {
        let g = try AllotBinary.run(["generate", "--users", "300", "--coupons", "3", "--seed", "5", "--noise", "1",
                                     "--out", "s.csv", "--spec", "spec.json"], in: dir.url)
        #expect(g.status == 0, "\(g.stderr)")
    }

    /// Rows of a CSV as dictionaries by header name.
    private func rows(_ text: String) -> [[String: String]] {
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }

    /// The evaluator's true value is the sum of `true_uplift` over the allocation's rows.
    @Test func trueValueIsADirectSum() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try generate(in: dir)
        let s = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--out", "a.csv"], in: dir.url)
        #expect(s.status == 0, "\(s.stderr)")
        var truth: [String: Double] = [:]
        for r in rows(dir.read("s.csv")!) { truth[r["user_id"]! + "/" + r["coupon_id"]!] = Double(r["true_uplift"]!)! }
        let assigned = rows(dir.read("a.csv")!)
        #expect(!assigned.isEmpty)
        let direct = assigned.map { truth[$0["user_id"]! + "/" + $0["coupon_id"]!]! }.reduce(0, +)
        let e = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--truth", "true_uplift", "--json"], in: dir.url)
        #expect(e.status == 0, "\(e.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        #expect(abs((report["true_value"] as! Double) - direct) < 1e-6)
        #expect(try summarySchemaViolations(e.stdout) == [])
        let text = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--truth", "true_uplift"], in: dir.url)
        #expect(text.stdout.contains("true value (true_uplift): "))
    }

    /// `--risk 0` is the plug-in allocation, byte for byte, with the expected objective added.
    @Test func riskZeroIsTodaysAllocation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try generate(in: dir)
        let plain = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--out", "a.csv"], in: dir.url)
        let risk = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--risk", "0", "--out", "b.csv",
                                        "--summary", "sum.json"], in: dir.url)
        #expect(plain.status == 0 && risk.status == 0, "\(risk.stderr)")
        #expect(dir.read("a.csv") == dir.read("b.csv"))
        #expect(try summarySchemaViolations(dir.read("sum.json")!) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(dir.read("sum.json")!.utf8)) as! [String: Any]
        let expected = summary["expected_objective"] as! [String: Any]
        #expect(expected["risk_kappa"] as? Double == 0)
        #expect((expected["ci95_low"] as! Double) <= (expected["value"] as! Double))
        let last = risk.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("; objective ") && last.contains(", expected ") && last.contains("solved in"), "\(last)")
    }

    /// Shrinkage and the lower bound give the same allocation whatever the thread count.
    @Test(arguments: [["--shrink"], ["--risk", "1.5"], ["--shrink", "--risk", "0.5"]])
    func deterministicWhateverTheThreads(flags: [String]) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try generate(in: dir)
        var outputs: [String?] = []
        for threads in ["1", "2"] {
            let r = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--threads", threads, "--out", "a\(threads).csv"] + flags,
                                        in: dir.url)
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append(dir.read("a\(threads).csv"))
        }
        #expect(outputs[0] != nil && outputs[0] == outputs[1])
    }

    @Test func riskWithoutStandardErrorsIsOneLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", "user_id,coupon_id,uplift,cost\nu1,c1,10,4\n")
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "5", "--risk", "1"], in: dir.url)
        #expect(r.status != 0)
        #expect(r.stderr == "allot: error: s.csv:1:1: --risk needs the scores' standard errors, a column 'uplift_se', or draws uplift_1 to uplift_B (found: user_id,coupon_id,uplift,cost)\n")
        let bad = try AllotBinary.run(["solve", "s.csv", "--budget", "5", "--risk=-1"], in: dir.url)
        #expect(bad.status == 64)
        #expect(bad.stderr.hasPrefix("Error: --risk must be a finite number >= 0, or auto\n"))
    }

    /// `--risk auto` on generated draws: the same allocation and κ whatever the thread count;
    /// the summary reports the κ chosen (the best held-out value of those tried) and the
    /// held-out expected objective; the draws' mean is the `uplift` column.
    @Test func riskAutoOnDrawsIsDeterministicAndReported() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let g = try AllotBinary.run(["generate", "--users", "300", "--coupons", "3", "--seed", "5", "--noise", "1", "--draws", "6",
                                     "--out", "s.csv", "--spec", "spec.json"], in: dir.url)
        #expect(g.status == 0, "\(g.stderr)")
        for r in rows(dir.read("s.csv")!).prefix(50) {
            let draws: [Double] = (1...6).map { Double(r["uplift_\($0)"]!)! }
            let mean: Double = draws.reduce(0, +) / 6
            let uplift: Double = Double(r["uplift"]!)!
            #expect(abs(mean - uplift) <= 0.0000501)
        }
        var outputs: [String?] = [], summaries: [String?] = []
        for threads in ["1", "2"] {
            let r = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--risk", "auto", "--threads", threads,
                                         "--out", "a\(threads).csv", "--summary", "s\(threads).json"], in: dir.url)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("chosen; solved in"), "\(r.stderr)")
            outputs.append(dir.read("a\(threads).csv"))
            summaries.append(dir.read("s\(threads).json"))
        }
        #expect(outputs[0] != nil && outputs[0] == outputs[1])
        let text = try #require(summaries[0])
        #expect(try summarySchemaViolations(text) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let expected = summary["expected_objective"] as! [String: Any]
        let points = expected["cross_validation"] as! [[String: Double]]
        let best = points.max { $0["held_out_value"]! < $1["held_out_value"]! }!
        #expect(expected["risk_kappa"] as? Double == best["kappa"])
        #expect(abs((expected["value"] as! Double) - best["held_out_value"]! / 2) < 1e-6)
        let other = try JSONSerialization.jsonObject(with: Data(summaries[1]!.utf8)) as! [String: Any]
        #expect(NSDictionary(dictionary: other["expected_objective"] as! [String: Any]) == NSDictionary(dictionary: expected))
    }

    @Test func badDrawsAreOneLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("gap.csv", "user_id,coupon_id,uplift,cost,uplift_1,uplift_2,uplift_4,uplift_5\nu1,c1,10,4,1,2,3,4\n")
        let gap = try AllotBinary.run(["solve", "gap.csv", "--budget", "5", "--risk", "auto"], in: dir.url)
        #expect(gap.status != 0)
        #expect(gap.stderr == "allot: error: gap.csv:1:49: draw columns must be uplift_1 to uplift_B without a gap: found 'uplift_4' but no uplift_3\n")
        try dir.write("nan.csv", "user_id,coupon_id,uplift,cost,uplift_1,uplift_2,uplift_3,uplift_4\nu1,c1,10,4,1,2,3,4\nu2,c1,10,4,1,NaN,3,4\n")
        let nan = try AllotBinary.run(["solve", "nan.csv", "--budget", "5", "--risk-quantile", "0.2"], in: dir.url)
        #expect(nan.stderr == "allot: error: nan.csv:3:14: 'NaN' in column 'uplift_2' is not a finite number\n")
        try dir.write("se.csv", "user_id,coupon_id,uplift,cost,uplift_se\nu1,c1,10,4,1\n")
        let noDraws = try AllotBinary.run(["solve", "se.csv", "--budget", "5", "--risk", "auto"], in: dir.url)
        #expect(noDraws.stderr == "allot: error: se.csv:1:1: --risk auto needs draws of the scores, columns uplift_1 to uplift_B (found: user_id,coupon_id,uplift,cost,uplift_se)\n")
        let both = try AllotBinary.run(["solve", "se.csv", "--budget", "5", "--shrink", "--risk-quantile", "0.2"], in: dir.url)
        #expect(both.status == 64)
        #expect(both.stderr.hasPrefix("Error: --risk-quantile solves on a quantile of the draws: give it without --shrink and --risk\n"))
        let word = try AllotBinary.run(["solve", "se.csv", "--budget", "5", "--risk", "high"], in: dir.url)
        #expect(word.stderr.hasPrefix("Error: --risk must be a finite number >= 0, or auto\n"))
    }

    /// `allot evaluate --predicted`: the prediction is the direct sum of the column over the
    /// allocation's rows (every generated user is in the log); realised is the log's IPW value;
    /// the difference is theirs. With the truth as the prediction the log cannot tell them
    /// apart; the noisy plug-in scores overstate the allocation's value.
    @Test func predictedAgainstRealisedOnAGeneratedLog() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let g = try AllotBinary.run(["generate", "--users", "3000", "--coupons", "3", "--seed", "2", "--noise", "1",
                                     "--out", "s.csv", "--spec", "spec.json", "--log", "log.csv"], in: dir.url)
        #expect(g.status == 0, "\(g.stderr)")
        let s = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--out", "a.csv"], in: dir.url)
        #expect(s.status == 0, "\(s.stderr)")
        var byKey: [String: [String: String]] = [:]
        for r in rows(dir.read("s.csv")!) { byKey[r["user_id"]! + "/" + r["coupon_id"]!] = r }
        let assigned = rows(dir.read("a.csv")!).map { byKey[$0["user_id"]! + "/" + $0["coupon_id"]!]! }
        var reports: [String: [String: Any]] = [:]
        for column in ["uplift", "true_uplift"] {
            let e = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--log", "log.csv",
                                         "--predicted", column, "--json"], in: dir.url)
            #expect(e.status == 0, "\(e.stderr)")
            #expect(try summarySchemaViolations(e.stdout) == [])
            let report = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
            let p = report["predicted_against_realised"] as! [String: Any]
            let direct = assigned.map { Double($0[column]!)! }.reduce(0, +)
            #expect(abs((p["predicted"] as! Double) - direct) < 1e-6)
            let realised = (p["realised"] as! [String: Any])["incremental_outcome"] as! Double
            #expect(realised == (report["policy_value"] as! [String: Any])["incremental_outcome"] as! Double)
            #expect(abs((p["difference"] as! Double) - (realised - direct)) < 1e-6)
            #expect((p["ci95_low"] as! Double) < (p["difference"] as! Double) && (p["difference"] as! Double) < (p["ci95_high"] as! Double))
            reports[column] = p
        }
        #expect((reports["true_uplift"]!["ci95_low"] as! Double) < 0 && (reports["true_uplift"]!["ci95_high"] as! Double) > 0)
        #expect((reports["uplift"]!["ci95_high"] as! Double) < 0)
        let text = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--log", "log.csv", "--predicted", "uplift"],
                                       in: dir.url)
        #expect(text.stdout.contains("realised - predicted, same rows: ") && text.stdout.contains("the prediction overstates it"), "\(text.stdout)")
        let missing = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--log", "log.csv", "--predicted", "nosuch"],
                                          in: dir.url)
        #expect(missing.stderr == "allot: error: s.csv:1:1: no column 'nosuch' in the header (found: user_id,coupon_id,uplift,cost,uplift_se,true_uplift)\n")
        let noLog = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--predicted", "uplift"], in: dir.url)
        #expect(noLog.status == 64 && noLog.stderr.hasPrefix("Error: --predicted needs --log\n"))
    }
}
