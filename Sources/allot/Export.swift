import Allot
import ArgumentParser

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the allocation problem as a 0-1 program (CPLEX LP or free MPS) for any solver.",
        discussion: """
            One binary column per candidate, named x<index>_<user>_<coupon> (index: the candidate's 1-based position, users in scores order); rows for budgets (and their spend floors, NAME_min), per-user frequency and channel caps, coupon caps and floors, the ROI floor, and the general rows of the spec (row_NAME, or row_NAME_min and row_NAME_max), each as the spec states it. The objective is maximised.

            Example:
              allot export scores.csv --spec spec.json --format lp --out model.lp
              glpsol --lp model.lp
            """
    )

    @OptionGroup var problem: ProblemOptions

    @Option(help: "lp (CPLEX LP) or mps (free MPS).") var format: String = "lp"
    @Option(help: "Output file ('-' for standard output).") var out: String = "-"
    @OptionGroup var progressFlag: ProgressFlag

    func validate() throws {
        guard ModelFormat(rawValue: format) != nil else { throw ValidationError("unknown format '\(escapingControlCharacters(format))'; choose lp or mps") }
        try checkDistinctPaths(inputs: [problem.scores, problem.spec], outputs: [out])
    }

    func run() throws {
        try runReportingErrors {
            try AtomicFile.checkWritable(out)
            let problem = try problem.load(progress: progressFlag.line())
            let formulation = MILPFormulation(problem, eligibleOnly: false)
            try AtomicFile.write(ModelFormat(rawValue: format)!.render(formulation.model), to: out)
            Terminal.say("wrote \(out == "-" ? "the model to standard output" : escapingControlCharacters(out)): \(count(formulation.model.columnCount)) columns and \(count(formulation.model.rowCount)) rows")
        }
    }
}
