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
        // Issue 25, finding 10: the default dual finishes this small model exactly, and says so.
        #expect(summary["status"] as? String == "optimal")
        #expect(summary["relative_gap"] as? Double == 0)
        let note = (summary["notes"] as? [String])?.last ?? ""
        #expect(note.hasPrefix("the model is small (36 candidates), so COIN-OR CBC finished it exactly: 548.90 is optimal (the dual alone reached "),
                "\(note)")
        let cbc = try AllotBinary.run(["solve", "scores.csv", "--spec", "spec.json", "--method", "milp-cbc", "--gap", "0",
                                       "--out", dir.path("cbc.csv")], in: Self.folder)
        #expect(cbc.status == 0)
        #expect(dir.read("cbc.csv") == expected)
        let e = try AllotBinary.run(["evaluate", "scores.csv", dir.path("allocation.csv"), "--spec", "spec.json"], in: Self.folder)
        #expect(e.status == 0)
    }

    /// `--exact-finish-limit 0`: the dual alone, with its open gap; a negative limit is a usage error.
    @Test func theFinishCanBeTurnedOff() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let r = try AllotBinary.run(["solve", "scores.csv", "--spec", "spec.json", "--exact-finish-limit", "0",
                                     "--out", dir.path("allocation.csv"), "--json"], in: Self.folder)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(summary["status"] as? String == "feasible")
        #expect((summary["relative_gap"] as? Double ?? 0) > 0.01)
        #expect(!(summary["notes"] as? [String] ?? []).contains { $0.contains("COIN-OR CBC") })
        let bad = try AllotBinary.run(["solve", "scores.csv", "--spec", "spec.json", "--exact-finish-limit", "-1"], in: Self.folder)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--exact-finish-limit is -1; it must be a whole number >= 0"), "\(bad.stderr)")
    }
}
