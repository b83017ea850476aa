import Allot
import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare methods on generated instances or your own scores: value, % of the best proven bound, gain over the best greedy baseline, spend, time, memory.",
        discussion: """
            Generated instances (--users, --coupons, --channels, --seeds), one per fraction in --budget-fractions. With --constraints interacting (the default) each has two budgets that pull in different directions, a cash budget on the expected cost at that fraction of the spend of giving every user its best coupon and a face-value budget on the coupons' nominal value at the same fraction, plus caps on the cheapest coupon (10% of the users) and the largest (5%); with --constraints budget, only the cash budget. Your own scores: --scores FILE with --spec or --budget. Every result is verified. With --isolate each method runs in its own process (so memory is its own, and a crash or limit only marks its row). The MILP methods join the defaults when an instance has at most 20,000 candidates or --time-limit is given.

            Example:
              allot bench --users 20000 --coupons 5 --seeds 1,2 \\
                --budget-fractions 0.1,0.3 --markdown
              allot bench --scores scores.csv --spec spec.json \\
                --methods dual,greedy-marginal --json
            """
    )

    @Option(help: "Users of each generated instance.") var users = 10_000
    @Option(help: "Coupons per user of each generated instance.") var coupons = 5
    @Option(help: "Constraints of generated instances: interacting (two budgets and two coupon caps) or budget (one budget).") var constraints: InstanceConstraints = .interacting
    @Option(help: "Comma-separated channel names for generated instances (default: none).") var channels: String?
    @Option(help: "Comma-separated seeds for generated instances.") var seeds = "1"
    @Option(name: .customLong("budget-fractions"), help: "Comma-separated budget fractions for generated instances.") var budgetFractions = "0.3"
    @Option(help: "A scores CSV to benchmark instead of generated instances.") var scores: String?
    @Option(help: "Spec JSON for --scores.") var spec: String?
    @Option(help: "Budget for --scores (cost column).") var budget: Double?
    @Option(help: "Comma-separated methods (default: all that fit the instance).", transform: MethodList.parse) var methods: MethodList?
    @Option(name: .customLong("time-limit"), help: "Seconds for the exact methods (default: no limit).") var timeLimit: Double?
    @Flag(help: "Run each method in its own process.") var isolate = false
    @Flag(help: "Print JSON rows.") var json = false
    @Flag(help: "Print a Markdown table (the default).") var markdown = false
    @Option(help: "Write the output to this file instead of standard output.") var out: String?
    @OptionGroup var progressFlag: ProgressFlag
    @Option(name: .customLong("child-method"), help: .hidden, transform: MethodArgument.parse) var childMethod: MethodArgument?
    @Option(name: .customLong("instance-name"), help: .hidden) var instanceName: String?

    func validate() throws {
        if json && markdown { throw ValidationError("choose one of --json and --markdown") }
        if let timeLimit, !(timeLimit.isFinite && timeLimit > 0) {
            throw ValidationError("--time-limit is \(timeLimit); it must be a finite number of seconds > 0")
        }
        try checkDistinctPaths(inputs: [scores, spec], outputs: [out])
    }

    func options() -> SolveOptions {
        var options = SolveOptions()
        options.timeLimit = timeLimit
        return options
    }

    func run() throws {
        try runReportingErrors {
            if let out { try AtomicFile.checkWritable(out) }
            if let childMethod {
                // One method in its own process: print its row.
                let problem = try ProblemOptions.load(scores: scores!, spec: spec, budget: budget, maxPerUser: nil, progress: ProgressLine(forced: false))
                let row = BenchmarkRow.run(childMethod.method, on: problem, instance: instanceName ?? "", options: options())
                print(String(decoding: try JSONEncoder().encode(row), as: UTF8.self))
                return
            }
            let progress = progressFlag.line()
            var all: [BenchmarkRow] = []
            for (name, problem, files) in try instances(progress) {
                let exact: [any AllocationMethod] = [.dualMILP, .milpGLPK, .milpCBC]
                let defaults = MethodRegistry.core.methods
                    + (problem.candidates.count <= 20_000 || timeLimit != nil ? exact : [])
                let chosen = methods?.methods ?? defaults
                var rows: [BenchmarkRow] = []
                // In-process rows show the dual's sweeps and the exact search as `solve` does.
                var shown = options()
                shown.dual.progress = progress.enabled ? Solve.report(progress) : nil
                shown.milp.progress = shown.dual.progress
                for method in chosen {
                    progress.begin("\(name): \(method.name)")
                    rows.append(isolate ? try runIsolated(method, name, files(), problem)
                                        : BenchmarkRow.run(method, on: problem, instance: name, options: shown))
                }
                progress.end()
                BenchmarkRow.compare(&rows)
                all += rows
            }
            let text: String
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                text = String(decoding: try encoder.encode(all), as: UTF8.self) + "\n"
            } else {
                text = BenchmarkRow.markdown(all)
            }
            if let out { try AtomicFile.write(text, to: out) } else { print(text, terminator: "") }
        }
    }

    /// (name, problem, files for an isolated run).
    func instances(_ progress: ProgressLine) throws -> [(String, Problem, () throws -> (String, String))] {
        if let scores {
            let problem = try ProblemOptions.load(scores: scores, spec: spec, budget: budget, maxPerUser: nil, progress: progress)
            let name = URL(fileURLWithPath: scores).lastPathComponent
            return [(name, problem, { (scores, spec ?? "") })]
        }
        let channelNames = channels.map { $0.split(separator: ",").map(String.init) } ?? []
        var result: [(String, Problem, () throws -> (String, String))] = []
        for seed in seeds.split(separator: ",").compactMap({ UInt64($0) }) {
            progress.begin("generating \(count(users)) users x \(count(coupons)) coupons, seed \(seed)")
            let generator = SyntheticScores(users: users, coupons: coupons, channels: channelNames, seed: seed)
            var table = generator.table()
            let interacting = constraints == .interacting
            // The face value of each candidate's coupon: 5, 10, 15, ... (docs/generator.md).
            if interacting { table = try table.addingColumn("face", table.coupon.map { 5 * Double($0 + 1) }) }
            let best = bestCandidates(table)
            progress.end()
            for fraction in budgetFractions.split(separator: ",").compactMap({ Double($0) }) {
                var spec = AllocationSpec(budgets: [.init(name: "cash", limit: (best.cost * fraction).rounded())])
                if interacting {
                    spec.budgets.append(.init(name: "face value", column: "face", limit: (best.face * fraction).rounded()))
                    spec.couponCaps[table.couponIDs[0]] = max(1, users / 10)
                    spec.couponCaps[table.couponIDs[table.couponCount - 1]] = max(1, users / 20)
                }
                let name = "\(users)x\(coupons) seed \(seed) fraction \(fraction)"
                let problem = try Problem(candidates: table, spec: spec)
                let specJSON = specText(spec)
                result.append((name, problem, {
                    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("allot-bench-\(getpid())-\(seed)").path
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    let scores = dir + "/scores.csv", specPath = dir + "/spec-\(fraction).json"
                    if !FileManager.default.fileExists(atPath: scores) { try AtomicFile.write(csv(table), to: scores) }
                    try AtomicFile.write(specJSON, to: specPath)
                    return (scores, specPath)
                }))
            }
        }
        return result
    }

    /// Cost and face value of giving every user its best coupon by uplift (positive uplift only).
    func bestCandidates(_ t: CandidateTable) -> (cost: Double, face: Double) {
        var cost = 0.0, face = 0.0
        for u in 0..<t.userCount {
            var best = -1
            for j in t.candidates(ofUser: u) where t.uplift[j] > 0 && (best < 0 || t.uplift[j] > t.uplift[best]) { best = j }
            if best >= 0 {
                cost += t.cost[best]
                face += 5 * Double(t.coupon[best] + 1)
            }
        }
        return (cost, face)
    }

    func specText(_ spec: AllocationSpec) -> String {
        let budgets = spec.budgets.map { #"{"name":"\#($0.name)","column":"\#($0.column)","limit":\#($0.limit)}"# }
        let caps = spec.couponCaps.sorted { $0.key < $1.key }.map { #""\#($0.key)":\#($0.value)"# }
        return #"{"budgets":[\#(budgets.joined(separator: ","))],"coupon_caps":{\#(caps.joined(separator: ","))}}"#
    }

    /// The table as a scores CSV, extra columns included, for an isolated run.
    func csv(_ t: CandidateTable) -> String {
        var lines = [(["user_id", "coupon_id", "uplift"] + t.columnNames + (t.hasChannels ? ["channel"] : [])).joined(separator: ",")]
        for u in 0..<t.userCount {
            for j in t.candidates(ofUser: u) {
                var fields = [t.userIDs[u], t.couponIDs[Int(t.coupon[j])], "\(t.uplift[j])"] + t.columns.map { "\($0[j])" }
                if t.hasChannels { fields.append(t.channelNames[t.channel(of: j)]) }
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func runIsolated(_ method: any AllocationMethod, _ name: String, _ files: (String, String), _ problem: Problem) throws -> BenchmarkRow {
        let (scoresPath, specPath) = files
        let process = Process()
        // This very binary, however it was invoked.
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: me)
        var args = ["bench", "--child-method", method.name, "--instance-name", name, "--scores", scoresPath]
        if !specPath.isEmpty { args += ["--spec", specPath] }
        if let budget { args += ["--budget", "\(budget)"] }
        if let timeLimit { args += ["--time-limit", "\(timeLimit)"] }
        process.arguments = args
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 0, let row = try? JSONDecoder().decode(BenchmarkRow.self, from: data) { return row }
        let reason = errorText.split(separator: "\n").last.map(String.init) ?? "no message"
        return BenchmarkRow(instance: name, method: method.name, outcome: "process failed (status \(process.terminationStatus)): \(reason)")
    }
}

enum InstanceConstraints: String, ExpressibleByArgument, CaseIterable {
    case interacting, budget
}
