import AllotCore

/// The frontier as a self-contained SVG (two panels: objective, and the dual's shadow price,
/// against budget) and as an HTML report (the chart and a table, no network fetches).
///
/// Each panel is a `<g class="panel">` whose `data-x0 data-x1 data-y0 data-y1` attributes give
/// the data ranges mapped to `data-left data-right data-bottom data-top` pixels, so a test can
/// map every polyline point back to data.
public enum FrontierChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    public static func svg(_ points: [FrontierPoint], budgetName: String = "budget") -> String {
        let width = 820.0, height = 640.0, left = 90.0, right = 180.0
        let methods = orderedMethods(points)
        let budgets = points.map(\.budget)
        let x0 = budgets.min() ?? 0, x1 = max(budgets.max() ?? 1, x0 + 1e-9)
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))" font-family="sans-serif" font-size="12">"#
        out += #"<rect width="100%" height="100%" fill="white"/>"#
        out += #"<text x="\#(width / 2)" y="22" text-anchor="middle" font-size="16">What each unit of budget buys</text>"#
        // Top panel: objective.
        let objectives = points.map(\.objective)
        out += panel(title: "incremental GMV", name: "objective", top: 50, bottom: 360, left: left, right: width - right,
                     x0: x0, x1: x1, y0: min(0, objectives.min() ?? 0), y1: max(objectives.max() ?? 1, 1e-9),
                     series: methods.map { m in (m, points.filter { $0.method == m }.map { ($0.budget, $0.objective) }) },
                     xLabel: nil)
        // Bottom panel: the dual's shadow price.
        let priced = points.filter { $0.shadowPrice != nil && $0.method == DualMethod().name }
        let prices = priced.compactMap(\.shadowPrice)
        out += panel(title: "shadow price (GMV per unit of \(escape(budgetName)))", name: "shadow_price", top: 420, bottom: 580,
                     left: left, right: width - right, x0: x0, x1: x1, y0: 0, y1: max(prices.max() ?? 1, 1e-9),
                     series: prices.isEmpty ? [] : [(DualMethod().name, priced.map { ($0.budget, $0.shadowPrice!) })],
                     xLabel: "\(escape(budgetName)) (cost units)")
        // Legend.
        for (k, m) in methods.enumerated() {
            let y = 70.0 + 20 * Double(k)
            out += #"<line x1="\#(width - right + 20)" y1="\#(y)" x2="\#(width - right + 45)" y2="\#(y)" stroke="\#(color(k))" stroke-width="2.5"/>"#
            out += #"<text x="\#(width - right + 52)" y="\#(y + 4)">\#(escape(m))</text>"#
        }
        return out + "</svg>\n"
    }

    static func orderedMethods(_ points: [FrontierPoint]) -> [String] {
        var seen: [String] = []
        for p in points where !seen.contains(p.method) { seen.append(p.method) }
        return seen
    }

    static func color(_ k: Int) -> String { palette[k % palette.count] }

    private static func panel(title: String, name: String, top: Double, bottom: Double, left: Double, right: Double,
                              x0: Double, x1: Double, y0: Double, y1: Double,
                              series: [(String, [(Double, Double)])], xLabel: String?) -> String {
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - y0) / (y1 - y0) * (bottom - top) }
        var out = #"<g class="panel" data-name="\#(name)" data-x0="\#(x0)" data-x1="\#(x1)" data-y0="\#(y0)" data-y1="\#(y1)" data-left="\#(left)" data-right="\#(right)" data-bottom="\#(bottom)" data-top="\#(top)">"#
        out += #"<rect x="\#(left)" y="\#(top)" width="\#(right - left)" height="\#(bottom - top)" fill="none" stroke="gray"/>"#
        for k in 0...4 {
            let fx = x0 + (x1 - x0) * Double(k) / 4, fy = y0 + (y1 - y0) * Double(k) / 4
            out += #"<line x1="\#(px(fx))" y1="\#(bottom)" x2="\#(px(fx))" y2="\#(bottom + 5)" stroke="black"/>"#
            out += #"<text x="\#(px(fx))" y="\#(bottom + 18)" text-anchor="middle">\#(tick(fx))</text>"#
            out += #"<line x1="\#(left - 5)" y1="\#(py(fy))" x2="\#(right)" y2="\#(py(fy))" stroke="gainsboro"/>"#
            out += #"<text x="\#(left - 8)" y="\#(py(fy) + 4)" text-anchor="end">\#(tick(fy))</text>"#
        }
        out += #"<text transform="translate(\#(left - 62),\#((top + bottom) / 2)) rotate(-90)" text-anchor="middle">\#(title)</text>"#
        if let xLabel { out += #"<text x="\#((left + right) / 2)" y="\#(bottom + 38)" text-anchor="middle">\#(xLabel)</text>"# }
        for (k, (method, values)) in series.enumerated() {
            let list = values.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
            let colorIndex = name == "objective" ? k : 0
            // The dual is drawn first and wider, so that a method on the same curve stays visible.
            let width = method == DualMethod().name && series.count > 1 ? 5 : 2
            out += #"<polyline class="series" data-method="\#(escape(method))" fill="none" stroke="\#(color(colorIndex))" stroke-width="\#(width)" points="\#(list)"/>"#
        }
        return out + "</g>"
    }

    static func tick(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return "\((v / 1e5).rounded() / 10)M" }
        if a >= 1e3 { return "\((v / 1e2).rounded() / 10)k" }
        if a >= 10 || a == 0 { return "\(Int(v.rounded()))" }
        return "\((v * 100).rounded() / 100)"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A self-contained page: the chart inline, then the table.
    public static func html(_ points: [FrontierPoint], title: String, budgetName: String = "budget") -> String {
        func fixed(_ x: Double, _ digits: Int) -> String {
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            let v = (x * scale).rounded() / scale
            return v == v.rounded() && digits == 0 ? "\(Int64(v))" : "\(v)"
        }
        var rows = ""
        for p in points {
            rows += "<tr><td>\(escape(p.method))</td><td>\(fixed(p.budget, 2))</td><td>\(fixed(p.objective, 2))</td><td>\(fixed(p.spend, 2))</td><td>\(p.upperBound.map { fixed($0, 2) } ?? "")</td><td>\(p.shadowPrice.map { fixed($0, 4) } ?? "")</td></tr>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-top:16px}
            td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}</style>
            </head><body>
            <h1>\(escape(title))</h1>
            <p>Objective (incremental GMV) of each method as the budget grows, and the dual's shadow price: the incremental GMV the next unit of budget buys.</p>
            \(svg(points, budgetName: budgetName))
            <table><thead><tr><th>method</th><th>budget</th><th>objective</th><th>spend</th><th>upper bound</th><th>shadow price</th></tr></thead>
            <tbody>
            \(rows)</tbody></table>
            </body></html>

            """
    }
}
