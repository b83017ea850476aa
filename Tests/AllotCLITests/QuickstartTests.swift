import AllotTestSupport
import Foundation
import Testing

/// examples/quickstart, run exactly as its README says.
@Suite struct QuickstartTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/quickstart")

    @Test func solveMatchesTheExpectedAllocation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let r = try AllotBinary.run(["solve", "scores.csv", "--spec", "spec.json", "--out", dir.path("allocation.csv"),
                                     "--summary", dir.path("summary.json")], in: Self.folder)
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try String(contentsOf: Self.folder.appendingPathComponent("expected-allocation.csv"), encoding: .utf8)
        #expect(dir.read("allocation.csv") == expected)
        #expect(try summarySchemaViolations(dir.read("summary.json")!) == [])
        let summary = try JSONSerialization.jsonObject(with: Data(dir.read("summary.json")!.utf8)) as! [String: Any]
        #expect(summary["feasible"] as? Bool == true)
        let e = try AllotBinary.run(["evaluate", "scores.csv", dir.path("allocation.csv"), "--spec", "spec.json"], in: Self.folder)
        #expect(e.status == 0)
    }
}
