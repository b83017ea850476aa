#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AllotCore

/// The frontier as a self-contained SVG (two panels: objective, and the dual's shadow price,
/// against budget) and as an HTML report (a one-line takeaway, the chart, and a table with one
/// row per budget and one column per method; no scripts, no network fetches).
///
/// Each panel is a `<g class="panel">` whose `data-x0 data-x1 data-y0 data-y1` attributes give
/// the data ranges mapped to `data-left data-right data-bottom data-top` pixels, so a test can
/// map every polyline point back to data. The dual's proven bound is drawn as a band
/// (`<polygon class="band">`) from its objective up to its bound. Axes have round-number ticks;
/// every point carries a marker whose shape tells the methods apart where curves coincide.
public enum FrontierChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    static let dual = DualMethod().name

    public static func svg(_ points: [FrontierPoint], budgetName: String = "budget") -> String {
        let width = 1000.0, height = 620.0, left = 90.0, right = 210.0
        let methods = orderedMethods(points)
        let budgets = points.map(\.budget)
        let (x0, x1, xStep) = niceScale(budgets.min() ?? 0, budgets.max() ?? 1)
        // The SVG scales to the width of the page; the view box keeps its proportions.
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 \#(Int(width)) \#(Int(height))" font-family="sans-serif" font-size="13">"#
        out += #"<rect width="100%" height="100%" fill="white"/>"#
        // Top panel: objective, with the dual's bound as a band.
        let values = points.map(\.objective) + points.compactMap { $0.method == dual ? $0.upperBound : nil }
        let (y0, y1, yStep) = niceScale(min(0, values.min() ?? 0), max(values.max() ?? 1, 1e-9))
        let band = points.filter { $0.method == dual && $0.upperBound != nil }.map { ($0.budget, $0.objective, $0.upperBound!) }
        out += panel(title: "incremental GMV", name: "objective", top: 20, bottom: 360, left: left, right: width - right,
                     x: (x0, x1, xStep), y: (y0, y1, yStep),
                     series: methods.map { m in (m, points.filter { $0.method == m }.map { ($0.budget, $0.objective) }) },
                     band: band, xLabel: nil)
        // Bottom panel: the dual's shadow price.
        let priced = points.filter { $0.shadowPrice != nil && $0.method == dual }
        let prices = priced.compactMap(\.shadowPrice)
        let (p0, p1, pStep) = niceScale(0, max(prices.max() ?? 1, 1e-9))
        out += panel(title: "shadow price", name: "shadow_price", top: 410, bottom: 570,
                     left: left, right: width - right, x: (x0, x1, xStep), y: (p0, p1, pStep),
                     series: prices.isEmpty ? [] : [(dual, priced.map { ($0.budget, $0.shadowPrice!) })],
                     band: [], xLabel: "\(escape(budgetName)) (cost units)")
        // Legend.
        var y = 40.0
        for (k, m) in methods.enumerated() {
            out += #"<line x1="\#(width - right + 20)" y1="\#(y)" x2="\#(width - right + 50)" y2="\#(y)" stroke="\#(color(k))" stroke-width="\#(m == dual ? 4 : 2)"/>"#
            out += marker(k, x: width - right + 35, y: y, color: color(k))
            out += #"<text x="\#(width - right + 58)" y="\#(y + 4)">\#(escape(m))</text>"#
            y += 22
        }
        if !band.isEmpty {
            out += #"<rect x="\#(width - right + 20)" y="\#(y - 7)" width="30" height="14" fill="\#(color(0))" fill-opacity="0.15"/>"#
            out += #"<text x="\#(width - right + 58)" y="\#(y + 4)">dual's proven bound</text>"#
        }
        out += #"<text x="\#(width - right + 20)" y="440">GMV bought by the</text>"#
        out += #"<text x="\#(width - right + 20)" y="457">next unit of \#(escape(budgetName))</text>"#
        return out + "</svg>\n"
    }

    static func orderedMethods(_ points: [FrontierPoint]) -> [String] {
        var seen: [String] = []
        for p in points where !seen.contains(p.method) { seen.append(p.method) }
        return seen
    }

    static func color(_ k: Int) -> String { palette[k % palette.count] }

    /// Marker `k`: filled circle, open square, filled triangle, open diamond, cross, then again
    /// (open shapes let a marker drawn underneath show through).
    static func marker(_ k: Int, x: Double, y: Double, color: String) -> String {
        let r = 4.5
        switch k % 5 {
        case 0: return #"<circle class="marker" cx="\#(x)" cy="\#(y)" r="\#(r)" fill="\#(color)"/>"#
        case 1: return #"<rect class="marker" x="\#(x - r)" y="\#(y - r)" width="\#(2 * r)" height="\#(2 * r)" fill="none" stroke="\#(color)" stroke-width="2"/>"#
        case 2: return #"<polygon class="marker" points="\#(x),\#(y - r - 1) \#(x - r - 1),\#(y + r) \#(x + r + 1),\#(y + r)" fill="\#(color)"/>"#
        case 3: return #"<polygon class="marker" points="\#(x),\#(y - r - 1) \#(x + r + 1),\#(y) \#(x),\#(y + r + 1) \#(x - r - 1),\#(y)" fill="none" stroke="\#(color)" stroke-width="2"/>"#
        default: return #"<path class="marker" d="M\#(x - r),\#(y - r)L\#(x + r),\#(y + r)M\#(x - r),\#(y + r)L\#(x + r),\#(y - r)" stroke="\#(color)" stroke-width="2"/>"#
        }
    }

    /// Round axis limits and tick step covering `lo...hi` with about 5 ticks: steps of 1, 2 or 5
    /// times a power of ten.
    static func niceScale(_ lo: Double, _ hi: Double) -> (Double, Double, Double) {
        let span = max(hi - lo, abs(hi) * 1e-9, 1e-9)
        let raw = span / 5
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw * 0.999 }!
        let low = floor(lo / step + 1e-9) * step
        let high = max(ceil(hi / step - 1e-9) * step, low + step)
        return (low, high, step)
    }

    private static func panel(title: String, name: String, top: Double, bottom: Double, left: Double, right: Double,
                              x: (Double, Double, Double), y: (Double, Double, Double),
                              series: [(String, [(Double, Double)])], band: [(Double, Double, Double)], xLabel: String?) -> String {
        let (x0, x1, xStep) = x, (y0, y1, yStep) = y
        func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - y0) / (y1 - y0) * (bottom - top) }
        var out = #"<g class="panel" data-name="\#(name)" data-x0="\#(x0)" data-x1="\#(x1)" data-y0="\#(y0)" data-y1="\#(y1)" data-left="\#(left)" data-right="\#(right)" data-bottom="\#(bottom)" data-top="\#(top)">"#
        var t = x0
        while t <= x1 + xStep * 1e-6 {
            out += #"<line x1="\#(px(t))" y1="\#(bottom)" x2="\#(px(t))" y2="\#(bottom + 5)" stroke="black"/>"#
            out += #"<line x1="\#(px(t))" y1="\#(top)" x2="\#(px(t))" y2="\#(bottom)" stroke="whitesmoke"/>"#
            out += #"<text class="tick" x="\#(px(t))" y="\#(bottom + 19)" text-anchor="middle">\#(tick(t))</text>"#
            t += xStep
        }
        t = y0
        while t <= y1 + yStep * 1e-6 {
            out += #"<line x1="\#(left - 5)" y1="\#(py(t))" x2="\#(right)" y2="\#(py(t))" stroke="gainsboro"/>"#
            out += #"<text class="tick" x="\#(left - 8)" y="\#(py(t) + 4)" text-anchor="end">\#(tick(t))</text>"#
            t += yStep
        }
        out += #"<rect x="\#(left)" y="\#(top)" width="\#(right - left)" height="\#(bottom - top)" fill="none" stroke="gray"/>"#
        out += #"<text transform="translate(\#(left - 66),\#((top + bottom) / 2)) rotate(-90)" text-anchor="middle">\#(title)</text>"#
        if let xLabel { out += #"<text x="\#((left + right) / 2)" y="\#(bottom + 40)" text-anchor="middle">\#(xLabel)</text>"# }
        if !band.isEmpty {
            let upper = band.map { "\(px($0.0)),\(py($0.2))" }
            let lower = band.reversed().map { "\(px($0.0)),\(py($0.1))" }
            out += #"<polygon class="band" fill="\#(color(0))" fill-opacity="0.15" stroke="none" points="\#((upper + lower).joined(separator: " "))"/>"#
        }
        for (k, (method, values)) in series.enumerated() {
            let list = values.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
            // The dual is drawn first and wider, so that a method on the same curve stays visible.
            let width = method == dual && series.count > 1 ? 4 : 2
            out += #"<polyline class="series" data-method="\#(escape(method))" fill="none" stroke="\#(color(k))" stroke-width="\#(width)" points="\#(list)"/>"#
            for v in values { out += marker(k, x: px(v.0), y: py(v.1), color: color(k)) }
        }
        return out + "</g>"
    }

    /// A tick label: grouped digits, as few decimals as the value needs.
    static func tick(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e6 { return Readable.significant(v / 1e6, 3).trimmingZeros + "M" }
        if a >= 1_000 { return Readable.significant(v / 1e3, 3).trimmingZeros + "k" }
        return Readable.significant(v, 3).trimmingZeros
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// One line for the top of the report: at the middle budget, how much more the dual buys
    /// than each other method, and what the next unit of budget buys there. Nil without a dual
    /// curve.
    public static func takeaway(_ points: [FrontierPoint], budgetName: String = "budget") -> String? {
        let dualPoints = points.filter { $0.method == dual }
        guard !dualPoints.isEmpty else { return nil }
        let at = dualPoints[dualPoints.count / 2]
        let others = orderedMethods(points).filter { $0 != dual }.compactMap { m in
            points.first { $0.method == m && $0.budget == at.budget }
        }
        var line = "At \(budgetName) \(Readable.significant(at.budget)) the dual buys \(Readable.significant(at.objective)) incremental GMV"
        let comparisons = others.map { p -> String in
            guard p.objective > 0 else { return "\(p.method) \(Readable.significant(p.objective))" }
            let gain = (at.objective - p.objective) / p.objective
            let size = Readable.percent(abs(gain))
            return gain >= 0 ? "\(size) more than \(p.method)" : "\(size) less than \(p.method)"
        }
        if !comparisons.isEmpty { line += ", " + comparisons.joined(separator: ", ") }
        if let price = at.shadowPrice { line += "; the next unit of \(budgetName) buys \(Readable.significant(price))" }
        return line + "."
    }

    /// A self-contained page: the takeaway, the chart, then the table.
    public static func html(_ points: [FrontierPoint], title: String, budgetName: String = "budget") -> String {
        let methods = orderedMethods(points)
        var budgets: [Double] = []
        for p in points where !budgets.contains(p.budget) { budgets.append(p.budget) }
        let hasDual = methods.contains(dual)
        var head = "<th>\(escape(budgetName))</th>" + methods.map { "<th>\(escape($0))</th>" }.joined()
        if hasDual { head += "<th>dual's upper bound</th><th>shadow price</th>" }
        var rows = ""
        for b in budgets {
            rows += "<tr><td>\(Readable.significant(b))</td>"
            for m in methods {
                rows += "<td>\(points.first { $0.method == m && $0.budget == b }.map { Readable.grouped($0.objective, decimals: 0) } ?? "")</td>"
            }
            if hasDual, let d = points.first(where: { $0.method == dual && $0.budget == b }) {
                rows += "<td>\(d.upperBound.map { Readable.grouped($0, decimals: 0) } ?? "")</td><td>\(d.shadowPrice.map { Readable.significant($0) } ?? "")</td>"
            }
            rows += "</tr>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}svg{width:100%;height:auto;display:block}
            table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}
            p.takeaway{font-size:1.2em}</style>
            </head><body>
            <h1>\(escape(title))</h1>
            <p class="takeaway">\(escape(takeaway(points, budgetName: budgetName) ?? ""))</p>
            <p>Incremental GMV of each method's allocation as the \(escape(budgetName)) grows (every point a full solve, verified). The shaded band reaches up to the dual's proven bound: no allocation can do better. Below, the dual's shadow price: the incremental GMV the next unit of \(escape(budgetName)) buys.</p>
            \(svg(points, budgetName: budgetName))
            <table><thead><tr>\(head)</tr></thead>
            <tbody>
            \(rows)</tbody></table>
            </body></html>

            """
    }
}

extension String {
    /// "1.50" -> "1.5", "2.00" -> "2"; other strings unchanged.
    var trimmingZeros: String {
        guard contains(".") else { return self }
        var s = self
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
