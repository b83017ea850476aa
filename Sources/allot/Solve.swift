import Allot
import AllotServe
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Choose which incentive each user gets.",
        discussion: """
            Writes the allocation CSV (user_id,coupon_id,uplift,cost) to --out, standard output by default unless --json is given. Every allocation is verified first; one that fails is not written (exit status 3). A short summary goes to standard error, its last line with the solve and verification times.

            Example:
              allot solve scores.csv --budget 50000 --method greedy-marginal \\
                --out allocation.csv --summary summary.json
            """
    )

    @OptionGroup var problem: ProblemOptions

    @Option(help: ArgumentHelp("Method: \(MethodRegistry.standard.names.joined(separator: ", ")) (milp = milp-glpk).", valueName: "method"),
            transform: MethodArgument.parse)
    var method = MethodArgument(MethodRegistry.defaultMethod)

    @Option(help: "Allocation CSV output ('-' for standard output, the default unless --json is given).")
    var out: String?

    @Option(help: "Summary JSON output.")
    var summary: String?

    @Option(help: "Snapshot JSON for live decisions (allot serve, allot replay): the spec, the multipliers and the spend plan (docs/serve.md).")
    var snapshot: String?

    @Option(help: "Spend plan of the snapshot: comma-separated weights of equal slots of the day, e.g. 24 hourly weights (default: uniform).")
    var profile: String?

    @Flag(help: "Print the summary JSON on standard output (then the allocation needs --out FILE).")
    var json = false

    @Option(help: "Seed for the seeded methods (random, blanket).")
    var seed: UInt64 = 1

    @Option(help: "Worker threads (default: all cores). The allocation does not depend on it.")
    var threads: Int?

    @Option(name: .customLong("time-limit"), parsing: .unconditional, help: "Seconds of wall time for the dual and the exact methods (milp-glpk, milp-cbc, dual+milp); the best allocation found is returned (default: no limit).")
    var timeLimit: Double?

    @Option(parsing: .unconditional, help: "Relative gap at which the dual and the exact methods stop, from 0 to below 1 (default: 1e-5 for dual, 1e-6 for the exact methods).")
    var gap: Double?

    @Option(name: .customLong("exact-finish-limit"), parsing: .unconditional, help: "The dual finishes a model of at most this many candidates exactly with COIN-OR CBC (1,000 branch-and-bound nodes at most) when its gap is open; 0: never.")
    var exactFinishLimit = ExactFinishOptions().maxCandidates

    @Flag(name: .customLong("no-budget"), help: "Allocate with no budget at all (otherwise a budget, from --budget or the spec, is required).")
    var noBudget = false

    @Flag(help: "Show the MILP solvers' logs.")
    var verbose = false

    @OptionGroup var progressFlag: ProgressFlag

    @OptionGroup var uncertainty: UncertaintyFlags

    func validate() throws {
        if json && out == "-" {
            throw ValidationError("--json prints the summary on standard output, so the allocation cannot go there too: give --out a file name")
        }
        do {
            try options().validate()
        } catch let error as InvalidOption {
            throw ValidationError(commandLineMessage(error))
        }
        if noBudget && problem.budget != nil { throw ValidationError("--no-budget and --budget contradict each other") }
        if problem.budget == nil && problem.spec == nil && !noBudget {
            throw ValidationError(Self.noBudgetMessage)
        }
        if let profile, Snapshot.parseProfile(profile) == nil {
            throw ValidationError("--profile '\(profile)' is not a list of comma-separated weights >= 0 with a positive sum")
        }
        if profile != nil && snapshot == nil { throw ValidationError("--profile is the spend plan of a snapshot: give --snapshot FILE too") }
        try checkDistinctPaths(inputs: [problem.scores, problem.spec], outputs: [out, summary, snapshot])
    }

    static let noBudgetMessage = "no budget: give --budget, budgets in --spec, or --no-budget to allocate without any"

    func options() -> SolveOptions {
        var options = SolveOptions(seed: seed)
        if let threads { options.threads = threads }
        options.timeLimit = timeLimit
        options.exactFinish.maxCandidates = exactFinishLimit
        options.milp.verbose = verbose
        if let gap { options.setGap(gap) }
        return options
    }

    func run() throws {
        try runReportingErrors {
            let method = method.method
            let allocationPath = out ?? (json ? nil : "-")
            for path in [allocationPath, summary, snapshot].compactMap({ $0 }) { try AtomicFile.checkWritable(path) }
            let progress = progressFlag.line()
            var uncertain = uncertainty.options.isActive
                ? try self.problem.loadUncertain(options: uncertainty.options, threads: options().threads, progress: progress) : nil
            if uncertain?.needsPreparation == true {
                progress.begin("solving on folds of the draws")
                let foldOptions = options()
                try uncertain?.prepare(seed: seed) { p in
                    let s = try Allot.solve(p, method: method, options: foldOptions)
                    if let message = s.noAllocationMessage { throw SolveError("on a fold of the draws: " + message) }
                    return s.allocation.candidates
                }
                progress.end()
            }
            let problem = try uncertain?.problem ?? problem.load(progress: progress)
            if problem.budgets.isEmpty && !noBudget {
                Terminal.error(Self.noBudgetMessage + " (\(self.problem.spec ?? "the spec") names none)")
                throw ExitCode(64)
            }
            var solveOptions = options()
            solveOptions.dual.progress = progress.enabled ? Self.report(progress) : nil
            solveOptions.milp.progress = solveOptions.dual.progress
            progress.begin("solving with \(method.name)")
            var solution = try Allot.solve(problem, method: method, options: solveOptions)
            try Self.refuseWithoutAllocation(solution)
            solution.expectedObjective = uncertain?.expectedObjective(of: solution.allocation)
            #if DEBUG
            if getenv("ALLOT_TEST_BREAK_ALLOCATION") != nil {
                // For the test of a failed verification only (docs/reliability.md): every candidate.
                // Debug builds only: no release build of allot reads it.
                solution.allocation = Allocation(candidates: Array(0..<problem.candidates.count))
            }
            #endif
            progress.begin("verifying")
            let verifyStart = monotonicSeconds()
            let report = Verifier.verify(problem, solution.allocation)
            let verifySeconds = monotonicSeconds() - verifyStart
            progress.end()
            guard report.isFeasible else {
                Terminal.error("the \(method.name) allocation fails verification; nothing was written:")
                for v in report.violations { Terminal.say("  " + v.description) }
                throw ExitCode(3)
            }
            // Every output is prepared before any is written: a step that fails leaves the old
            // outputs in place.
            var extra: [(path: String, bytes: [UInt8])] = []
            if let snapshot {
                let plan = profile.flatMap(Snapshot.parseProfile) ?? [1]
                extra.append((snapshot, Array(try Snapshot(problem: problem, solution: solution, profile: plan).json().utf8)))
            }
            let files = try OutputFiles(problem: problem, solution: solution, report: report,
                                        allocationPath: allocationPath, summaryPath: summary, summaryToStandardOutput: json,
                                        extraOutputs: extra)
            let description = describe(files.summary, verifySeconds: verifySeconds)
            try files.commit()
            Terminal.say(description)
        }
    }
}

