import AllotCore
import Foundation

/// The replay's report as text, JSON, and a self-contained HTML page with the spend path chart
/// (the style of `allot frontier`'s report: a one-line takeaway, an SVG chart, a table; no
/// scripts, no network fetches).
public enum ReplayChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c"]

    /// One line per policy: GMV, share of the hindsight optimum, final spend of each budget.
    public static func text(_ r: Replay.Report) -> String {
        var lines = ["\(r.arrivals) arrivals (forecast \(r.forecastUsers) users); hindsight optimum \(fmt(r.hindsight))"
                     + r.budgets.indices.map { ", \(r.budgets[$0].name) \(fmt(r.hindsightSpend[$0])) of \(fmt(r.budgets[$0].limit))" }.joined()]
        for run in r.runs {
            var line = "  \(run.policy): GMV \(fmt(run.gmv)) (\(pct(run.gmv / max(r.hindsight, 1e-12))) of hindsight)"
            for (b, budget) in r.budgets.enumerated() {
                line += ", \(budget.name) \(fmt(run.spend[b])) (\(pct(run.spend[b] / max(budget.limit, 1e-12))) of the limit)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON: totals, and the spend paths with the plan.
    public static func json(_ r: Replay.Report) -> String {
        struct Run: Encodable { var policy: String; var gmv: Double; var gmv_share_of_hindsight: Double; var spend: [String: Double]; var assignments: Int; var path: [[Double]] }
        struct Doc: Encodable {
            var arrivals: Int; var forecast_users: Int; var hindsight_gmv: Double; var hindsight_spend: [String: Double]
            var limits: [String: Double]; var times: [Double]; var planned_fraction: [Double]; var runs: [Run]
        }
        let names = r.budgets.map(\.name)
        func named(_ v: [Double]) -> [String: Double] { Dictionary(uniqueKeysWithValues: zip(names, v)) }
        return prettyJSON(Doc(arrivals: r.arrivals, forecast_users: r.forecastUsers, hindsight_gmv: r.hindsight,
                              hindsight_spend: named(r.hindsightSpend), limits: named(r.budgets.map(\.limit)),
                              times: r.times, planned_fraction: r.planned,
                              runs: r.runs.map { Run(policy: $0.policy, gmv: $0.gmv, gmv_share_of_hindsight: $0.gmv / max(r.hindsight, 1e-12),
                                                     spend: named($0.spend), assignments: $0.assignments, path: $0.path) }))
    }

    /// The HTML report: takeaway, one spend-path panel per budget (plan dashed), a table.
    public static func html(_ r: Replay.Report) -> String {
        let best = r.runs.max { $0.gmv < $1.gmv }!
        var out = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>allot replay</title>"
        out += "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        out += "<h1>Replay: \(r.arrivals) arrivals against a forecast of \(r.forecastUsers) users</h1>"
        out += "<p class=\"takeaway\">\(escape(best.policy)) gives the most incremental GMV, \(pct(best.gmv / max(r.hindsight, 1e-12))) of the hindsight optimum \(fmt(r.hindsight)).</p>"
        for (b, budget) in r.budgets.enumerated() { out += panel(r, budget: b, name: budget.name, limit: budget.limit) }
        out += "<table><tr><th>policy</th><th>GMV</th><th>of hindsight</th>" + r.budgets.map { "<th>\(escape($0.name)) spend</th>" }.joined() + "</tr>"
        for run in r.runs {
            out += "<tr><td>\(escape(run.policy))</td><td>\(fmt(run.gmv))</td><td>\(pct(run.gmv / max(r.hindsight, 1e-12)))</td>"
                + run.spend.map { "<td>\(fmt($0))</td>" }.joined() + "</tr>"
        }
        out += "<tr><td>hindsight optimum</td><td>\(fmt(r.hindsight))</td><td>100%</td>" + r.hindsightSpend.map { "<td>\(fmt($0))</td>" }.joined() + "</tr>"
        return out + "</table></body></html>\n"
    }

    static func panel(_ r: Replay.Report, budget b: Int, name: String, limit: Double) -> String {
        let width = 900.0, height = 360.0, left = 80.0, right = 200.0, top = 30.0, bottom = 320.0
        let yMax = max(limit, r.runs.flatMap { $0.path.map { $0[b] } }.max() ?? 0, 1e-9) * 1.05
        func x(_ t: Double) -> Double { left + t * (width - left - right) }
        func y(_ v: Double) -> Double { bottom - v / yMax * (bottom - top) }
        func points(_ values: [Double]) -> String {
            ([(0.0, 0.0)] + zip(r.times, values).map { ($0, $1) }).map { "\(Int(x($0.0))),\(Int(y($0.1)))" }.joined(separator: " ")
        }
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 \#(Int(width)) \#(Int(height))" font-size="13">"#
        svg += #"<g class="panel" data-budget="\#(escape(name))"><text x="\#(Int(left))" y="18">spend of \#(escape(name)) over the day</text>"#
        svg += #"<line x1="\#(Int(left))" y1="\#(Int(bottom))" x2="\#(Int(width - right))" y2="\#(Int(bottom))" stroke="black"/>"#
        svg += #"<line x1="\#(Int(left))" y1="\#(Int(top))" x2="\#(Int(left))" y2="\#(Int(bottom))" stroke="black"/>"#
        svg += #"<line class="limit" x1="\#(Int(left))" y1="\#(Int(y(limit)))" x2="\#(Int(width - right))" y2="\#(Int(y(limit)))" stroke="gray"/>"#
        svg += #"<text x="4" y="\#(Int(y(limit)) + 4)">\#(fmt(limit))</text><text x="\#(Int(left))" y="\#(Int(bottom) + 18)">start of day</text><text x="\#(Int(width - right) - 60)" y="\#(Int(bottom) + 18)">end of day</text>"#
        svg += #"<polyline class="plan" fill="none" stroke="black" stroke-dasharray="6,4" points="\#(points(r.planned.map { $0 * limit }))"/>"#
        svg += #"<text x="\#(Int(width - right) + 10)" y="\#(Int(top) + 10)">- - plan</text>"#
        for (k, run) in r.runs.enumerated() {
            let color = palette[k % palette.count]
            svg += #"<polyline class="spend" fill="none" stroke="\#(color)" stroke-width="2" points="\#(points(run.path.map { $0[b] }))"/>"#
            svg += #"<text x="\#(Int(width - right) + 10)" y="\#(Int(top) + 30 + 20 * k)" fill="\#(color)">\#(escape(run.policy))</text>"#
        }
        return svg + "</g></svg>"
    }

    static func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
    static func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
