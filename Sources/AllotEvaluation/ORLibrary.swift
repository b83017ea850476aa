import AllotCore

/// OR-Library multidimensional knapsack instances (Chu and Beasley, `mknapcb*.txt`) as
/// allocation problems: each item becomes a user with one candidate (uplift = profit), each
/// knapsack constraint a budget (`cost` and columns `w1`, `w2`, ...).
///
/// Format: the number of problems, then per problem `n m optimum`, n profits, m rows of n
/// weights, and m capacities, all whitespace separated.
public enum ORLibrary {
    /// - Throws: `InputError` naming `file` when the text does not follow the format.
    /// - Complexity: O(size of the text).
    public static func multidimensionalKnapsack(_ text: String, file: String = "mknapcb") throws -> [Problem] {
        var numbers = try text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).map { word in
            guard let v = Double(word) else { throw InputError(file: file, "'\(word)' is not a number") }
            return v
        }[...]
        func next() throws -> Double {
            guard let v = numbers.popFirst() else { throw InputError(file: file, "the file ends in the middle of a problem") }
            return v
        }
        let count = Int(try next())
        var problems: [Problem] = []
        for _ in 0..<count {
            let n = Int(try next()), m = Int(try next())
            _ = try next()   // the optimum field, 0 in these files
            let profits = try (0..<n).map { _ in try next() }
            let weights = try (0..<m).map { _ in try (0..<n).map { _ in try next() } }
            let capacities = try (0..<m).map { _ in try next() }
            let rows = (0..<n).map { i in
                CandidateRow(user: "item\(i + 1)", coupon: "take", uplift: profits[i], cost: weights[0][i],
                             extra: (1..<m).map { weights[$0][i] })
            }
            let table = try CandidateTable(rows: rows, extraColumns: (1..<m).map { "w\($0)" })
            let spec = AllocationSpec(budgets: (0..<m).map {
                .init(name: "k\($0)", column: $0 == 0 ? "cost" : "w\($0)", limit: capacities[$0])
            })
            problems.append(try Problem(candidates: table, spec: spec))
        }
        return problems
    }

    /// The numbers of a results file such as `mkcbres.txt`, in order (lines holding one number).
    public static func bestKnownValues(_ text: String) -> [Double] {
        text.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: " \t\r")) }
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return s
    }
}
