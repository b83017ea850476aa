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

/// What users see: formats, usage errors, help, version, progress, schema.
@Suite struct UXTests {
    /// Issue 25, finding 11: a negative number after an option reaches the range check.
    @Test func negativeBudgetGetsTheRangeMessage() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "-5"], in: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr == "allot: error: command line: budget 'budget' has limit -5.0; a limit must be a finite number >= 0\n")
        let t = try AllotBinary.run(["solve", "s.csv", "--budget", "5", "--time-limit", "-1"], in: dir.url)
        #expect(t.status == 64)
        #expect(t.stderr.hasPrefix("Error: --time-limit is -1.0; it must be a finite number of seconds > 0\n"))
    }

    /// Issue 25, finding 11: every missing required column in one message, before a budget's
    /// complaint about one of them; a semicolon-separated file gets a hint.
    @Test func missingColumnsAreListedTogether() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("nocost.csv", "user_id,coupon_id\nu1,c1\n")
        let r = try AllotBinary.run(["solve", "nocost.csv", "--budget", "5"], in: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr == "allot: error: nocost.csv:1:1: missing required columns 'uplift', 'cost' in the header (found: user_id,coupon_id)\n")
        try dir.write("semi.csv", "user_id;coupon_id;uplift;cost\nu1;c1;1;1\n")
        let s = try AllotBinary.run(["solve", "semi.csv", "--budget", "5"], in: dir.url)
        #expect(s.status == 1)
        #expect(s.stderr.hasSuffix("(found: user_id;coupon_id;uplift;cost); the header holds semicolons: fields must be separated by commas or tabs\n"))
    }

    /// Issue 25, finding 11: `--column uplift=tau` reads a file's own column names; the result is
    /// the standard file's, byte for byte.
    @Test func columnMappingReadsTheFilesOwnNames() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("tau.csv", scores.replacingOccurrences(of: "uplift,cost", with: "tau,price"))
        let standard = try AllotBinary.run(["solve", "s.csv", "--budget", "6", "--out", "a.csv"], in: dir.url)
        #expect(standard.status == 0, "\(standard.stderr)")
        let mapped = try AllotBinary.run(["solve", "tau.csv", "--budget", "6", "--column", "uplift=tau", "--column", "cost=price", "--out", "b.csv"], in: dir.url)
        #expect(mapped.status == 0, "\(mapped.stderr)")
        #expect(dir.read("a.csv") != nil && dir.read("a.csv") == dir.read("b.csv"))
        let wrong = try AllotBinary.run(["solve", "tau.csv", "--budget", "6", "--column", "uplift=nope"], in: dir.url)
        #expect(wrong.status == 1)
        #expect(wrong.stderr == "allot: error: tau.csv:1:1: column mapping uplift=nope: the header has no column 'nope' (found: user_id,coupon_id,tau,price,channel)\n")
        let twice = try AllotBinary.run(["solve", "tau.csv", "--budget", "6", "--column", "uplift=tau", "--column", "uplift=price"], in: dir.url)
        #expect(twice.status == 64)
        #expect(twice.stderr.hasPrefix("Error: --column maps 'uplift' twice\n"))
    }

    @Test func jsonWithAllocationOnStandardOutputIsAUsageError() throws {
        let r = try AllotBinary.run(["solve", "x.csv", "--budget", "1", "--json", "--out", "-"])
        #expect(r.status == 64)
        #expect(r.stdout == "")
        #expect(r.stderr.hasPrefix("Error: --json prints the summary on standard output, so the allocation cannot go there too: give --out a file name\n"))
    }

    @Test func versionIsPrinted() throws {
        let r = try AllotBinary.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout == "0.1.0\n")
    }

    /// Every example in the help pastes into a shell at the help's width off a terminal (80
    /// columns): no line wrapped by the help formatter, continuations marked with a backslash, and
    /// every option it uses is one of its command's.
    @Test(arguments: ["", "solve", "generate", "evaluate", "export", "bench", "frontier"])
    func helpExamplesPaste(command: String) throws {
        let r = try AllotBinary.run((command.isEmpty ? [] : [command]) + ["--help"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var examples: [String] = []
        var k = 0
        while k < lines.count {
            guard lines[k].hasPrefix("  allot ") else { k += 1; continue }
            var text = lines[k]
            while text.hasSuffix(" \\"), k + 1 < lines.count, lines[k + 1].hasPrefix("    ") {
                text = String(text.dropLast(2)) + " " + lines[k + 1].trimmingCharacters(in: .whitespaces)
                k += 1
            }
            #expect(!text.hasSuffix("\\"), "\(command): a continuation with nothing after it")
            // The next line is blank or another example: not a fragment the formatter wrapped.
            let next = k + 1 < lines.count ? lines[k + 1] : ""
            #expect(next.isEmpty || next.hasPrefix("  "), "\(command): example wrapped before '\(next)'")
            examples.append(text.trimmingCharacters(in: .whitespaces))
            k += 1
        }
        #expect(!examples.isEmpty, "\(command): no example")
        for example in examples {
            let words = example.split(separator: " ").map(String.init)
            let help = try AllotBinary.run([words[1], "--help"]).stdout
            for option in words where option.hasPrefix("--") {
                #expect(help.contains("  \(option) ") || help.contains("  \(option)\n") || help.contains(", \(option) "),
                        "\(command): \(option) in '\(example)' is not an option of allot \(words[1])")
            }
        }
    }

    /// Every option of every command has a description, and the defaults that matter are shown.
    @Test(arguments: ["solve", "generate", "evaluate", "export", "bench", "frontier"])
    func helpDescribesEveryOption(command: String) throws {
        let r = try AllotBinary.run([command, "--help"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("OPTIONS:") })
        for (k, line) in lines.enumerated() where k > start && line.hasPrefix("  -") {
            // An option's description follows on its line or on the next, indented further.
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            let sameLine = trimmed.range(of: "   ") != nil
            let next = k + 1 < lines.count ? lines[k + 1] : ""
            let nextLine = next.hasPrefix("        ") && !next.trimmingCharacters(in: .whitespaces).hasPrefix("-")
            #expect(sameLine || nextLine, "\(command): no description for \(trimmed)")
        }
        #expect(r.stdout.contains("Example:"))
        if command == "solve" {
            let flat = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(flat.contains("(default: 1e-5 for dual, 1e-6 for the exact methods)"))
            #expect(flat.contains("(default: no limit)"))
        }
        if command == "frontier" {
            let flat = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(flat.contains("(default: dual,greedy-marginal,greedy-ratio; with --floor-range: milp-cbc,greedy-floors)"))
        }
    }

    @Test func gzipAndTSVScoresGiveTheSameAllocation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("s.csv.gz", bytes: gzipStored(Array(scores.utf8)))
        // Two gzip members, as `cat a.gz b.gz` makes: one file.
        let half = scores.utf8.count / 2
        try dir.write("two.gz", bytes: gzipStored(Array(scores.utf8.prefix(half))) + gzipStored(Array(scores.utf8.dropFirst(half))))
        try dir.write("s.tsv", scores.replacingOccurrences(of: ",", with: "\t"))
        try dir.write("s.txt", scores.replacingOccurrences(of: ",", with: "\t"))
        let expected = try AllotBinary.run(["solve", "s.csv", "--budget", "7", "--method", "greedy-marginal"], in: dir.url)
        #expect(expected.status == 0)
        for args in [["s.csv.gz"], ["two.gz"], ["s.tsv"], ["s.txt", "--delimiter", "tab"]] {
            let r = try AllotBinary.run(["solve"] + args + ["--budget", "7", "--method", "greedy-marginal"], in: dir.url)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(r.stdout == expected.stdout, "\(args)")
        }
        // A tab-separated file read as commas has one column.
        let wrong = try AllotBinary.run(["solve", "s.tsv", "--budget", "7", "--delimiter", "comma"], in: dir.url)
        #expect(wrong.status == 1)
        #expect(wrong.stderr.hasPrefix("allot: error: s.tsv:1:1: missing required columns 'user_id', 'coupon_id', 'uplift', 'cost' in the header"))
        #expect(wrong.stderr.hasSuffix("; the header holds tabs: fields are read as separated by commas (--delimiter)\n"))
    }

    @Test func brokenGzipAndParquetGetOneClearLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let gz = gzipStored(Array(scores.utf8))
        try dir.write("cut.gz", bytes: Array(gz.prefix(gz.count / 2)))
        var bad = gz
        bad[10] = 0x07 // an invalid deflate block type
        try dir.write("bad.gz", bytes: bad)
        try dir.write("s.parquet", bytes: Array("PAR1".utf8) + [0, 1, 2, 3] + Array("PAR1".utf8))
        let cases = [
            ("cut.gz", "allot: error: cut.gz: the gzip data ends early: the file is truncated\n"),
            ("bad.gz", "allot: error: bad.gz: the gzip data is corrupt (invalid block type)\n"),
            ("s.parquet", "allot: error: s.parquet: this is a Parquet file, and allot reads CSV (or gzip-compressed CSV). From Python, `pip install ./python` and pass the data frame to `allot.solve`; or write CSV with pandas' `to_csv`\n"),
        ]
        for (file, message) in cases {
            let r = try AllotBinary.run(["solve", file, "--budget", "7", "--out", "a.csv"], in: dir.url)
            #expect(r.status == 1)
            #expect(r.stderr == message)
            #expect(!dir.exists("a.csv"))
        }
    }

    @Test func progressOnlyWhenAskedOffATerminal() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let quiet = try AllotBinary.run(["solve", "s.csv", "--budget", "7", "--out", "a.csv"], in: dir.url)
        #expect(!quiet.stderr.contains("reading"))
        let loud = try AllotBinary.run(["solve", "s.csv", "--budget", "7", "--out", "a.csv", "--progress"], in: dir.url)
        #expect(loud.status == 0)
        #expect(loud.stderr.contains("reading s.csv ...\n"))
        #expect(loud.stderr.contains("reading s.csv: done in "))
        #expect(loud.stderr.contains("solving with dual: done in "))
        // Not a terminal: plain lines, no cursor movement.
        #expect(!loud.stderr.contains("\r") && !loud.stderr.contains("\u{1B}"))
        // The last line: solve and verification times, apart.
        let last = try #require(loud.stderr.split(separator: "\n").last)
        #expect(last.hasPrefix("  feasible; solved in ") && last.contains(" s, verified in "))
    }

    /// The exact methods' incumbent and bound, on a generated instance they branch on: shown with
    /// `--progress` (the incumbent never falling, never above the bound), not shown without it.
    @Test(arguments: [("milp-glpk", "exact search"), ("milp-cbc", "exact search"),
                      ("dual+milp", "polishing"), ("dual+milp-cbc", "polishing")])
    func exactSearchProgress(method: String, phase: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let g = try AllotBinary.run(["generate", "--users", "800", "--coupons", "5", "--seed", "3", "--out", "s.csv", "--spec", "spec.json"],
                                    in: dir.url)
        #expect(g.status == 0, "\(g.stderr)")
        #expect(g.stderr == "wrote s.csv, spec.json\n")
        let solve = ["solve", "s.csv", "--spec", "spec.json", "--method", method, "--gap", "0", "--out", "a.csv"]
        let quiet = try AllotBinary.run(solve, in: dir.url)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains(phase + ":"))
        let r = try AllotBinary.run(solve + ["--progress"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        // "solving with milp-cbc: exact search: best 27,127.74, bound 27,130.10 (0.5 s)"
        let prefix = "solving with \(method): \(phase): best "
        let shown = r.stderr.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { line in
            line.dropFirst(prefix.count).split(separator: " ").compactMap { Double($0.filter { $0 != "," }) }
        }
        #expect(!shown.isEmpty, "\(r.stderr)")
        let incumbents = shown.map { $0[0] }
        #expect(zip(incumbents, incumbents.dropFirst()).allSatisfy { $0 <= $1 }, "\(r.stderr)")
        #expect(shown.allSatisfy { $0.count < 2 || $0[0] <= $0[1] }, "\(r.stderr)")
        // The allocation written passes the verifier of `allot evaluate`, and is worth at least
        // every incumbent shown.
        let e = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--spec", "spec.json", "--json"], in: dir.url)
        #expect(e.status == 0, "\(e.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        #expect(report["feasible"] as? Bool == true)
        let objective = try #require(report["objective"] as? Double)
        #expect(incumbents.allSatisfy { $0 <= objective + 0.005 }, "\(incumbents) vs \(objective)")
    }

    /// `--verbose` shows the solvers' logs on standard error: standard output carries only the
    /// allocation (CBC prints on standard output unless told otherwise); without it, no log.
    @Test(arguments: [("milp-cbc", "Welcome to the CBC MILP Solver"), ("dual+milp-cbc", "Welcome to the CBC MILP Solver"),
                      ("milp-glpk", "mip =")])
    func solverLogsGoToStandardError(method: String, banner: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        let r = try AllotBinary.run(["solve", "s.csv", "--budget", "7", "--method", method, "--verbose", "--gap", "0"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains(banner), "\(r.stderr)")
        // The optimum at 7: u1 c1 and u2 c2, or u1 c2 and u2 c1 (value 11 or 14: 14).
        #expect(r.stdout == "user_id,coupon_id,uplift,cost\nu1,c2,6.0,2.0\nu2,c1,8.0,5.0\n", "\(r.stdout)")
        // Without --verbose, no solver log anywhere: standard error holds only the summary.
        let quiet = try AllotBinary.run(["solve", "s.csv", "--budget", "7", "--method", method, "--gap", "0"], in: dir.url)
        #expect(quiet.stdout == r.stdout)
        #expect(quiet.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("\(method): ") || $0.hasPrefix("  ") }, "\(quiet.stderr)")
    }

    @Test func humanSummaryIsRounded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("spec.json", #"{"budgets":[{"name":"cash","limit":5}]}"#)
        let r = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--out", "a.csv", "--threads", "1"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        // The optimum at 5: u1 c1 and u2 c2 (by enumeration of the 9 choices).
        #expect(lines[0].hasPrefix("dual: objective 11.00, ") && lines[0].hasSuffix(", 2 assignments to 2 users"))
        // Shadow price to 4 significant digits; no "budget budget".
        #expect(lines[1].hasPrefix("  cash: spend 5.00 of 5.00, shadow price "))
        let price = try #require(lines[1].split(separator: " ").last)
        #expect(price.filter(\.isNumber).drop { $0 == "0" }.count <= 4)
        #expect(!r.stderr.contains("budget budget"))
    }

    @Test func schemaCheckerCatchesWhatItShould() throws {
        let schema = try JSONSchema.summary()
        let good = """
            {"method":"dual","status":"optimal","objective":1,"budgets":[{"name":"b","column":"cost","spend":1,"limit":2,"shadow_price":0.5}],
             "total_cost":1,"users_reached":1,"assignments":1,"assignments_per_coupon":{"c1":1},"notes":[],"wall_seconds":0.1,"feasible":true,
             "allocation_sha256":"00","allocation_rows":1}
            """
        #expect(try schema.violations(of: good) == [])
        let camel = good.replacingOccurrences(of: "shadow_price", with: "shadowPrice")
        #expect(try schema.violations(of: camel) == ["$.budgets[0]: property 'shadowPrice' is not in the schema"])
        let wrongType = good.replacingOccurrences(of: #""users_reached":1"#, with: #""users_reached":1.5"#)
        #expect(try schema.violations(of: wrongType) == ["$.users_reached: expected integer, found number 1.5"])
        let missing = good.replacingOccurrences(of: #""feasible":true,"#, with: "")
        #expect(try schema.violations(of: missing) == ["$: missing required property 'feasible'"])
        let status = good.replacingOccurrences(of: #""optimal""#, with: #""great""#)
        #expect(try schema.violations(of: status) == [#"$.status: string "great" is not one of the allowed values"#])
    }
}

/// `allot evaluate --against`: paired differences on the same log rows.
@Suite struct PolicyComparisonCLITests {
    static let log = """
        user_id,treatment,outcome,visits
        u1,c1,30,1
        u1,control,10,0
        u2,c1,5,1
        u2,control,4,1
        u3,control,1,0
        u9,c2,7,1

        """

    func comparison(_ extra: [String]) throws -> [String: Any] {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "user_id,coupon_id\nu1,c1\nu2,c2\n")
        try dir.write("b.csv", "user_id,coupon_id\nu2,c1\n")
        try dir.write("log.csv", Self.log)
        let r = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "log.csv", "--json"] + extra, in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try summarySchemaViolations(r.stdout) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        return try #require(summary["policy_comparison"] as? [String: Any])
    }

    @Test func againstAnotherAllocationIsThePairedDifference() throws {
        // Shares: c1 2/6, control 3/6, c2 1/6. Per row, a: u1 c1 +90, u1 control -20, u2 c1 0,
        // u2 control -8; b (u2 gets c1): u2 c1 +15, u2 control -8. Differences: 90, -20, -15, 0, 0, 0.
        let c = try comparison(["--against", "b.csv"])
        #expect(abs((c["difference"] as! Double) - 55) < TestTolerance.reordered)
        let d = [90.0, -20, -15, 0, 0, 0]
        let mean = d.reduce(0, +) / 6
        let se = (6 * d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5).squareRoot()
        #expect(abs((c["standard_error"] as! Double) - se) < TestTolerance.reordered)
        #expect(abs((c["ci95_low"] as! Double) - (55 - 1.96 * se)) < TestTolerance.reordered)
        #expect(abs(((c["baseline"] as! [String: Any])["incremental_outcome"] as! Double) - 7) < TestTolerance.reordered)
    }

    @Test func againstRandomIsTheExactExpectation() throws {
        // Random targeting of 2 of the 3 scored users, one of their candidates each: a user is
        // reached with probability 2/3 and gets a given candidate with 2/3 x 1/2 (u1, u2: two
        // candidates; u3: one). Rows: u1 c1 +30x3x1/3 = 30, u1 control -10x2x2/3 = -40/3,
        // u2 c1 5x3x1/3 = 5, u2 control -4x2x2/3 = -16/3, u3 control -1x2x2/3 = -4/3, u9 0.
        let c = try comparison(["--against", "random"])
        let random = 30 - 40.0 / 3 + 5 - 16.0 / 3 - 4.0 / 3
        #expect(abs(((c["baseline"] as! [String: Any])["incremental_outcome"] as! Double) - random) < TestTolerance.reordered)
        #expect(abs((c["difference"] as! Double) - (62 - random)) < TestTolerance.reordered)
        #expect(c["against"] as? String == "random")
    }

    @Test func againstNoneIsThePolicyValueAndOutcomePicksTheColumn() throws {
        let c = try comparison(["--against", "none"])
        #expect(abs((c["difference"] as! Double) - 62) < TestTolerance.reordered)
        // visits: u1 c1 +1x3, u1 control 0, u2 control -1x2: 1.
        let v = try comparison(["--against", "none", "--outcome", "visits"])
        #expect(abs((v["difference"] as! Double) - 1) < TestTolerance.reordered)
        #expect(v["outcome_column"] as? String == "visits")
    }

    @Test func textReportSaysWhatTheLogCanTell() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("s.csv", scores)
        try dir.write("a.csv", "user_id,coupon_id\nu1,c1\nu2,c2\n")
        try dir.write("log.csv", Self.log)
        let r = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--log", "log.csv", "--against", "random"], in: dir.url)
        #expect(r.status == 0)
        #expect(r.stdout.contains("  random targeting of 2 users (expected): 15.00 (95% interval "))
        #expect(r.stdout.contains("the log cannot tell them apart"))
        let usage = try AllotBinary.run(["evaluate", "s.csv", "a.csv", "--against", "random"], in: dir.url)
        #expect(usage.status == 64)
    }
}
