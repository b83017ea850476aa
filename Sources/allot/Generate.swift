import Allot
import ArgumentParser

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write realistic synthetic scores (model: docs/generator.md).",
        discussion: """
            Heterogeneous users, coupon face values 5, 10, 15, ... with diminishing returns,
            cost = face value x redemption probability, and some negative uplift.

            Example:
              allot generate --users 100000 --coupons 5 --channels push,email --seed 1 --out scores.csv
            """
    )

    @Option(help: "Number of users.") var users: Int
    @Option(help: "Number of coupons per user.") var coupons: Int
    @Option(help: "Comma-separated channel names, assigned to coupons in turn.") var channels: String?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output CSV ('-' for standard output).") var out: String = "-"

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard coupons >= 1 else { throw ValidationError("--coupons must be at least 1") }
        guard users.multipliedReportingOverflow(by: coupons).partialValue < Int(Int32.max) else {
            throw ValidationError("--users x --coupons must be below 2^31")
        }
        if let channels, channels.split(separator: ",").contains(where: { $0.isEmpty }) || channels.isEmpty {
            throw ValidationError("--channels must be comma-separated non-empty names")
        }
    }

    func run() throws {
        try runReportingErrors {
            try AtomicFile.checkWritable(out)
            let names = channels.map { $0.split(separator: ",").map(String.init) } ?? []
            let scores = SyntheticScores(users: users, coupons: coupons, channels: names, seed: seed)
            try AtomicFile.write(scores.csv(), to: out)
        }
    }
}
