import Allot
import Foundation
import ArgumentParser

struct FrontierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontier",
        abstract: "Objective against budget for each method, with the dual's bound and shadow price: what does the next unit of budget buy?",
        discussion: """
            Varies the limit of the first budget (the one on cost, from --spec or --budget), solving and verifying every method at every budget: the dual's point is what `allot solve` returns at that budget. Writes a CSV (method,budget,objective,spend,upper_bound,shadow_price), an SVG chart and a self-contained HTML report that opens with a one-line takeaway.

            With --floor-range NAME:LO:HI:STEPS it varies a floor instead (the min of a constraint, a budget's spend floor, or a coupon floor) and writes the CSV method,floor,status,objective,upper_bound,cost_per_unit: what each unit of coverage costs in incremental GMV (a level no allocation meets has status infeasible).

            Example:
              allot frontier scores.csv --budget-range 1000:20000:20 \\
                --methods dual,greedy-marginal,greedy-ratio \\
                --csv frontier.csv --svg frontier.svg --html frontier.html
            """
    )

    @OptionGroup var problem: ProblemOptions
    @Option(help: "Comma-separated budgets, e.g. 5000,10000,20000 (this or --budget-range is required).") var budgets: String?
    @Option(name: .customLong("budget-range"), help: "LO:HI:STEPS: STEPS evenly spaced budgets from LO to HI, e.g. 2000:20000:7.") var budgetRange: String?
    @Option(help: "Comma-separated methods (default: dual,greedy-marginal,greedy-ratio; with --floor-range: milp-cbc,greedy-floors).", transform: MethodList.parse) var methods: MethodList?
    @Option(name: .customLong("floor-range"), help: ArgumentHelp("Sweep a floor instead of the budget: STEPS evenly spaced levels from LO to HI of the min of the constraint, budget or coupon NAME, e.g. new_users:0:5000:6; writes the CSV method,floor,status,objective,upper_bound,cost_per_unit.", valueName: "NAME:LO:HI:STEPS")) var floorRange: String?
    @OptionGroup var progressFlag: ProgressFlag
    @Option(help: "CSV output ('-' for standard output; the default when no output is named).") var csv: String?
    @Option(help: "SVG chart output.") var svg: String?
    @Option(help: "HTML report output.") var html: String?

    func levels() throws -> [Double] {
        if let budgets {
            let values = budgets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--budgets must be comma-separated numbers >= 0")
            }
            return values.map { $0! }.sorted()
        }
        if let budgetRange {
            let parts = budgetRange.split(separator: ":").map { Double($0) }
            guard parts.count == 3, let lo = parts[0], let hi = parts[1], let steps = parts[2], lo >= 0, hi >= lo, steps >= 1, steps == steps.rounded() else {
                throw ValidationError("--budget-range must be LO:HI:STEPS with 0 <= LO <= HI and STEPS a whole number >= 1")
            }
            let n = Int(steps)
            return n == 1 ? [hi] : (0..<n).map { lo + (hi - lo) * Double($0) / Double(n - 1) }
        }
        throw ValidationError("give --budgets or --budget-range")
    }

    /// `--floor-range`'s floor and levels.
    func floorLevels() throws -> (name: String, levels: [Double])? {
        guard let floorRange else { return nil }
        let parts = floorRange.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, !parts[0].isEmpty, let lo = Double(parts[1]), let hi = Double(parts[2]), let steps = Double(parts[3]),
              lo.isFinite, hi.isFinite, hi >= lo, steps >= 1, steps == steps.rounded(), steps <= 10_000 else {
            throw ValidationError("--floor-range must be NAME:LO:HI:STEPS with LO <= HI finite and STEPS a whole number from 1 to 10000, e.g. new_users:0:5000:6")
        }
        let n = Int(steps)
        return (parts[0], n == 1 ? [hi] : (0..<n).map { lo + (hi - lo) * Double($0) / Double(n - 1) })
    }

    func validate() throws {
        if floorRange != nil {
            _ = try floorLevels()
            if budgets != nil || budgetRange != nil { throw ValidationError("--floor-range sweeps a floor at the spec's budgets: give it without --budgets or --budget-range") }
            if svg != nil || html != nil { throw ValidationError("--svg and --html chart the budget frontier; --floor-range writes the CSV (--csv)") }
            try checkDistinctPaths(inputs: [problem.scores, problem.spec], outputs: [csv])
            return
        }
        _ = try levels()
        try checkDistinctPaths(inputs: [problem.scores, problem.spec], outputs: [csv, svg, html])
    }

    func run() throws {
        try runReportingErrors {
            for path in [csv, svg, html].compactMap({ $0 }) { try AtomicFile.checkWritable(path) }
            let progress = progressFlag.line()
            if let (name, levels) = try floorLevels() {
                try sweepFloor(name, levels, try problem.load(progress: progress), progress)
                return
            }
            let methods = methods ?? MethodList([MethodRegistry.defaultMethod, BaselineMethod.greedyMarginal, BaselineMethod.greedyRatio])
            let problem = try Frontier.withBudget(try problem.load(progress: progress))
            progress.begin("frontier")
            let points = try Frontier.compute(problem, budgets: try levels(),
                                              methods: methods.methods) { point, _, done, total in
                progress.update("\(done) of \(total) points (\(point.method) at \(significant(point.budget)))")
            }
            progress.end()
            let name = problem.budgets[0].name
            var wrote: [String] = []
            if let svg {
                try AtomicFile.write(FrontierChart.svg(points, budgetName: name), to: svg)
                wrote.append(svg)
            }
            if let html {
                let title = "Allot budget frontier: \(relativePath(self.problem.scores))"
                try AtomicFile.write(FrontierChart.html(points, title: title, budgetName: name), to: html)
                wrote.append(html)
            }
            if csv != nil || (svg == nil && html == nil) {
                try AtomicFile.write(Frontier.csv(points), to: csv ?? "-")
                if let csv, csv != "-" { wrote.append(csv) }
            }
            if let line = FrontierChart.takeaway(points, budgetName: name) { Terminal.say(line) }
            if !wrote.isEmpty { Terminal.say("wrote \(points.count) points to \(wrote.joined(separator: ", "))") }
        }
    }
}

