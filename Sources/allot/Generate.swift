import Allot
import ArgumentParser

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write realistic synthetic scores (model: docs/generator.md), and optionally a spec that fits them and a randomised log.",
        discussion: """
            Heterogeneous users, coupon face values 5, 10, 15, ... with diminishing returns, cost = face value x redemption probability, and some negative uplift. --spec writes a budget at 30% of the spend of giving every user its best coupon, one incentive per user and a cap on the largest coupon; --log writes a randomised test on the same users (user_id,treatment,outcome) for `allot evaluate --log`.

            Example:
              allot generate --users 100000 --coupons 5 --seed 1 \\
                --out scores.csv --spec spec.json --log log.csv

            The campaign shape: many coupons, each user eligible for a few (skewed popularity); with --coupons-per-user, --spec writes one cash budget and every coupon capped at a share of its demand:
              allot generate --users 100000 --coupons 2000 --coupons-per-user 8 \\
                --spec spec.json --cap-share 0.5 --budget-fraction 0.3 \\
                --max-per-user 2 --out scores.csv
            """
    )

    @Option(help: "Number of users.") var users: Int
    @Option(help: "Number of coupons (each user is scored for every one, unless --coupons-per-user).") var coupons: Int
    @Option(help: "Comma-separated channel names, assigned to coupons in turn (default: no channel column).") var channels: String?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output CSV ('-' for standard output).") var out: String = "-"
    @Option(help: "Also write a spec JSON that fits the scores to this file.") var spec: String?
    @Option(help: "Also write a randomised log of the same users to this file.") var log: String?
    @OptionGroup var progressFlag: ProgressFlag
    @Option(help: "Campaign shape: each user is eligible for this many coupons, drawn by popularity.")
    var couponsPerUser: Int?
    @Option(help: "Campaign shape: Zipf exponent of the coupons' popularity.") var popularitySkew: Double = 1
    @Option(help: "Campaign spec (with --coupons-per-user): each coupon's cap as a share of the users with positive uplift for it.") var capShare: Double = 0.5
    @Option(help: "Campaign spec: the cash budget as a share of the spend of giving every user its best coupon.")
    var budgetFraction: Double = 0.3
    @Option(help: "Campaign spec: max_per_user.") var maxPerUser: Int = 1
    @Option(help: ArgumentHelp("Estimation noise: write a noisy uplift, its standard error uplift_se and the true uplift true_uplift; noise sd = SIGMA x the true uplifts' sd (docs/generator.md).", valueName: "SIGMA"))
    var noise: Double?
    @Option(help: ArgumentHelp("With --noise: also write B independent draws uplift_1..uplift_B, each the true uplift plus noise of sd uplift_se x sqrt(B), their mean as uplift (docs/generator.md).", valueName: "B"))
    var draws: Int?

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard coupons >= 1 else { throw ValidationError("--coupons must be at least 1") }
        if let couponsPerUser, !(1...coupons).contains(couponsPerUser) {
            throw ValidationError("--coupons-per-user must be between 1 and --coupons")
        }
        let perUser = couponsPerUser ?? coupons
        let (product, overflow) = users.multipliedReportingOverflow(by: perUser)
        guard !overflow, product < Int(Int32.max) else {
            throw ValidationError(couponsPerUser == nil ? "--users x --coupons must be below 2^31" : "--users x --coupons-per-user must be below 2^31")
        }
        guard popularitySkew.isFinite, popularitySkew >= 0 else { throw ValidationError("--popularity-skew must be a finite number >= 0") }
        guard capShare.isFinite, capShare > 0 else { throw ValidationError("--cap-share must be a number > 0") }
        guard budgetFraction.isFinite, budgetFraction >= 0 else { throw ValidationError("--budget-fraction must be a number >= 0") }
        guard maxPerUser >= 1 else { throw ValidationError("--max-per-user must be at least 1") }
        if let noise, !(noise.isFinite && noise >= 0) { throw ValidationError("--noise must be a finite number >= 0") }
        if let draws {
            guard noise != nil else { throw ValidationError("--draws needs --noise: draws are noisy replicates of the scores") }
            guard draws >= ScoreDraws.minimum && draws <= 1000 else { throw ValidationError("--draws must be between \(ScoreDraws.minimum) and 1000") }
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
            let scores = SyntheticScores(users: users, coupons: coupons, channels: names, seed: seed,
                                         couponsPerUser: couponsPerUser, popularitySkew: popularitySkew)
            progress.begin("generating \(count(users)) users x \(count(coupons)) coupons")
            let bytes = noise.map { scores.noisyCSV(noise: $0, draws: draws ?? 0) } ?? scores.csv()
            if let spec {
                if couponsPerUser != nil {
                    let text = SyntheticScores.campaignSpec(scores.table(), capShare: capShare, budgetFraction: budgetFraction,
                                                            maxPerUser: maxPerUser).json
                    try AtomicFile.write(Array(text.utf8), to: spec)
                } else {
                    try AtomicFile.write(scores.spec(), to: spec)
                }
            }
            if let log { try AtomicFile.write(scores.randomisedLog(), to: log) }
            progress.end()
            try AtomicFile.write(bytes, to: out)
            let files = [out == "-" ? nil : out, spec, log].compactMap { $0 }
            if !files.isEmpty { Terminal.say("wrote " + files.joined(separator: ", ")) }
        }
    }
}
