import Allot
import ArgumentParser

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-verify an allocation: its objective, spend per budget and every violation.",
        discussion: """
            With --log, also estimates the allocation's incremental outcome on a randomised log
            (user_id,treatment,outcome[,propensity]; treatment is a coupon id or control) by
            inverse propensity weighting, with a 95% confidence interval (docs/file-formats.md).

            Exit status 0 when the allocation is feasible, 3 when it breaks a constraint.

            Example:
              allot evaluate scores.csv allocation.csv --spec spec.json
              allot evaluate scores.csv allocation.csv --log holdout.csv
            """
    )

    @OptionGroup var problem: ProblemOptions

    @Argument(help: "Allocation CSV with user_id and coupon_id columns.")
    var allocation: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Randomised log to estimate the allocation's value on: user_id,treatment,outcome[,propensity].")
    var log: String?

    func run() throws {
        var feasible = true
        try runReportingErrors {
            let problem = try problem.load()
            let allocation = try AllocationFile.read(try InputBytes(path: allocation), for: problem)
            let report = Verifier.verify(problem, allocation)
            let solution = Solution(method: "evaluate", status: report.isFeasible ? .feasible : .infeasible,
                                    allocation: allocation, objective: report.objective)
            let summary = Summary(problem: problem, solution: solution, report: report)
            var evaluation = EvaluationReport(summary: summary)
            if let log {
                evaluation.policyValue = try PolicyValue.estimate(log: InputBytes(path: log),
                                                                  assignments: PolicyValue.assignments(problem, allocation))
            }
            feasible = report.isFeasible
            if json {
                try AtomicFile.writeStandardOutput(Array(evaluation.json().utf8))
                return
            }
            var text = ""
            func print(_ line: String) { text += line + "\n" }
            print("objective: \(summary.objective)")
            print("assignments: \(summary.assignments) to \(summary.usersReached) users")
            for b in summary.budgets { print("budget \(b.name): spend \(b.spend) of \(b.limit)") }
            if let v = evaluation.policyValue {
                print("policy value on \(log!): incremental outcome \(v.incrementalOutcome) (95% CI \(v.ci95Low) to \(v.ci95High), se \(v.standardError))")
                print("  per log user \(v.incrementalPerUser); \(v.logRows) log rows, \(v.logUsers) users, \(v.matchedRows) rows follow the allocation")
                print("  \(v.allocationUsersMissingFromLog) of \(v.allocationUsers) allocated users are not in the log")
            }
            if report.isFeasible {
                print("feasible: yes")
            } else {
                print("feasible: no, \(report.violationCount) violation\(report.violationCount == 1 ? "" : "s"):")
                for v in report.violations { print("  \(v)") }
                if report.violationCount > report.violations.count {
                    print("  ... and \(report.violationCount - report.violations.count) more")
                }
            }
            try AtomicFile.writeStandardOutput(Array(text.utf8))
        }
        if !feasible { throw ExitCode(3) }
    }
}
