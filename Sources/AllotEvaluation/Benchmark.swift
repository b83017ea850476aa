import AllotCore

#if canImport(Glibc)
import Glibc
#endif

/// One method on one instance, as `allot bench` reports it.
public struct BenchmarkRow: Codable, Equatable, Sendable {
    public var instance: String
    public var method: String
    /// "ok", or what went wrong (the other methods still run).
    public var outcome: String
    public var status: String?
    public var objective: Double?
    /// Objective as a percentage of the best upper bound any method proved on this instance.
    public var percentOfBound: Double?
    /// Objective gain over the best greedy baseline on this instance, in percent.
    public var gainOverBestGreedy: Double?
    public var upperBound: Double?
    /// Spend per budget.
    public var spend: [Double]
    /// Limit per budget.
    public var limits: [Double] = []
    public var feasible: Bool
    public var wallSeconds: Double
    /// Peak resident memory, MiB: of the method's own process with isolation, otherwise of the
    /// benchmark process so far.
    public var peakMemoryMiB: Double

    enum CodingKeys: String, CodingKey {
        case instance, method, outcome, status, objective, spend, limits, feasible
        case percentOfBound = "percent_of_bound"
        case gainOverBestGreedy = "gain_over_best_greedy_percent"
        case upperBound = "upper_bound"
        case wallSeconds = "wall_seconds"
        case peakMemoryMiB = "peak_memory_mib"
    }

    /// A row with no result yet.
    public init(instance: String, method: String, outcome: String) {
        self.instance = instance
        self.method = method
        self.outcome = outcome
        spend = []
        feasible = false
        wallSeconds = 0
        peakMemoryMiB = 0
    }

    /// Runs `method` on `problem` and verifies the result; a failure becomes the row's outcome.
    public static func run(_ method: any AllocationMethod, on problem: Problem, instance: String, options: SolveOptions) -> BenchmarkRow {
        var row = BenchmarkRow(instance: instance, method: method.name, outcome: "ok")
        let start = monotonicSeconds()
        do {
            let solution = try solve(problem, method: method, options: options)
            let report = Verifier.verify(problem, solution.allocation)
            row.status = solution.status.rawValue
            row.objective = report.objective
            row.upperBound = solution.upperBound
            row.spend = report.budgetSpend
            row.limits = problem.budgets.map(\.limit)
            row.feasible = report.isFeasible
            if solution.status == .infeasible || solution.status == .searchFailed {
                row.feasible = false
                row.outcome = solution.status == .infeasible ? "no allocation: the floors are infeasible"
                    : "no allocation: the search failed to meet the floors"
            } else if let floor = report.violations.first(where: \.isFloor) {
                // A method that knows only ceilings: marked, not ranked.
                row.outcome = "breaks a floor: \(floor)"
            } else if !report.isFeasible {
                row.outcome = "failed verification: \(report.violations.first!)"
            }
        } catch {
            row.outcome = "error: \(error)"
        }
        row.wallSeconds = monotonicSeconds() - start
        row.peakMemoryMiB = processPeakMemoryMiB()
        return row
    }

    /// Fills the comparative columns of the rows of one instance: % of the best (lowest) proven
    /// bound, and % gain over the best of the rows whose method is in `baselines`.
    public static func compare(_ rows: inout [BenchmarkRow], baselines: [any AllocationMethod] = MethodRegistry.core.baselines) {
        let bound = rows.compactMap { $0.feasible ? $0.upperBound : nil }.min()
        let greedyNames = Set(baselines.map(\.name))
        let bestGreedy = rows.filter { greedyNames.contains($0.method) && $0.feasible }.compactMap(\.objective).max()
        for k in rows.indices {
            guard let value = rows[k].objective, rows[k].feasible else { continue }
            if let bound, bound > 0 { rows[k].percentOfBound = 100 * value / bound }
            if let bestGreedy, bestGreedy > 0 { rows[k].gainOverBestGreedy = 100 * (value - bestGreedy) / bestGreedy }
        }
    }

    /// A Markdown table of rows: objective and spend in whole units, percentages to 0.1,
    /// seconds to 3 significant digits.
    public static func markdown(_ rows: [BenchmarkRow]) -> String {
        func whole(_ x: Double?) -> String { x.map { Readable.grouped($0, decimals: 0) } ?? "-" }
        func tenth(_ x: Double?) -> String { x.map { Readable.grouped($0, decimals: 1) } ?? "-" }
        var lines = ["| instance | method | objective | % of bound | gain over best greedy % | spend of limit | seconds | peak MiB | outcome |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for r in rows {
            let spend = r.spend.enumerated().map { k, s in
                k < r.limits.count ? "\(whole(s)) of \(whole(r.limits[k]))" : whole(s)
            }.joined(separator: "; ")
            lines.append("| \(r.instance) | \(r.method) | \(whole(r.objective)) | \(tenth(r.percentOfBound)) | \(tenth(r.gainOverBestGreedy)) | \(spend) | \(Readable.significant(max(r.wallSeconds, 0.001), 3)) | \(whole(r.peakMemoryMiB)) | \(r.outcome) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

}

/// Peak resident memory of this process so far, in MiB.
package func processPeakMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