extension FrontierCommand {
    /// `--floor-range`: every method at every level of the floor, to the CSV, and a line on
    /// what the last step of the floor costs.
    func sweepFloor(_ name: String, _ levels: [Double], _ problem: Problem, _ progress: ProgressLine) throws {
        let methods = methods ?? MethodList([MILPMethod(backend: CBCBackend()), BaselineMethod.greedyFloors])
        progress.begin("floor sweep")
        let points = try FloorSweep.compute(problem, floor: name, levels: levels, methods: methods.methods) { point, done, total in
            progress.update("\(done) of \(total) points (\(point.method) at \(significant(point.floor)))")
        }
        progress.end()
        try AtomicFile.write(FloorSweep.csv(points), to: csv ?? "-")
        let first = methods.methods[0].name
        if let last = points.last(where: { $0.method == first && $0.costPerUnit != nil }) {
            func number(_ x: Double) -> String { x == x.rounded() ? Readable.grouped(x, decimals: 0) : Readable.significant(x, 4) }
            Terminal.say("\(first): raising \(name) to \(number(last.floor)) costs \(number(last.costPerUnit!)) incremental GMV per unit")
        }
        if let csv, csv != "-" { Terminal.say("wrote \(points.count) points to \(csv)") }
    }
}

/// `path` relative to the current directory when it lies inside it, otherwise its last component.
func relativePath(_ path: String) -> String {
    guard path.hasPrefix("/") else { return path }
    let here = FileManager.default.currentDirectoryPath
    if path.hasPrefix(here + "/") { return String(path.dropFirst(here.count + 1)) }
    return URL(fileURLWithPath: path).lastPathComponent
}
