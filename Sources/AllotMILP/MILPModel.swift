import AllotCore

/// A 0-1 integer program in the form every backend takes: maximise `objective · x` over
/// binary `x`, subject to rows `Σ_k value[k] x[column[k]] (<= or >=) rhs`, stored by row.
public struct MILPModel: Sendable {
    public enum Sense: UInt8, Sendable { case lessEqual = 76 /* L */, greaterEqual = 71 /* G */ }

    public package(set) var objective: [Double] = []
    public package(set) var columnNames: [String] = []
    public package(set) var rowNames: [String] = []
    public package(set) var sense: [Sense] = []
    public package(set) var rhs: [Double] = []
    /// `rowCount + 1` offsets into `column` and `value`.
    public package(set) var rowStart: [Int32] = [0]
    public package(set) var column: [Int32] = []
    public package(set) var value: [Double] = []

    public var columnCount: Int { objective.count }
    public var rowCount: Int { rhs.count }

    mutating func addRow(_ name: String, _ terms: [(Int, Double)], _ sense: Sense, _ rhs: Double) {
        for (c, v) in terms where v != 0 {
            column.append(Int32(c))
            value.append(v)
        }
        rowNames.append(name)
        self.sense.append(sense)
        self.rhs.append(rhs)
        rowStart.append(Int32(column.count))
    }

    /// Objective value of a 0-1 point.
    public func objectiveValue(_ x: [Double]) -> Double {
        var s = 0.0
        for c in 0..<columnCount where x[c] > 0.5 { s += objective[c] }
        return s
    }

    /// Column-compressed copy of the matrix (for backends that load by column).
    package func columnMajor() -> (start: [Int32], row: [Int32], value: [Double]) {
        var count = [Int32](repeating: 0, count: columnCount + 1)
        for c in column { count[Int(c) + 1] += 1 }
        for c in 0..<columnCount { count[c + 1] += count[c] }
        var next = count
        var rows = [Int32](repeating: 0, count: column.count)
        var values = [Double](repeating: 0, count: column.count)
        for r in 0..<rowCount {
            for k in Int(rowStart[r]) ..< Int(rowStart[r + 1]) {
                let c = Int(column[k])
                let at = Int(next[c])
                rows[at] = Int32(r)
                values[at] = value[k]
                next[c] += 1
            }
        }
        return (count, rows, values)
    }
}

/// The one formulation of an allocation problem as a 0-1 program: one binary per candidate,
/// and rows for budgets (with their spend floors), per-user frequency, per-user channel caps,
/// per-coupon caps and floors, the ROI floor and the general rows, as `ConstraintRules` states
/// them: a row with two finite bounds becomes two rows (`<=` and `>=`, named with `_max` and
/// `_min` for general rows, `_min` for floors). Ceilings that cannot bind (a user with no
/// more candidates than its cap, say) are left out; floors are always kept.
public struct MILPFormulation: Sendable {
    public let model: MILPModel
    /// The candidate of each column.
    public let candidates: [Int]

    /// The whole problem.
    ///
    /// - Parameters:
    ///   - problem: the problem, every row of its `ConstraintRules` included.
    ///   - eligibleOnly: leave out candidates that cannot be in an optimal allocation
    ///     (`Problem.mayBeUseful`: uplift <= 0 and no floor or signed row it helps, capped at 0,
    ///     or over a budget alone). Export keeps them all.
    /// - Complexity: O(n x rows).
    public init(_ problem: Problem, eligibleOnly: Bool = true) {
        let t = problem.candidates
        let columns = eligibleOnly ? (0..<t.count).filter(problem.mayBeUseful) : Array(0..<t.count)
        self.init(problem, columns: columns, limits: problem.rules.limits, lower: problem.rules.lower)
    }

