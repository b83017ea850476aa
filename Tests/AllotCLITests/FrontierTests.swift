import Allot
import AllotTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Collects the panels and their polylines of a frontier SVG.
private final class SVGReader: NSObject, XMLParserDelegate {
    struct Panel { var name: String; var attributes: [String: Double]; var series: [String: [(Double, Double)]] = [:] }
    var panels: [Panel] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "g", attributes["class"] == "panel" {
            let numbers = attributes.compactMapValues { Double($0) }
            panels.append(Panel(name: attributes["data-name"] ?? "", attributes: numbers))
        }
        if name == "polyline", attributes["class"] == "series", let method = attributes["data-method"], !panels.isEmpty {
            let points = (attributes["points"] ?? "").split(separator: " ").map { pair -> (Double, Double) in
                let xy = pair.split(separator: ",").map { Double($0)! }
                return (xy[0], xy[1])
            }
            panels[panels.count - 1].series[method] = points
        }
    }
}

@Suite struct FrontierTests {
    @Test func chartPlotsTheCSV() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(try AllotBinary.run(["generate", "--users", "1500", "--coupons", "5", "--seed", "3", "--out", "s.csv"], in: dir.url).status == 0)
        let r = try AllotBinary.run(["frontier", "s.csv", "--budget-range", "200:4000:6", "--methods", "dual,greedy-marginal,greedy-ratio",
                                     "--csv", "f.csv", "--svg", "f.svg", "--html", "f.html"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasSuffix("wrote 18 points to f.svg, f.html, f.csv\n"))
        #expect(r.stderr.hasPrefix("At budget "))
        let rows = dir.read("f.csv")!.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 18)
        let parser = XMLParser(data: Data(dir.read("f.svg")!.utf8))
        let reader = SVGReader()
        parser.delegate = reader
        #expect(parser.parse(), "the SVG is not well-formed XML")
        #expect(reader.panels.map(\.name) == ["objective", "shadow_price"])
        for panel in reader.panels {
            let a = panel.attributes
            // Round axis limits: at most two significant digits.
            for key in ["data-x0", "data-x1", "data-y0", "data-y1"] {
                let v = try #require(a[key])
                let scale = v == 0 ? 1 : pow(10, floor(log10(abs(v))) - 1)
                #expect(abs(v / scale - (v / scale).rounded()) < 1e-6, "\(panel.name) \(key) = \(v)")
            }
            func px(_ x: Double) -> Double { a["data-left"]! + (x - a["data-x0"]!) / (a["data-x1"]! - a["data-x0"]!) * (a["data-right"]! - a["data-left"]!) }
            func py(_ y: Double) -> Double { a["data-bottom"]! - (y - a["data-y0"]!) / (a["data-y1"]! - a["data-y0"]!) * (a["data-bottom"]! - a["data-top"]!) }
            let column = panel.name == "objective" ? 2 : 5
            let methods = panel.name == "objective" ? ["dual", "greedy-marginal", "greedy-ratio"] : ["dual"]
            #expect(Set(panel.series.keys) == Set(methods))
            for method in methods {
                let expected = rows.filter { $0[0] == method }.map { (px(Double($0[1])!), py(Double($0[column])!)) }
                let plotted = try #require(panel.series[method])
                #expect(plotted.count == expected.count)
                for (p, e) in zip(plotted, expected) {
                    #expect(abs(p.0 - e.0) < 1e-6 && abs(p.1 - e.1) < 1e-6, "\(panel.name) \(method): \(p) vs \(e)")
                }
            }
        }
        // The dual's curve is concave and its shadow price falls as the budget grows.
        let dual = rows.filter { $0[0] == "dual" }
        let prices = dual.map { Double($0[5])! }
        #expect(zip(prices, prices.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(dual.allSatisfy { Double($0[2])! <= Double($0[4])! + TestTolerance.reordered })
        // Each dual point is what `allot solve` returns at that budget, and no worse than the greedy methods.
        for row in dual {
            let b = row[1]
            let others = rows.filter { $0[1] == b && $0[0] != "dual" }.map { Double($0[2])! }
            #expect(others.allSatisfy { $0 <= Double(row[2])! + TestTolerance.reordered })
        }
        for row in [dual[1], dual[4]] {
            let s = try AllotBinary.run(["solve", "s.csv", "--budget", row[1], "--json", "--out", "a.csv"], in: dir.url)
            #expect(try summarySchemaViolations(s.stdout) == [])
            let summary = try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as! [String: Any]
            // Foundation's JSONSerialization does not round decimals correctly on Linux (it reads
            // 23173.396500000017 as 23173.396500000013): compare to within that last digit.
            let objective = try #require(summary["objective"] as? Double)
            #expect(abs(objective - Double(row[2])!) <= 1e-14 * abs(objective), "\(objective) vs \(row[2])")
        }
        let html = dir.read("f.html")!
        #expect(html.contains("<svg") && html.contains("<table>"))
        // One row per budget, one column per method; the band and a marker per point.
        #expect(html.components(separatedBy: "<tr>").count - 1 == 7)
        #expect(html.contains("<th>budget</th><th>dual</th><th>greedy-marginal</th><th>greedy-ratio</th>"))
        #expect(html.contains("<h1>Allot budget frontier: s.csv</h1>"))
        #expect(html.contains(#"<p class="takeaway">At budget "#))
        let svg = dir.read("f.svg")!
        #expect(svg.components(separatedBy: #"class="band""#).count - 1 == 1)
        #expect(svg.components(separatedBy: #"class="marker""#).count - 1 >= 18 + 6)
        // Self-contained: no scripts, no external resources.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
    }

    /// Issue 25, finding 12: the report tells the story at the planned budget. The spec's budget
    /// is marked in both panels and its nearest point is the takeaway's and the table's focus; the
    /// break-even budget (where the next unit buys less than it costs: a shadow price of 1) sits
    /// between the last point priced above 1 and the first at or below it; the dual's gain over
    /// each method is in the table, so that curves that coincide on the chart are told apart.
    @Test func reportMarksThePlanAndTheBreakEven() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(try AllotBinary.run(["generate", "--users", "1500", "--coupons", "5", "--seed", "3", "--out", "s.csv"], in: dir.url).status == 0)
        let r = try AllotBinary.run(["frontier", "s.csv", "--budget", "2000", "--budget-range", "200:12000:6",
                                     "--csv", "f.csv", "--svg", "f.svg", "--html", "f.html"], in: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = dir.read("f.csv")!.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let dual = rows.filter { $0[0] == "dual" }.map { (budget: Double($0[1])!, objective: Double($0[2])!, price: Double($0[5])!) }
        let nearest = dual.min { abs($0.budget - 2000) < abs($1.budget - 2000) }!
        let svg = dir.read("f.svg")!
        #expect(svg.components(separatedBy: #"class="planned" data-budget="2000.0""#).count - 1 == 2)
        let takeaway = try #require(r.stderr.split(separator: "\n").first.map(String.init))
        #expect(takeaway.hasPrefix("At budget \(Readable.significant(nearest.budget)) (nearest the planned \(Readable.significant(2000))) the dual buys \(Readable.significant(nearest.objective)) incremental GMV"), "\(takeaway)")
        #expect(takeaway.contains("the last unit of budget returns \(Readable.significant(nearest.price)) per unit"), "\(takeaway)")
        let html = dir.read("f.html")!
        #expect(html.contains(#"<tr class="planned"><td>\#(Readable.significant(nearest.budget)) (planned)</td>"#))
        #expect(html.contains("<th>dual vs greedy-marginal</th><th>dual vs greedy-ratio</th>"))
        #expect(html.contains("(nearest the planned \(Readable.significant(2000)))"))
        // The break-even line at price 1, and the budget where the price crosses it.
        #expect(svg.contains(#"class="break-even""#))
        if let crossing = svg.range(of: #"class="break-even-budget" data-budget=""#) {
            let value = Double(svg[crossing.upperBound...].prefix { $0 != "\"" })!
            let above = dual.filter { $0.price > 1 }, below = dual.filter { $0.price <= 1 }
            #expect(!below.isEmpty)
            #expect(above.allSatisfy { $0.budget < value } && below.allSatisfy { $0.budget >= value }, "\(value) \(dual)")
            #expect(takeaway.contains("break-even at about \(Readable.significant(value))"), "\(takeaway)")
        } else {
            #expect(dual.allSatisfy { $0.price > 1 }, "\(dual)")
            #expect(takeaway.contains("above break-even over the whole range"), "\(takeaway)")
        }
    }
}
