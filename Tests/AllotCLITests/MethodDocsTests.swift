import Allot
import AllotTestSupport
import Foundation
import Testing

/// docs/cli.md lists the methods of `MethodRegistry.standard`, each with its own summary: the
/// registry is the one list, and the docs follow it.
@Suite struct MethodDocsTests {
    @Test func cliDocsListEveryRegisteredMethodWithItsSummary() throws {
        let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        let rows = docs.split(separator: "\n").filter { $0.hasPrefix("| `") }.map(String.init)
        let expected = MethodRegistry.standard.methods.map { method -> String in
            var label = "`\(method.name)`"
            if method.name == "dual" { label += " (default)" }
            let aliases = MethodRegistry.standard.aliases.filter { $0.value == method.name }.keys.sorted()
            if !aliases.isEmpty { label += " (" + aliases.map { "`\($0)`" }.joined(separator: ", ") + ")" }
            return "| \(label) | \(method.summary) |"
        }
        #expect(rows == expected)
    }
}
