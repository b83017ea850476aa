import AllotCore

/// Writing a `MILPModel` for other solvers: CPLEX LP or free MPS.
public enum ModelFormat: String, CaseIterable, Sendable {
    case lp, mps

    /// The model as text. Numbers are written in the shortest form that reads back exactly.
    /// - Complexity: O(nonzeros).
    public func render(_ model: MILPModel) -> [UInt8] {
        switch self {
        case .lp: return Self.lp(model)
        case .mps: return Self.mps(model)
        }
    }

    private static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }

    /// CPLEX LP: `Maximize`, `Subject To`, `Binaries`, `End`; lines kept short.
    private static func lp(_ model: MILPModel) -> [UInt8] {
        var out: [UInt8] = []
        func line(_ s: String) { out.append(contentsOf: s.utf8); out.append(0x0A) }
        /// `prefix` then the terms, wrapped at about 200 characters; returns the open last line.
        func terms(_ prefix: String, _ pairs: [(Int, Double)]) -> String {
            var current = prefix
            // An empty expression still needs a variable for LP readers.
            let written = pairs.isEmpty && model.columnCount > 0 ? [(0, 0.0)] : pairs
            for (c, v) in written {
                let term = (v < 0 ? " - " : " + ") + number(abs(v)) + " " + model.columnNames[c]
                if current.utf8.count + term.utf8.count > 200 { line(current); current = " " }
                current += term
            }
            return current
        }
        line("\\ Allot allocation model: one binary per candidate; maximise total uplift")
        line("Maximize")
        line(terms(" obj:", model.objective.enumerated().map { ($0.offset, $0.element) }))
        line("Subject To")
        for r in 0..<model.rowCount {
            let pairs = (Int(model.rowStart[r]) ..< Int(model.rowStart[r + 1])).map { (Int(model.column[$0]), model.value[$0]) }
            line(terms(" " + model.rowNames[r] + ":", pairs) + (model.sense[r] == .lessEqual ? " <= " : " >= ") + number(model.rhs[r]))
        }
        line("Binaries")
        var current = ""
        for name in model.columnNames {
            if current.utf8.count + name.utf8.count > 200 { line(current); current = "" }
            current += " " + name
        }
        if !current.isEmpty { line(current) }
        line("End")
        return out
    }

    /// Free MPS; every column gets a `BV` (binary) bound. MPS has no portable way to say
    /// "maximise" (GLPK rejects an OBJSENSE section), so the objective is negated: every solver
    /// minimises `-uplift` and reports minus the optimum, with the same solution.
    private static func mps(_ model: MILPModel) -> [UInt8] {
        var out: [UInt8] = []
        func line(_ s: String) { out.append(contentsOf: s.utf8); out.append(0x0A) }
        line("* Allot allocation model: one binary per candidate.")
        line("* The objective is NEGATED: minimise -uplift (the optimum is minus the best total uplift).")
        line("NAME allot")
        line("ROWS")
        line(" N obj")
        for r in 0..<model.rowCount { line(" \(model.sense[r] == .lessEqual ? "L" : "G") \(model.rowNames[r])") }
        line("COLUMNS")
        let (start, rows, values) = model.columnMajor()
        for c in 0..<model.columnCount {
            let name = model.columnNames[c]
            line(" \(name) obj \(number(-model.objective[c]))")
            for k in Int(start[c]) ..< Int(start[c + 1]) {
                line(" \(name) \(model.rowNames[Int(rows[k])]) \(number(values[k]))")
            }
        }
        line("RHS")
        for r in 0..<model.rowCount where model.rhs[r] != 0 { line(" rhs \(model.rowNames[r]) \(number(model.rhs[r]))") }
        line("BOUNDS")
        for name in model.columnNames { line(" BV bnd \(name)") }
        line("ENDATA")
        return out
    }
}
