import Allot
import ArgumentParser

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write realistic synthetic scores (model: docs/generator.md), and optionally a spec that fits them and a randomised log.",
        discussion: """
            Heterogeneous users, coupon face values 5, 10, 15, ... with diminishing returns, cost = face value x redemption probability, and some negative uplift. --spec writes a budget at 30% of the spend of giving every user its best coupon, one incentive per user and a cap on the largest coupon; --log writes a randomised test on the same users (user_id,treatment,outcome) for `allot evaluate --log`.

            Example:
              allot generate --users 100000 --coupons 5 --seed 1 --out scores.csv --spec spec.json --log log.csv
            """
    )

    @Option(help: "Number of users.") var users: Int
    @Option(help: "Number of coupons per user.") var coupons: Int
    @Option(help: "Comma-separated channel names, assigned to coupons in turn (default: no channel column).") var channels: String?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output CSV ('-' for standard output).") var out: String = "-"
    @Option(help: "Also write a spec JSON that fits the scores to this file.") var spec: String?
    @Option(help: "Also write a randomised log of the same users to this file.") var log: String?
    @OptionGroup var progressFlag: ProgressFlag

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard coupons >= 1 else { throw ValidationError("--coupons must be at least 1") }
        guard users.multipliedReportingOverflow(by: coupons).partialValue < Int(Int32.max) else {
            throw ValidationError("--users x --coupons must be below 2^31")
        }
        if let channels, channels.split(separator: ",").contains(where: { $0.isEmpty }) || channels.isEmpty {
            throw ValidationError("--channels must be comma-separated non-empty names")
        }
        let outputs = [out == "-" ? nil : out, spec, log].compactMap { $0 }
        if Set(outputs).count < outputs.count { throw ValidationError("--out, --spec and --log must name different files") }
    }

    func run() throws {
        try runReportingErrors {
            for path in [out, spec, log].compactMap({ $0 }) { try AtomicFile.checkWritable(path) }
            let progress = progressFlag.line()
            let names = channels.map { $0.split(separator: ",").map(String.init) } ?? []
            let scores = SyntheticScores(users: users, coupons: coupons, channels: names, seed: seed)
            progress.begin("generating \(users) users x \(coupons) coupons")
            let bytes = scores.csv()
            if let spec { try AtomicFile.write(scores.spec(), to: spec) }
            if let log { try AtomicFile.write(scores.randomisedLog(), to: log) }
            progress.end()
            try AtomicFile.write(bytes, to: out)
        }
    }
}
