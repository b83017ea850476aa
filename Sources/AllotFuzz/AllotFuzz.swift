// libFuzzer target over the scores reader, the spec parser, the solvers, the verifier and the
// output writers. Built only when ALLOT_FUZZ is set (docs/fuzzing.md):
//
//   ALLOT_FUZZ=1 swift build -c release --product AllotFuzz --scratch-path .build-fuzz \
//       -Xswiftc -sanitize=fuzzer,address
//   .build-fuzz/release/AllotFuzz Fuzz/corpus -dict=Fuzz/allot.dict -max_total_time=60
//
// One input is a spec and a scores file separated by the bytes FF 00 FF (no separator: all
// scores, no spec). A crash, a sanitizer report or a failed check below is a finding.
import Allot

#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM renames an executable target's entry point to `<target>_main`; libFuzzer's own
/// `main` never runs, so this one hands over to its driver.
@_cdecl("AllotFuzz_main")
public func allotFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size))
        FuzzOne.run(bytes)
        return 0
    }
}

enum FuzzOne {
    static let separator: [UInt8] = [0xFF, 0x00, 0xFF]
    static let maxCandidates = 5_000

    static func run(_ bytes: [UInt8]) {
        var spec: [UInt8]?
        var scores = bytes
        if let k = firstIndex(of: separator, in: bytes) {
            spec = Array(bytes[..<k])
            scores = Array(bytes[(k + separator.count)...])
        }
        let problem: Problem
        do {
            problem = try ProblemLoader.load(scores: InputBytes(name: "scores.csv", bytes: scores),
                                             spec: spec.map { InputBytes(name: "spec.json", bytes: $0) })
        } catch let error as InputError {
            check(!error.description.contains("\n") && !error.description.contains("\r"), "multi-line error: \(error)")
            return
        } catch {
            check(false, "unexpected error type: \(error)")
            return
        }
        guard problem.candidates.count <= maxCandidates else { return }
        var options = SolveOptions(seed: 1)
        options.threads = 1
        // The dual itself: its exact finish runs CBC on small models, which is outside this
        // target (CBC leaks 160 bytes on some inputs, a LeakSanitizer report; docs/fuzzing.md).
        options.exactFinish.maxCandidates = 0
        var values: [(String, Double)] = []
        var dualBound: Double?
        for name in ["dual", "greedy-marginal", "greedy-ratio", "random"] {
            let method = MethodRegistry.standard.method(named: name)!
            let solution: Solution
            do {
                solution = try Allot.solve(problem, method: method, options: options)
            } catch {
                check(false, "\(name) threw: \(error)")
                return
            }
            let report = Verifier.verify(problem, solution.allocation)
            check(report.isFeasible, "\(name) allocation fails verification: \(report.violations.first.map(String.init(describing:)) ?? "")")
            values.append((name, report.objective))
            if name == "dual" { dualBound = solution.upperBound }
            // The outputs render, and the allocation file reads back to the same allocation.
            let file = AllocationFile.render(problem, solution.allocation)
            do {
                let back = try AllocationFile.read(InputBytes(name: "allocation.csv", bytes: file), for: problem)
                check(back == solution.allocation, "\(name) allocation file does not read back")
            } catch {
                check(false, "\(name) allocation file does not read back: \(error)")
            }
            _ = Summary(problem: problem, solution: solution, report: report, allocationFile: file).json()
        }
        // The dual's bound is at least every method's value (up to rounding of the sums).
        if let bound = dualBound, bound.isFinite {
            for (name, value) in values where value.isFinite {
                check(value <= bound + 1e-6 * max(1, abs(bound)), "\(name) value \(value) above the dual bound \(bound)")
            }
        }
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition {
            let line = "AllotFuzz check failed: \(message())\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            abort()
        }
    }
}
