import AllotTestSupport
import Foundation
import Testing

/// `allot export` round-trips through the command-line solvers.
@Suite struct ExportTests {
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The objective glpsol writes in its solution file, or cbc prints.
    static func objective(_ text: String, after marker: String) -> Double? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) else { return nil }
        return line.split(whereSeparator: { $0 == " " || $0 == "=" || $0 == ":" }).compactMap { Double($0) }.first
    }

    @Test(arguments: ["lp", "mps"])
    func exportedModelSolvesToTheSameOptimum(format: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(try AllotBinary.run(["generate", "--users", "30", "--coupons", "4", "--channels", "push,email", "--seed", "5", "--out", "s.csv"], in: dir.url).status == 0)
        try dir.write("spec.json", #"{"budgets":[{"name":"cash","limit":60}],"max_per_user":2,"channel_caps":{"push":1},"coupon_caps":{"c4":5},"min_roi":2}"#)
        let solved = try AllotBinary.run(["solve", "s.csv", "--spec", "spec.json", "--method", "milp-cbc", "--gap", "0", "--json"], in: dir.url)
        #expect(solved.status == 0, "\(solved.stderr)")
        #expect(try summarySchemaViolations(solved.stdout) == [])
        let optimum = try #require((try JSONSerialization.jsonObject(with: Data(solved.stdout.utf8)) as? [String: Any])?["objective"] as? Double)
        let exported = try AllotBinary.run(["export", "s.csv", "--spec", "spec.json", "--format", format, "--out", "model.\(format)"], in: dir.url)
        #expect(exported.status == 0, "\(exported.stderr)")
        // Issue 25, finding 11: the message names the file it wrote.
        #expect(exported.stderr.hasPrefix("wrote model.\(format): "), "\(exported.stderr)")
        #expect(exported.stderr.hasSuffix(" rows\n"), "\(exported.stderr)")
        // MPS carries the objective negated (see docs/file-formats.md).
        let sign = format == "mps" ? -1.0 : 1.0
        _ = try Self.run("glpsol", [format == "lp" ? "--lp" : "--freemps", dir.path("model.\(format)"), "-o", dir.path("glpk.sol")])
        let glpk = try #require(Self.objective(dir.read("glpk.sol") ?? "", after: "Objective:"))
        #expect(abs(sign * glpk - optimum) < TestTolerance.exactGap * max(1, optimum), "glpsol \(glpk) vs \(optimum)")
        let cbcOutput = try Self.run("cbc", [dir.path("model.\(format)"), "solve", "quit"])
        let cbc = try #require(Self.objective(cbcOutput, after: "Objective value:"))
        #expect(abs(sign * cbc - optimum) < TestTolerance.exactGap * max(1, optimum), "cbc \(cbc) vs \(optimum)")
    }
}
