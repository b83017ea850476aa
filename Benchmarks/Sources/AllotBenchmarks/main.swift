import Allot
import ArgumentParser
import Foundation
import SwiftCSV

/// Scale benchmarks for docs/benchmarks.md. Each run prints one JSON line per method.
struct Benchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allot-benchmarks",
        abstract: "Scale benchmarks of Allot (release build).",
        subcommands: [Scale.self, CSVRead.self]
    )
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

    func run() throws {
        let t0 = monotonicSeconds()
        let channels = kind == "multi" ? ["push", "email"] : []
        var table = SyntheticScores(users: users, coupons: coupons, channels: channels, seed: seed).table()
        var best = 0.0
        for u in 0..<table.userCount {
            var top = 0.0, topCost = 0.0
            for j in table.candidates(ofUser: u) where table.uplift[j] > top { top = table.uplift[j]; topCost = table.cost[j] }
            best += topCost
        }
        var spec = AllocationSpec(budgets: [.init(name: "cash", limit: (best * fraction).rounded())])
        if kind == "multi" {
            // Loyalty points: proportional to face value; sms credits: 1 per push coupon.
            let points = (0..<table.count).map { Double(Int(table.coupon[$0]) + 1) }
            let sms = (0..<table.count).map { table.channel[$0] == 0 ? 1.0 : 0.0 }
            table = try table.addingColumn("points", points).addingColumn("sms", sms)
            let pointsTotal = (0..<table.userCount).reduce(0.0) { s, _ in s + Double(coupons) }
            spec.budgets.append(.init(name: "points", column: "points", limit: (pointsTotal * 0.25).rounded()))
            spec.budgets.append(.init(name: "sms credits", column: "sms", limit: (Double(users) * 0.4).rounded()))
            spec.maxPerUser = 2
            spec.channelCaps = [("email", 1), ("push", 1)]
            spec.couponCaps = (coupons - 3 ..< coupons).map { ("c\($0 + 1)", users / 20) }
        }
        let problem = try Problem(candidates: table, spec: spec)
        let built = monotonicSeconds() - t0
        for name in methods.split(separator: ",") {
            guard let method = Method(rawValue: String(name)) else { throw ValidationError("unknown method \(name)") }
            var options = SolveOptions(seed: seed)
            options.threads = threads
            if noBaselineCheck { options.dual.baselineCheck = .never }
            if let gap { options.dual.targetGap = gap }
            let solution = try solve(problem, method: method, options: options)
            let report = Verifier.verify(problem, solution.allocation)
            let line: [String: Any] = [
                "case": kind, "users": users, "coupons": coupons, "candidates": table.count, "method": method.rawValue,
                "objective": report.objective, "upper_bound": solution.upperBound ?? NSNull(),
                "gap": solution.relativeGap ?? NSNull(), "seconds": solution.wallSeconds, "build_seconds": built,
                "peak_rss_mib": peakRSSMiB(), "feasible": report.isFeasible, "iterations": solution.iterations ?? NSNull(),
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
    @Option(help: "Also parse with SwiftCSV (slow: use a smaller file).") var swiftcsv = false
    @Option var repeats = 3

    func run() throws {
        if !FileManager.default.fileExists(atPath: path) {
            let bytes = SyntheticScores(users: users, coupons: coupons, channels: ["push", "email"], seed: 1).csv()
            try AtomicFile.write(bytes, to: path)
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

Benchmarks.main()
