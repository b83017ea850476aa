import Allot
import ArgumentParser

struct AllotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allot",
        abstract: "Allocate marketing incentives to users: maximise incremental GMV within budgets and caps.",
        discussion: """
            Exit status: 0 on success, 1 for unusable input or an output that cannot be written, 3 when an allocation fails verification, 64 for a command-line usage error.

            Example:
              allot generate --users 1000 --coupons 5 --seed 1 \\
                --out scores.csv --spec spec.json
              allot solve scores.csv --spec spec.json \\
                --out allocation.csv --summary summary.json
            """,
        version: allotVersion,
        subcommands: [Solve.self, Generate.self, Evaluate.self, Export.self, Bench.self, FrontierCommand.self, ReplayCommand.self, ServeCommand.self]
    )
}

/// Turns library errors into a one-line message and exit status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as InputError {
        Terminal.error(error.description)
        throw ExitCode(1)
    } catch let error as SolveError {
        Terminal.error(error.description)
        throw ExitCode(1)
    } catch let error as InvalidOption {
        Terminal.error(commandLineMessage(error))
        throw ExitCode(64)
    }
}

/// The version `allot --version` prints.
let allotVersion = "0.1.0"
