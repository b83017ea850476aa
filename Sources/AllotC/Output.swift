// allot_result_write (allot.h): a result's files, written by the library's OutputFiles so that
// Python's Result.write keeps the CLI's rules (docs/reliability.md): an atomic pair, only
// regular files replaced, two outputs never the same file, allocation_sha256 in the summary, the
// umask respected.

import Allot

/// What a result keeps to prepare the CLI's files: the problem, the method's solution and the
/// verifier's report. Immutable.
struct SolvedProblem: Sendable {
    let problem: Problem
    let solution: Solution
    let report: VerificationReport
}

@_cdecl("allot_result_write")
public func allot_result_write(_ r: OpaquePointer?, _ allocationPath: UnsafePointer<CChar>?,
                               _ allocationBytes: UnsafePointer<UInt8>?, _ allocationLength: Int64,
                               _ summaryPath: UnsafePointer<CChar>?) -> Int32 {
    let status = guarded(Int32(-1)) {
        let result = try resultHandle(r)
        guard let solved = result.solved else { throw argument("the result has no solve to write") }
        let allocation = try allocationPath.map { try string($0, "allocation_path") }
        let summary = try summaryPath.map { try string($0, "summary_path") }
        guard allocation != nil || summary != nil else { throw argument("allocation_path and summary_path are both NULL") }
        guard allocationLength >= 0 else { throw argument("allocation_length is \(allocationLength); it must be >= 0") }
        if allocationLength > 0 && allocationBytes == nil { throw argument("allocation_bytes is NULL") }
        let given: [UInt8]? = allocationBytes.map { Array(UnsafeBufferPointer(start: $0, count: Int(allocationLength))) }
        let paths = [allocation, summary].compactMap { $0 }
        try OutputFiles.checkDistinct(paths)
        for path in paths { try OutputFiles.checkWritable(path) }
        let files = try OutputFiles(problem: solved.problem, solution: solved.solution, report: solved.report,
                                    allocationPath: allocation, summaryPath: summary, allocationBytes: given)
        try files.commit(installingSignalHandlers: false)
        return ErrorCode.ok.rawValue
    }
    return status == -1 ? threadLastError().code : status
}