    /// A part of the problem: the given candidate columns, with residual limits (for polishing).
    ///
    /// - Parameters:
    ///   - columns: candidate indices, ascending.
    ///   - limits: the right-hand side of each of `problem.rules`' global constraints: what the
    ///     assignments fixed outside the model leave.
    ///   - lower: the residual lower bounds likewise (`-∞` for none).
    init(_ problem: Problem, columns: [Int], limits: [Double], lower: [Double]) {
        let t = problem.candidates
        var model = MILPModel()
        model.objective = columns.map { t.uplift[$0] }
        model.columnNames = columns.map { j in
            "x\(j + 1)_" + Self.sanitize(t.userIDs[t.user(ofCandidate: j)]) + "_" + Self.sanitize(t.couponIDs[Int(t.coupon[j])])
        }
        // Global constraints, from the one definition: budgets, coupons, the ROI floor, general rows.
        let rules = problem.rules
        var byCoupon = [[Int]](repeating: [], count: t.couponCount)
        for (c, j) in columns.enumerated() { byCoupon[Int(t.coupon[j])].append(c) }
        func terms(_ i: Int) -> [(Int, Double)] { columns.enumerated().map { ($0.offset, rules.coefficient(i, $0.element)) } }
        for i in 0..<rules.count {
            let hi = limits[i], lo = lower[i]
            guard i < rules.generalStart else {
                let name = "row_" + Self.sanitize(problem.rows[i - rules.generalStart].name)
                let both = hi < .infinity && lo > -.infinity
                let row = terms(i)
                if hi < .infinity { model.addRow(both ? name + "_max" : name, row, .lessEqual, hi) }
                if lo > -.infinity { model.addRow(both ? name + "_min" : name, row, .greaterEqual, lo) }
                continue
            }
            switch rules.kinds[i] {
            case .budget(let b):
                let name = "budget_" + Self.sanitize(problem.budgets[b].name)
                let row = terms(i)
                model.addRow(name, row, .lessEqual, hi)
                if lo > -.infinity { model.addRow(name + "_min", row, .greaterEqual, lo) }
            case .couponCap(let coupon):
                let name = "coupon_" + Self.sanitize(t.couponIDs[coupon])
                let row = byCoupon[coupon].map { ($0, 1.0) }
                // A cap at least the coupon's number of columns cannot bind.
                if Double(byCoupon[coupon].count) > hi { model.addRow(name, row, .lessEqual, hi) }
                if lo > -.infinity { model.addRow(name + "_min", row, .greaterEqual, lo) }
            case .minROI:
                model.addRow("min_roi", terms(i), .lessEqual, hi)
            }
        }
        // Per user: frequency and channel caps.
        var k = 0
        while k < columns.count {
            let u = t.user(ofCandidate: columns[k])
            let end = t.userStart[u + 1]
            var last = k
            while last < columns.count, columns[last] < end { last += 1 }
            let mine = Array(k..<last)
            if mine.count > problem.maxPerUser {
                model.addRow("user_\(u + 1)", mine.map { ($0, 1.0) }, .lessEqual, Double(problem.maxPerUser))
            }
            if t.hasChannels {
                for h in 0..<t.channelCount where problem.channelCaps[h] != Problem.uncapped {
                    let inChannel = mine.filter { t.channel(of: columns[$0]) == h }
                    if inChannel.count > problem.channelCaps[h] {
                        model.addRow("user_\(u + 1)_" + Self.sanitize(t.channelNames[h]), inChannel.map { ($0, 1.0) },
                                     .lessEqual, Double(problem.channelCaps[h]))
                    }
                }
            }
            k = last
        }
        self.model = model
        self.candidates = columns
    }

    /// Letters, digits and `_`; names stay unique through the index prefix.
    static func sanitize(_ s: String) -> String {
        String(s.unicodeScalars.prefix(40).map { ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0) ? Character($0) : "_" })
    }

    /// The allocation of a 0-1 point.
    public func allocation(_ x: [Double]) -> Allocation {
        Allocation(candidates: candidates.indices.filter { x[$0] > 0.5 }.map { candidates[$0] })
    }

    /// The 0-1 point of an allocation (candidates outside the model are ignored).
    public func point(_ allocation: Allocation) -> [Double] {
        var x = [Double](repeating: 0, count: candidates.count)
        var k = 0
        for j in allocation.candidates {
            while k < candidates.count, candidates[k] < j { k += 1 }
            if k < candidates.count, candidates[k] == j { x[k] = 1 }
        }
        return x
    }
}