extension Solve {
    /// Exit status 4: the constraints admit no allocation (proven); 5: none was found within
    /// the limits and none was proven impossible (docs/cli.md).
    static let infeasibleStatus: Int32 = 4, searchFailedStatus: Int32 = 5

    /// Ends the run, writing nothing, when the method found no allocation that meets every
    /// floor: one line naming the floor out of reach (status 4), or saying that only the
    /// search failed (status 5).
    static func refuseWithoutAllocation(_ solution: Solution) throws {
        guard let message = solution.noAllocationMessage else { return }
        Terminal.error(message + "; nothing was written")
        throw ExitCode(solution.status == .infeasible ? infeasibleStatus : searchFailedStatus)
    }

    /// Shows the solver's progress events on `line`.
    static func report(_ line: ProgressLine) -> ProgressHandler {
        { event in
            switch event {
            case let .dualSweep(sweep, bound, gap):
                line.update("sweep \(sweep), bound \(human(bound))" + (gap.map { ", gap \(percent($0))" } ?? ""))
            case .recovery:
                line.update("recovering an allocation")
            case let .milp(incumbent, bound):
                line.update("exact search: best \(incumbent.map(human) ?? "none yet")" + (bound.map { ", bound \(human($0))" } ?? ""),
                            phase: "exact")
            case let .polish(incumbent, bound):
                line.update("polishing: best \(incumbent.map(human) ?? "none yet")"
                                + (bound.map { ", at most \(human($0)) with the other users fixed" } ?? ""),
                            phase: "polish")
            case let .exactPhase(words):
                line.update(words, phase: words)
            }
        }
    }
}

/// The short human summary printed on standard error.
func describe(_ s: Summary, verifySeconds: Double) -> String {
    // The summary's status in words ("feasible_at_limit" is for programs).
    let status = s.status == SolveStatus.feasibleAtLimit.rawValue ? "feasible (stopped at the time limit)" : s.status
    var lines = ["\(s.method): objective \(human(s.objective)), \(status), \(count(s.assignments)) assignments to \(count(s.usersReached)) users"]
    for b in s.budgets {
        var line = "  \(b.name): spend \(human(b.spend)) of \(human(b.limit))"
        if let p = b.shadowPrice { line += ", shadow price \(significant(p))" }
        lines.append(line)
    }
    if let bound = s.upperBound, let gap = s.relativeGap {
        lines.append("  upper bound \(human(bound)), gap \(percent(gap))")
    }
    if let tolerance = s.gapTolerance { lines.append("  optimal within the relative gap tolerance \(percent(tolerance))") }
    for note in s.notes { lines.append("  note: " + note) }
    let expected = s.expectedObjective.map { "objective \(human(s.objective)), " + describeExpected($0) + "; " } ?? ""
    lines.append("  \(s.feasible ? "feasible" : "INFEASIBLE"); \(expected)solved in \(seconds(s.wallSeconds)), verified in \(seconds(verifySeconds))")
    return lines.joined(separator: "\n")
}

/// Seconds for people: 3 significant digits, at least 0.001 s.
func seconds(_ x: Double) -> String {
    var text = significant(max(x, 0.001), 3)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text + " s"
}
