import Allot
import ArgumentParser
import Foundation
import SwiftCSV

/// Scale benchmarks for docs/benchmarks.md. Each run prints one JSON line per method.
struct Benchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allot-benchmarks",
        abstract: "Scale benchmarks of Allot (release build).",
        subcommands: [Scale.self, CSVRead.self, ORLib.self, Exact.self]
    )
}

/// Writes a benchmark input (the library's atomic writer is package-only).
func writeFile(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func writeFile(_ text: String, to path: String) throws {
    try writeFile(Array(text.utf8), to: path)
}

/// Seconds on the monotonic clock (the library's own clock is package-only).
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds used by this process so far (all threads): a steadier measure than wall time
/// on a machine shared with other work.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident memory of this process so far, from /proc/self/status (VmHWM), in MiB.
func peakRSSMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "0") ?? 0
        return kb / 1024
    }
    return 0
}

struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve a generated instance built in memory.",
        discussion: """
            --case single: one budget (a fraction of the spend of giving everyone their best coupon), at most 1 per user.
            --case multi: 3 budgets (cash, points, sms credits), caps on the 3 largest coupons, push and email
              channels with at most 1 each and at most 2 per user.
            --case coupons: the campaign shape of `allot generate --coupons-per-user`: --coupons coupons, each user
              eligible for --per-user of them (Zipf popularity), every coupon capped at --cap-share of its demand,
              one cash budget (--fraction), --max-per-user (default 2).
            --case one-user: a single user with --coupons candidates, one budget: --fraction of the cost of the
              --max-per-user (default 1) candidates of largest uplift.
            --write DIR: also write DIR/scores.csv and DIR/spec.json (coupons and single cases) for the Python peers.
            """
    )
    @Option var users = 1_000_000
    @Option var coupons = 10
    @Option(name: .customLong("case")) var kind = "single"
    @Option var fraction = 0.3
    @Option(help: "Comma-separated methods.") var methods = "dual"
    @Option var seed: UInt64 = 1
    @Option var threads = 2
    @Flag(help: "Do not run greedy-marginal inside the dual as a safety net.") var noBaselineCheck = false
    @Option(help: "The dual's target relative gap.") var gap: Double?
    @Option var perUser = 8
    @Option var capShare = 0.5
    @Option var maxPerUser: Int?
    @Option(help: "Write scores.csv and spec.json here.") var write: String?

    func run() throws {
        let t0 = monotonicSeconds()
        let channels = kind == "multi" ? ["push", "email"] : []
        let users = kind == "one-user" ? 1 : self.users
        let scores = SyntheticScores(users: users, coupons: coupons, channels: channels, seed: seed,
                                     couponsPerUser: kind == "coupons" ? perUser : nil)
        var table = scores.table()
        let best = table.spendOfBestCandidates()
        var spec = AllocationSpec(budgets: [.init(name: "cash", limit: (best * fraction).rounded())])
        if kind == "coupons" {
            spec = SyntheticScores.campaignSpec(table, capShare: capShare, budgetFraction: fraction, maxPerUser: maxPerUser ?? 2)
        }
        if kind == "one-user" {
            let f = maxPerUser ?? 1
            let top = table.uplift.indices.sorted { table.uplift[$0] > table.uplift[$1] }.prefix(f)
            spec = AllocationSpec(budgets: [.init(name: "cash", limit: (top.reduce(0) { $0 + table.cost[$1] } * fraction).rounded())],
                                  maxPerUser: f)
        }
        if let write {
            try FileManager.default.createDirectory(atPath: write, withIntermediateDirectories: true)
            try writeFile(scores.csv(), to: write + "/scores.csv")
            try writeFile(spec.json, to: write + "/spec.json")
        }
        if kind == "multi" {
            // Loyalty points: proportional to face value; sms credits: 1 per push coupon.
            let points = (0..<table.count).map { Double(Int(table.coupon[$0]) + 1) }
            let sms = (0..<table.count).map { table.channel[$0] == 0 ? 1.0 : 0.0 }
            table = try table.addingColumn("points", points).addingColumn("sms", sms)
            let pointsTotal = (0..<table.userCount).reduce(0.0) { s, _ in s + Double(coupons) }
            spec.budgets.append(.init(name: "points", column: "points", limit: (pointsTotal * 0.25).rounded()))
            spec.budgets.append(.init(name: "sms credits", column: "sms", limit: (Double(users) * 0.4).rounded()))
            spec.maxPerUser = 2
            spec.channelCaps = ["email": 1, "push": 1]
            spec.couponCaps = Dictionary(uniqueKeysWithValues: (coupons - 3 ..< coupons).map { ("c\($0 + 1)", users / 20) })
        }
        let problem = try Problem(candidates: table, spec: spec)
        let built = monotonicSeconds() - t0
        for name in methods.split(separator: ",") {
            guard let method = MethodRegistry.standard.method(named: String(name)) else { throw ValidationError("unknown method \(name)") }
            var options = SolveOptions(seed: seed)
            options.threads = threads
            if noBaselineCheck { options.dual.baselineCheck = .never }
            if let gap { options.dual.targetGap = gap }
            let cpu0 = processCPUSeconds()
            let solution = try solve(problem, method: method, options: options)
            let cpu = processCPUSeconds() - cpu0
            let report = Verifier.verify(problem, solution.allocation)
            let line: [String: Any] = [
                "case": kind, "users": users, "coupons": coupons, "candidates": table.count, "method": method.name,
                "objective": report.objective, "upper_bound": solution.upperBound ?? NSNull(),
                "gap": solution.relativeGap ?? NSNull(), "seconds": solution.wallSeconds, "cpu_seconds": cpu, "build_seconds": built,
                "peak_rss_mib": peakRSSMiB(), "feasible": report.isFeasible, "iterations": solution.iterations ?? NSNull(),
                "caps": spec.couponCaps.count, "max_per_user": spec.maxPerUser ?? 1,
                "spend": report.budgetSpend, "limits": problem.budgets.map(\.limit), "notes": solution.notes, "threads": threads,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

struct CSVRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csv",
        abstract: "Write a generated scores CSV, then time reading it with Allot's reader (and optionally SwiftCSV)."
    )
    @Option var users = 1_000_000
    @Option var coupons = 10
    @Option var path = "/tmp/allot-bench-scores.csv"
    @Flag(help: "Also parse with SwiftCSV (slow: use a smaller file).") var swiftcsv = false
    @Option var repeats = 3

    func run() throws {
        if !FileManager.default.fileExists(atPath: path) {
            let bytes = SyntheticScores(users: users, coupons: coupons, channels: ["push", "email"], seed: 1).csv()
            try writeFile(bytes, to: path)
        }
        let size = Double((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)
        var times: [Double] = []
        var rows = 0
        for _ in 0..<repeats {
            let t0 = monotonicSeconds()
            let table = try ScoresFile.read(InputBytes(path: path))
            times.append(monotonicSeconds() - t0)
            rows = table.count
        }
        times.sort()
        let median = times[times.count / 2]
        print("allot reader: \(rows) rows, \(Int(size / 1e6)) MB, median \(median) s of \(repeats), \(size / 1e6 / median) MB/s, peak RSS \(Int(peakRSSMiB())) MiB")
        if swiftcsv {
            let t0 = monotonicSeconds()
            let csv = try CSV<Enumerated>(url: URL(fileURLWithPath: path), loadColumns: false)
            var uplift = 0.0
            for row in csv.rows { uplift += Double(row[2]) ?? 0 }
            let seconds = monotonicSeconds() - t0
            print("SwiftCSV: \(csv.rows.count) rows, \(seconds) s, \(size / 1e6 / seconds) MB/s (sum \(uplift))")
        }
    }
}

/// All 30 mknapcb1 instances with both backends.
struct ORLib: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orlib", abstract: "OR-Library mknapcb1 with both MILP backends.")
    @Option var data = "data"
    @Option var timeLimit = 60.0

    func run() throws {
        let problems = try ORLibrary.multidimensionalKnapsack(String(contentsOfFile: data + "/orlib/mknapcb1.txt", encoding: .utf8))
        let best = ORLibrary.bestKnownValues(try String(contentsOfFile: data + "/orlib/mkcbres.txt", encoding: .utf8))
        print("| instance | best known | GLPK value | GLPK s | CBC value | CBC s |")
        print("|---|---|---|---|---|---|")
        for (k, problem) in problems.enumerated() {
            var cells = ["\(k + 1)", "\(Int(best[k]))"]
            for method: any AllocationMethod in [MILPMethod.milpGLPK, MILPMethod.milpCBC] {
                var options = SolveOptions()
                options.milp.relativeGap = 0
                options.milp.timeLimit = timeLimit
                let s = try solve(problem, method: method, options: options)
                precondition(Verifier.verify(problem, s.allocation).isFeasible)
                cells += ["\(Int(s.objective))\(s.status == .optimal ? "" : " (limit)")", String(format: "%.2f", s.wallSeconds)]
            }
            print("| " + cells.joined(separator: " | ") + " |")
        }
    }
}

/// Exact and dual methods side by side on generated instances, plus the raw solvers on the exported LP.
struct Exact: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "milp-glpk, milp-cbc, dual and dual+milp on generated instances, and glpsol/cbc on the exported LP.")
    @Option var users = 2_000
    @Option var coupons = 5
    @Option var seeds = "1,2,3"
    @Option var fraction = 0.3
    @Option var gap = 1e-4
    @Option var timeLimit = 60.0
    @Option var allot = "../.build/release/allot"

    func run() throws {
        print("| seed | method | value | bound | gap | seconds |")
        print("|---|---|---|---|---|---|")
        for seed in seeds.split(separator: ",").compactMap({ UInt64($0) }) {
            let table = SyntheticScores(users: users, coupons: coupons, seed: seed).table()
            let spend = table.spendOfBestCandidates()
            let limit = (spend * fraction).rounded()
            let problem = try Problem(candidates: table, spec: AllocationSpec(budgets: [.init(name: "cash", limit: limit)]))
            for method: any AllocationMethod in [DualMethod.dual, PolishMethod.dualMILP, MILPMethod.milpGLPK, MILPMethod.milpCBC] {
                var options = SolveOptions()
                options.milp.relativeGap = gap
                options.milp.timeLimit = timeLimit
                let s = try solve(problem, method: method, options: options)
                precondition(Verifier.verify(problem, s.allocation).isFeasible)
                print("| \(seed) | \(method.name) | \(String(format: "%.2f", s.objective)) | \(s.upperBound.map { String(format: "%.2f", $0) } ?? "-") | \(s.relativeGap.map { String(format: "%.1e", $0) } ?? "-") | \(String(format: "%.2f", s.wallSeconds)) |")
            }
            // The raw solvers on the exported model.
            let dir = "/tmp/allot-exact-\(seed)"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try writeFile(SyntheticScores(users: users, coupons: coupons, seed: seed).csv(), to: dir + "/s.csv")
            _ = try shell(allot, ["export", dir + "/s.csv", "--budget", "\(limit)", "--format", "lp", "--out", dir + "/m.lp"])
            var t0 = monotonicSeconds()
            _ = try shell("/usr/bin/glpsol", ["--lp", dir + "/m.lp", "--mipgap", "\(gap)", "--tmlim", "\(Int(timeLimit))", "-o", dir + "/g.sol"])
            let glpsolSeconds = monotonicSeconds() - t0
            let glpsolValue = (try? String(contentsOfFile: dir + "/g.sol", encoding: .utf8))?.split(separator: "\n")
                .first { $0.hasPrefix("Objective:") }.map(String.init) ?? "?"
            print("| \(seed) | glpsol (exported LP) | \(glpsolValue) | - | - | \(String(format: "%.2f", glpsolSeconds)) |")
            t0 = monotonicSeconds()
            let cbcOut = try shell("/usr/bin/cbc", [dir + "/m.lp", "ratio", "\(gap)", "sec", "\(Int(timeLimit))", "solve", "quit"])
            let cbcSeconds = monotonicSeconds() - t0
            let cbcValue = cbcOut.split(separator: "\n").first { $0.hasPrefix("Objective value:") }.map(String.init) ?? "?"
            print("| \(seed) | cbc (exported LP) | \(cbcValue) | - | - | \(String(format: "%.2f", cbcSeconds)) |")
        }
    }

    func shell(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

Benchmarks.main()
