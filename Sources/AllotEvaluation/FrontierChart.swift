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
package enum FrontierChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    static let dual = DualMethod().name

    /// `planned`, when given, is the spec's budget: marked by a dashed vertical line
    /// (`class="planned"`) in both panels. The shadow-price panel also draws the break-even
    /// price 1 (`class="break-even"`) and, when the range crosses it, the break-even budget.
    package static func svg(_ points: [FrontierPoint], budgetName: String = "budget", planned: Double? = nil) -> String {
        let width = 1000.0, height = 620.0, left = 90.0, right = 210.0
        let methods = orderedMethods(points)
        let budgets = points.map(\.budget)
        let (x0, x1, xStep) = niceScale(min(budgets.min() ?? 0, planned ?? .infinity), max(budgets.max() ?? 1, planned ?? -.infinity))
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
                     band: band, xLabel: nil, planned: planned)
        // Bottom panel: the dual's shadow price.
        let priced = points.filter { $0.shadowPrice != nil && $0.method == dual }
        let prices = priced.compactMap(\.shadowPrice)
        // The price axis reaches 1, the break-even price, so that its line always shows.
        let (p0, p1, pStep) = niceScale(0, max(prices.max() ?? 1, 1.2))
        out += panel(title: "shadow price", name: "shadow_price", top: 410, bottom: 570,
                     left: left, right: width - right, x: (x0, x1, xStep), y: (p0, p1, pStep),
                     series: prices.isEmpty ? [] : [(dual, priced.map { ($0.budget, $0.shadowPrice!) })],
                     band: [], xLabel: "\(escape(budgetName)) (cost units)", planned: planned,
                     breakEven: prices.isEmpty ? nil : .some(breakEven(points)))
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
            // The band is often thinner than a pixel: say how wide it is.
            let widest = band.map { max(0, $0.2 - $0.1) / max(abs($0.2), 1e-12) }.max() ?? 0
            out += #"<text class="band-width" x="\#(width - right + 58)" y="\#(y + 20)" font-size="11">at most \#(Readable.percent(widest)) above</text>"#
            y += 16
        }
        if let planned {
            y += 22
            out += #"<line x1="\#(width - right + 20)" y1="\#(y)" x2="\#(width - right + 50)" y2="\#(y)" stroke="black" stroke-dasharray="6,4"/>"#
            out += #"<text x="\#(width - right + 58)" y="\#(y + 4)">planned: \#(tick(planned))</text>"#
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
                              series: [(String, [(Double, Double)])], band: [(Double, Double, Double)], xLabel: String?,
                              planned: Double? = nil, breakEven: Double?? = nil) -> String {
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
        if let breakEven {
            // Price 1: below it the next unit of budget buys less than it costs.
            out += #"<line class="break-even" x1="\#(left)" y1="\#(py(1))" x2="\#(right)" y2="\#(py(1))" stroke="firebrick" stroke-dasharray="2,3"/>"#
            out += #"<text x="\#(right - 4)" y="\#(py(1) - 4)" text-anchor="end" fill="firebrick" font-size="11">break-even: 1 per unit</text>"#
            if let at = breakEven, at >= x0, at <= x1 {
                out += #"<line class="break-even-budget" data-budget="\#(at)" x1="\#(px(at))" y1="\#(top)" x2="\#(px(at))" y2="\#(bottom)" stroke="firebrick" stroke-dasharray="2,3"/>"#
                out += #"<text x="\#(px(at) + 4)" y="\#(top + 12)" fill="firebrick" font-size="11">break-even \#(tick(at))</text>"#
            }
        }
        if let planned {
            out += #"<line class="planned" data-budget="\#(planned)" x1="\#(px(planned))" y1="\#(top)" x2="\#(px(planned))" y2="\#(bottom)" stroke="black" stroke-dasharray="6,4"/>"#
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

    /// The break-even budget: where the dual's shadow price (the incremental GMV the next unit of
    /// budget buys) falls to 1, so that beyond it the next unit buys less than it costs;
    /// interpolated linearly between the two frontier points around it. Nil when the price stays
    /// above 1 over the whole range; the lowest budget when it is at or below 1 there already.
    /// - Complexity: O(points log points).
    package static func breakEven(_ points: [FrontierPoint]) -> Double? {
        let priced = points.filter { $0.method == dual && $0.shadowPrice != nil }.sorted { $0.budget < $1.budget }
        guard let first = priced.first else { return nil }
        if first.shadowPrice! <= 1 { return first.budget }
        for (a, b) in zip(priced, priced.dropFirst()) where b.shadowPrice! <= 1 {
            let (pa, pb) = (a.shadowPrice!, b.shadowPrice!)
            return a.budget + (pa - 1) / (pa - pb) * (b.budget - a.budget)
        }
        return nil
    }

    /// The dual's point the takeaway speaks of: the one nearest `planned` (the spec's budget),
    /// or the middle one without a plan.
    static func focus(_ dualPoints: [FrontierPoint], planned: Double?) -> FrontierPoint {
        guard let planned else { return dualPoints[dualPoints.count / 2] }
        return dualPoints.min { abs($0.budget - planned) < abs($1.budget - planned) }!
    }

    /// One line for the top of the report: at the planned budget (the frontier point nearest
    /// it; the middle budget without a plan), how much more the dual buys than each other
    /// method, what the last unit of budget returns there (the shadow price), and the
    /// break-even budget. Nil without a dual curve.
    package static func takeaway(_ points: [FrontierPoint], budgetName: String = "budget", planned: Double? = nil) -> String? {
        let dualPoints = points.filter { $0.method == dual }
        guard !dualPoints.isEmpty else { return nil }
        let at = focus(dualPoints, planned: planned)
        let others = orderedMethods(points).filter { $0 != dual }.compactMap { m in
            points.first { $0.method == m && $0.budget == at.budget }
        }
        let place = planned.map { $0 == at.budget ? "the planned \(budgetName) \(Readable.significant($0))"
            : "\(budgetName) \(Readable.significant(at.budget)) (nearest the planned \(Readable.significant($0)))" }
            ?? "\(budgetName) \(Readable.significant(at.budget))"
        var line = "At \(place) the dual buys \(Readable.significant(at.objective)) incremental GMV"
        let comparisons = others.map { p -> String in
            guard p.objective > 0 else { return "\(p.method) \(Readable.significant(p.objective))" }
            let gain = (at.objective - p.objective) / p.objective
            let size = Readable.percent(abs(gain))
            return gain >= 0 ? "\(size) more than \(p.method)" : "\(size) less than \(p.method)"
        }
        if !comparisons.isEmpty { line += ", " + comparisons.joined(separator: ", ") }
        if let price = at.shadowPrice {
            line += "; the last unit of \(budgetName) returns \(Readable.significant(price)) per unit"
            if dualPoints.contains(where: { $0.shadowPrice != nil }) {
                if let even = breakEven(points) {
                    line += even <= at.budget && price <= 1 ? ", less than it costs (break-even at about \(Readable.significant(even)))"
                        : ", break-even at about \(Readable.significant(even)) (beyond it the next unit buys less than it costs)"
                } else {
                    line += ", above break-even over the whole range"
                }
            }
        }
        return line + "."
    }

    /// A self-contained page: the takeaway, the chart, then the table.
    /// The table has, after each method's objective, the dual's upper bound and shadow price,
    /// and the dual's gain over each other method in percent (where curves coincide on the
    /// chart, the table tells them apart); the planned budget's row is marked.
    package static func html(_ points: [FrontierPoint], title: String, budgetName: String = "budget", planned: Double? = nil) -> String {
        let methods = orderedMethods(points)
        let others = methods.filter { $0 != dual }
        var budgets: [Double] = []
        for p in points where !budgets.contains(p.budget) { budgets.append(p.budget) }
        let hasDual = methods.contains(dual)
        var head = "<th>\(escape(budgetName))</th>" + methods.map { "<th>\(escape($0))</th>" }.joined()
        if hasDual {
            head += "<th>dual's upper bound</th><th>shadow price</th>"
            head += others.map { "<th>dual vs \(escape($0))</th>" }.joined()
        }
        let focused = hasDual && planned != nil ? focus(points.filter { $0.method == dual }, planned: planned).budget : nil
        var rows = ""
        for b in budgets {
            rows += b == focused ? #"<tr class="planned"><td>\#(Readable.significant(b)) (planned)</td>"# : "<tr><td>\(Readable.significant(b))</td>"
            for m in methods {
                rows += "<td>\(points.first { $0.method == m && $0.budget == b }.map { Readable.grouped($0.objective, decimals: 0) } ?? "")</td>"
            }
            if hasDual, let d = points.first(where: { $0.method == dual && $0.budget == b }) {
                rows += "<td>\(d.upperBound.map { Readable.grouped($0, decimals: 0) } ?? "")</td><td>\(d.shadowPrice.map { Readable.significant($0) } ?? "")</td>"
                for m in others {
                    let gain = points.first { $0.method == m && $0.budget == b }.flatMap { p -> String? in
                        p.objective > 0 ? Self.signedPercent((d.objective - p.objective) / p.objective) : nil
                    }
                    rows += "<td>\(gain ?? "")</td>"
                }
            }
            rows += "</tr>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}svg{width:100%;height:auto;display:block}
            table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}
            p.takeaway{font-size:1.2em}tr.planned td{font-weight:bold;background:#fffbe6}</style>
            </head><body>
            <h1>\(escape(title))</h1>
            <p class="takeaway">\(escape(takeaway(points, budgetName: budgetName, planned: planned) ?? ""))</p>
            <p>Incremental GMV of each method's allocation as the \(escape(budgetName)) grows (every point a full solve, verified)\(planned == nil ? "" : "; the dashed line is the planned \(escape(budgetName))"). The shaded band reaches up to the dual's proven bound: no allocation can do better. Below, the dual's shadow price: the incremental GMV the next unit of \(escape(budgetName)) buys (its ROI); where it falls below 1 (the red line, break-even) the next unit buys less than it costs.</p>
            \(svg(points, budgetName: budgetName, planned: planned))
            <table><thead><tr>\(head)</tr></thead>
            <tbody>
            \(rows)</tbody></table>
            </body></html>

            """
    }
}

extension FrontierChart {
    /// "+1.7%", "-0.2%", "0%": a relative difference with its sign.
    static func signedPercent(_ x: Double) -> String {
        x > 0 ? "+" + Readable.percent(x) : x < 0 ? "-" + Readable.percent(-x) : "0%"
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
