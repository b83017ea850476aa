/// Draws of the scores: `B` columns `uplift_1 ... uplift_B`, each a replicate estimate of every
/// candidate's uplift (docs/algorithms.md, "Decisions under noisy scores").
///
/// The draws are taken as **independent replicate estimates**: draw `b` of candidate `j` is
/// `θ_j + e_bj`, the errors independent across draws (e.g. `B` models fitted on disjoint folds
/// of the experiment). Then their mean estimates `θ_j` with standard error `sd_j / √B`, and the
/// mean of draws held out of a selection is an unbiased value of what the selection chose.
/// (Bootstrap draws of one fit share that fit's error: give their standard deviation as
/// `uplift_se` instead; cross-validation over them would favour the plug-in allocation.)
public struct ScoreDraws: Sendable {
    /// `values[b][j]`: draw `b` of candidate `j`.
    public let values: [[Double]]

    /// The fewest draws: two folds of at least two draws each, so that every fold's held-out
    /// value has a standard error.
    public static let minimum = 4

    public init(values: [[Double]]) {
        self.values = values
    }

    /// The number of draws, `B`.
    public var count: Int { values.count }

    /// The draws' columns named in a header, in order `uplift_1 ... uplift_B` (empty when there
    /// are none). A draw column is a name `uplift_N`, N a whole number.
    ///
    /// - Parameters:
    ///   - header: the column names.
    ///   - file: the scores' name, for messages.
    ///   - columns: each name's 1-based column in the header line, for messages (a table has
    ///     no header line: nil).
    /// - Throws: `InputError` (file, line 1 and the column) for a numbering that is not
    ///   `1 ... B` without gaps, or fewer than `minimum` draws.
    public static func columns(in header: [String], file: String, columns: [Int]? = nil) throws -> [String] {
        var found: [(number: Int, at: Int)] = []
        for (k, name) in header.enumerated() {
            guard name.hasPrefix("uplift_") else { continue }
            let digits = name.dropFirst("uplift_".count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let n = Int(digits) else { continue }
            found.append((n, k))
        }
        guard !found.isEmpty else { return [] }
        func fail(_ at: Int?, _ message: String) -> InputError {
            guard let columns else { return InputError(file: file, message) }
            return InputError(file: file, line: 1, column: at.map { columns[$0] } ?? 1, message)
        }
        let sorted = found.sorted { $0.number < $1.number }
        for (k, f) in sorted.enumerated() where f.number != k + 1 {
            throw fail(f.at, "draw columns must be uplift_1 to uplift_B without a gap: found '\(header[f.at])' but no uplift_\(k + 1)")
        }
        if sorted.count < minimum {
            throw fail(sorted.last?.at, "\(sorted.count) draw columns (uplift_1 to uplift_\(sorted.count)): give at least \(minimum)")
        }
        return sorted.map { header[$0.at] }
    }

    /// The mean of the draws in `subset` (all when nil) and its standard error, `sd / √m` for `m`
    /// draws (`sd` the sample standard deviation, divisor `m - 1`), per candidate.
    /// - Complexity: O(n · m).
    public func meanAndStandardError(of subset: [Int]? = nil) -> (mean: [Double], se: [Double]) {
        let draws = subset ?? Array(0..<count)
        let n = values.first?.count ?? 0
        let m = Double(draws.count)
        var mean = [Double](repeating: 0, count: n)
        for b in draws {
            values[b].withUnsafeBufferPointer { v in
                for j in 0..<n { mean[j] += v[j] }
            }
        }
        for j in 0..<n { mean[j] /= m }
        var squares = [Double](repeating: 0, count: n)
        for b in draws {
            values[b].withUnsafeBufferPointer { v in
                for j in 0..<n { let d = v[j] - mean[j]; squares[j] += d * d }
            }
        }
        let se = squares.map { m > 1 ? ($0 / (m - 1) / m).squareRoot() : 0 }
        return (mean, se)
    }

    /// The `p` quantile of each candidate's draws in `subset` (all when nil), interpolated
    /// linearly between order statistics (position `p · (m - 1)`).
    /// - Complexity: O(n · m log m).
    public func quantile(_ p: Double, of subset: [Int]? = nil) -> [Double] {
        let draws = subset ?? Array(0..<count)
        let n = values.first?.count ?? 0
        let position = p * Double(draws.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, draws.count - 1)
        let t = position - Double(below)
        var column = [Double](repeating: 0, count: draws.count)
        return (0..<n).map { j in
            for (k, b) in draws.enumerated() { column[k] = values[b][j] }
            column.sort()
            return column[below] + t * (column[above] - column[below])
        }
    }

    /// The draws cut into two folds by a seeded shuffle: each fold's allocation is chosen on the
    /// other fold's draws and valued on its own. Depends only on `count` and `seed`.
    public func folds(seed: UInt64) -> [[Int]] {
        var order = Array(0..<count)
        var rng = SeededGenerator(seed: seed ^ 0xD1B5_4A32_D192_ED03)
        for k in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(k, rng.nextIndex(below: k + 1)) }
        let half = order.count / 2
        return [Array(order[..<half]).sorted(), Array(order[half...]).sorted()]
    }

    /// An allocation's value under the draws of `subset`: their mean summed over its candidates,
    /// with the standard error of that mean from the spread of the per-draw sums.
    /// - Complexity: O(allocation size · m).
    public func value(of candidates: [Int], under subset: [Int]) -> (value: Double, se: Double) {
        let sums = subset.map { b in candidates.reduce(0.0) { $0 + values[b][$1] } }
        let m = Double(sums.count)
        let mean = sums.reduce(0, +) / m
        let variance = m > 1 ? sums.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (m - 1) : 0
        return (mean, (variance / m).squareRoot())
    }
}
