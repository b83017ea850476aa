import AllotCore
/// A solve's files, the allocation CSV and the summary JSON, prepared in memory and then
/// committed together.
///
///     let files = try OutputFiles(problem: problem, solution: solution, report: report,
///                                 allocationPath: "allocation.csv", summaryPath: "summary.json")
///     try files.commit()
///
/// Preparing does no I/O, so everything that can fail before the write has failed by then.
/// `commit()` writes every file to a temporary file and flushes it before any is renamed into
/// place: a failure leaves the previous outputs untouched (docs/reliability.md). The summary
/// records the allocation file's SHA-256 and row count, so a consumer can detect a mismatched
/// pair.
public struct OutputFiles: Sendable {
    /// The summary that `commit()` writes.
    public let summary: Summary
    private let outputs: [Output]

    private struct Output: Sendable {
        var path: String
        var bytes: [UInt8]
    }

    /// Prepares the files.
    ///
    /// - Parameters:
    ///   - problem: the problem solved.
    ///   - solution: what the method returned.
    ///   - report: the verifier's report on `solution.allocation`; it must be feasible.
    ///   - allocationPath: where the allocation CSV goes (nil for nowhere, `-` for standard output).
    ///   - summaryPath: where the summary JSON goes (nil for nowhere, `-` for standard output).
    ///   - summaryToStandardOutput: also print the summary JSON on standard output.
    ///   - allocationBytes: the allocation file's bytes when it is not the CSV that Allot renders
    ///     (Python's Parquet allocation); the summary's `allocation_sha256` is theirs.
    ///   - extraOutputs: further files written with the others, all or none (a snapshot).
    /// - Throws: `SolveError` when the report is not feasible.
    /// - Complexity: O(allocation size).
    public init(problem: Problem, solution: Solution, report: VerificationReport,
                allocationPath: String?, summaryPath: String?, summaryToStandardOutput: Bool = false,
                allocationBytes: [UInt8]? = nil, extraOutputs: [(path: String, bytes: [UInt8])] = []) throws {
        guard report.isFeasible else {
            throw SolveError("the \(solution.method) allocation fails verification; nothing was written")
        }
        let allocationBytes = allocationBytes ?? AllocationFile.render(problem, solution.allocation)
        summary = Summary(problem: problem, solution: solution, report: report,
                          allocationFile: allocationPath == nil ? nil : allocationBytes)
        let summaryBytes = Array(summary.json().utf8)
        var outputs: [Output] = []
        if let allocationPath { outputs.append(Output(path: allocationPath, bytes: allocationBytes)) }
        if let summaryPath { outputs.append(Output(path: summaryPath, bytes: summaryBytes)) }
        if summaryToStandardOutput { outputs.append(Output(path: "-", bytes: summaryBytes)) }
        outputs += extraOutputs.map { Output(path: $0.path, bytes: $0.bytes) }
        self.outputs = outputs
    }

    /// Writes every file, all or none.
    ///
    /// `installingSignalHandlers: false` is for a host process (Python) that keeps its own
    /// SIGINT and SIGTERM handlers (docs/reliability.md).
    /// - Throws: `InputError` naming a path that cannot be written.
    public func commit(installingSignalHandlers: Bool = true) throws {
        try AtomicFile.commit(outputs.map { ($0.path, $0.bytes) }, installingSignalHandlers: installingSignalHandlers)
    }

    /// Refuses two outputs that name the same file (after resolving `.`, `..` and links), as
    /// the CLI does before any work: the second would silently replace the first.
    /// - Throws: `InputError` naming both.
    public static func checkDistinct(_ paths: [String]) throws {
        var seen: [String: String] = [:]
        for path in paths {
            guard let id = AtomicFile.identity(path) else { continue }
            if let other = seen[id] {
                throw InputError(file: path, "cannot write output: it is the same file as the other output '\(other)'")
            }
            seen[id] = path
        }
    }

    /// Checks, before any work, that `path` can be written: its directory exists and is
    /// writable, and it is absent or a regular file (`-` is standard output).
    /// - Throws: `InputError` naming `path`.
    public static func checkWritable(_ path: String) throws { try AtomicFile.checkWritable(path) }
}
