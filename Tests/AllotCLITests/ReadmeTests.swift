import AllotTestSupport
import Foundation
import Testing

/// The README's "Use" section, run verbatim in an empty directory with the built `allot` first
/// on the PATH.
@Suite struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The ```sh blocks between "## Use" and the next "## " heading.
    static func useBlocks() throws -> [String] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "\n## Use\n"))
        let rest = readme[start.upperBound...]
        let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var blocks: [String] = []
        var current: [Substring]?
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" { current = [] }
            else if current != nil, line == "```" { blocks.append(current!.joined(separator: "\n")); current = nil }
            else if current != nil { current!.append(line) }
        }
        return blocks
    }

    @Test func useSectionRunsAsWritten() throws {
        let blocks = try Self.useBlocks()
        #expect(blocks.count >= 5)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let binDir = AllotBinary.url.deletingLastPathComponent().path
        for block in blocks {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-e", "-c", block]
            process.currentDirectoryURL = dir.url
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = binDir + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            process.environment = environment
            let log = dir.url.appendingPathComponent("readme-block.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            process.waitUntilExit()
            try handle.close()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(process.terminationStatus == 0, "README block failed:\n\(block)\n\(output)")
            if process.terminationStatus != 0 { return }
        }
        for file in ["scores.csv", "spec.json", "log.csv", "allocation.csv", "summary.json", "greedy-ratio.csv",
                     "frontier.csv", "frontier.html", "polished.csv", "model.lp",
                     "snapshot.json", "replay.html", "state/journal.jsonl", "floors.csv", "floors-summary.json"] {
            #expect(dir.exists(file), "\(file) was not written")
        }
        #expect(try summarySchemaViolations(dir.read("summary.json") ?? "") == [])
        // The floors' summary: the spend floor and the coupon floor are met.
        #expect(try summarySchemaViolations(dir.read("floors-summary.json") ?? "") == [])
        #expect(dir.read("floors-summary.json")?.contains("\"feasible\" : true") == true)
        #expect((dir.read("floors.csv") ?? "").split(separator: "\n").filter { $0.contains(",c1,") }.count >= 1_500)
    }
}
