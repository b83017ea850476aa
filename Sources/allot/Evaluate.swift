import Allot
import ArgumentParser

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-verify an allocation: its objective, spend per budget and every violation; with --log, its value on a randomised test.",
        discussion: """
            With --log, also estimates the allocation's incremental outcome on a randomised log (user_id,treatment,outcome[,propensity]; treatment is a coupon id or control) by inverse propensity weighting, with a 95% interval (docs/file-formats.md). --against compares it, on the same log rows, with another allocation, with uniform random targeting of as many users (the exact expectation over the draw), or with nothing: the paired difference has a narrower interval than two separate estimates.

            Exit status 0 when the allocation is feasible, 3 when it breaks a constraint.

            Example:
              allot evaluate scores.csv allocation.csv --spec spec.json
              allot evaluate scores.csv allocation.csv --spec spec.json \\
                --log log.csv --against random
            """
    )

    @OptionGroup var problem: ProblemOptions

    @Argument(help: "Allocation CSV with user_id and coupon_id columns.")
    var allocation: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Randomised log to estimate the allocation's value on: user_id,treatment,outcome[,propensity].")
    var log: String?

    @Option(help: "The log column holding the outcome.")
    var outcome = "outcome"

    @Option(help: "The log's treatment that names the control arm.")
    var control = "control"

    @Option(name: .customLong("max-unknown-share"), help: "Fail when more than this share of the log rows have a treatment that is neither the control arm nor a coupon of the scores (such rows drop out of the estimate); 1 allows any.")
    var maxUnknownShare = 0.01

    @Option(help: "Compare with another allocation CSV, 'random' (uniform random targeting of as many users) or 'none' (no incentives), on the same log rows (needs --log).")
    var against: String?

    @Option(help: "A scores column holding the true uplift (e.g. true_uplift from `allot generate --noise`): report the allocation's exact true value.")
    var truth: String?

    @Option(help: ArgumentHelp("With --log: put the allocation's predicted value on the log's users, this scores column summed over its candidates (uplift, or e.g. a shrunken score), beside its realised value on the log, with a paired 95% interval of the difference.", valueName: "COLUMN"))
    var predicted: String?

    @OptionGroup var progressFlag: ProgressFlag

    func validate() throws {
        if against != nil && log == nil { throw ValidationError("--against needs --log") }
        if predicted != nil && log == nil { throw ValidationError("--predicted needs --log") }
        if !(maxUnknownShare >= 0 && maxUnknownShare <= 1) {
            throw ValidationError("--max-unknown-share is \(maxUnknownShare); it must be a number from 0 to 1")
        }
    }

    func run() throws {
        var feasible = true
        try runReportingErrors {
            let progress = progressFlag.line()
            let others = predicted.map { $0 == "uplift" ? [] : [$0] } ?? []
            let uncertain = truth != nil || !others.isEmpty
                ? try self.problem.loadUncertain(options: .init(), truthColumn: truth, otherColumns: others, progress: progress) : nil
            let problem = try uncertain?.problem ?? problem.load(progress: progress)
            let allocation = try AllocationFile.read(try InputBytes(path: allocation), for: problem)
            let report = Verifier.verify(problem, allocation)
            let rows = try log.map { try RandomisedLog(InputBytes(path: $0), outcome: outcome, control: control) }
            try rows?.checkTreatments(problem, maxShare: maxUnknownShare)
            let baseline: EvaluationReport.Baseline? = try against.map { against in
                switch against {
                case "random": return .random
                case "none": return EvaluationReport.Baseline.none
                default: return .allocation(try AllocationFile.read(try InputBytes(path: against), for: problem), name: against)
                }
            }
            var evaluation = EvaluationReport(problem: problem, allocation: allocation, report: report, log: rows, against: baseline)
            if let predicted, let rows {
                let values = predicted == "uplift" ? problem.candidates.uplift : uncertain!.columns[predicted]!
                evaluation.predictedAgainstRealised = rows.predictedAgainstRealised(problem, allocation, prediction: values, column: predicted)
            }
            let trueValue = uncertain?.trueValue(of: allocation)
            let summary = evaluation.summary
            feasible = report.isFeasible
            if json {
                try AtomicFile.writeStandardOutput(Array(prettyJSON(WithTrueValue(report: evaluation, trueValue: trueValue)).utf8))
                return
            }
            var text = ""
            func print(_ line: String) { text += line + "\n" }
            print("objective: \(human(summary.objective))")
            if let trueValue, let truth { print("true value (\(truth)): \(human(trueValue))") }
            print("assignments: \(count(summary.assignments)) to \(count(summary.usersReached)) users")
            for b in summary.budgets { print("\(b.name): spend \(human(b.spend)) of \(human(b.limit))") }
            if report.isFeasible {
                print("feasible: yes")
            } else {
                print("feasible: no, \(report.violationCount) violation\(report.violationCount == 1 ? "" : "s"):")
                for v in report.violations { print("  \(v)") }
                if report.violationCount > report.violations.count {
                    print("  ... and \(report.violationCount - report.violations.count) more")
                }
            }
            if let v = evaluation.policyValue {
                print("on \(log!), incremental \(outcome) over \(count(v.logUsers)) users (\(count(v.logRows)) rows):")
                print("  this allocation: \(estimate(v.incrementalOutcome, v.ci95Low, v.ci95High)); \(count(v.matchedRows)) log rows got what it assigns, \(count(v.allocationUsersMissingFromLog)) of its \(count(v.allocationUsers)) users are not in the log")
                if let unknown = v.unknownTreatmentRows, unknown > 0 {
                    print("  dropped: \(count(unknown)) log rows whose treatment is neither '\(control)' nor a coupon of the scores")
                }
                if let c = evaluation.policyComparison {
                    let name = c.against == "random" ? "random targeting of \(count(c.baseline.allocationUsers)) users (expected)"
                        : c.against == "none" ? "no incentives" : c.against
                    print("  \(name): \(estimate(c.baseline.incrementalOutcome, c.baseline.ci95Low, c.baseline.ci95High))")
                    let verdict = c.ci95Low > 0 ? "this allocation does better"
                        : c.ci95High < 0 ? "this allocation does worse" : "the log cannot tell them apart"
                    print("  difference, same rows: \(signed(c.difference)) (95% interval \(signed(c.ci95Low)) to \(signed(c.ci95High))): \(verdict)")
                }
                if let p = evaluation.predictedAgainstRealised {
                    let verdict = p.ci95High < 0 ? "the prediction overstates it" : p.ci95Low > 0 ? "the prediction understates it"
                        : "the log cannot tell them apart"
                    print("  predicted (\(p.predictedColumn), the same \(count(p.realised.allocationUsers - p.realised.allocationUsersMissingFromLog)) users): \(significant(p.predicted)); realised \(significant(p.realised.incrementalOutcome))")
                    print("  realised - predicted, same rows: \(signed(p.difference)) (95% interval \(signed(p.ci95Low)) to \(signed(p.ci95High))): \(verdict)")
                }
            }
            try AtomicFile.writeStandardOutput(Array(text.utf8))
        }
        if !feasible { throw ExitCode(3) }
    }

    func estimate(_ value: Double, _ low: Double, _ high: Double) -> String {
        "\(significant(value)) (95% interval \(significant(low)) to \(significant(high)))"
    }

    func signed(_ x: Double) -> String { (x > 0 ? "+" : "") + significant(x) }
}
