import Allot
import ArgumentParser

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-verify an allocation: its objective, spend per budget and every violation.",
        discussion: """
            Exit status 0 when the allocation is feasible, 3 when it breaks a constraint.

            Example:
              allot evaluate scores.csv allocation.csv --spec spec.json
            """
    )

    @OptionGroup var problem: ProblemOptions

    @Argument(help: "Allocation CSV with user_id and coupon_id columns.")
    var allocation: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        var feasible = true
        try runReportingErrors {
            let problem = try problem.load()
            let allocation = try AllocationFile.read(try InputBytes(path: allocation), for: problem)
            let report = Verifier.verify(problem, allocation)
            let solution = Solution(method: "evaluate", status: report.isFeasible ? .feasible : .infeasible,
                                    allocation: allocation, objective: report.objective)
            let summary = Summary(problem: problem, solution: solution, report: report)
            feasible = report.isFeasible
            if json {
                print(summary.json(), terminator: "")
                return
            }
            print("objective: \(summary.objective)")
            print("assignments: \(summary.assignments) to \(summary.usersReached) users")
            for b in summary.budgets { print("budget \(b.name): spend \(b.spend) of \(b.limit)") }
            if report.isFeasible {
                print("feasible: yes")
            } else {
                print("feasible: no, \(report.violationCount) violation\(report.violationCount == 1 ? "" : "s"):")
                for v in report.violations { print("  \(v)") }
                if report.violationCount > report.violations.count {
                    print("  ... and \(report.violationCount - report.violations.count) more")
                }
            }
        }
        if !feasible { throw ExitCode(3) }
    }
}
