import AllotCore
import AllotEvaluation
import Foundation

/// Random problems with every kind of constraint, for property tests. Seeded: the same seed
/// gives the same problem.
public struct RandomProblem: Sendable {
    public var users = 4
    public var couponsPerUser = 3
    public var coupons = 4
    public var channels: [String] = []
    public var budgets = 1
    public var budgetFraction = 0.3
    public var maxPerUser = 1
    public var couponCap: Int? = nil
    public var channelCap: Int? = nil
    public var minROI: Double? = nil
    public var integerCosts = false
    public var negativeShare = 0.15

    /// A problem of `users` users, each scored for `couponsPerUser` of `coupons` coupons
    /// (drawn at random), with `budgets` budgets at `budgetFraction` of the spend of giving
    /// everyone everything; every other constraint is absent unless given.
    public init(users: Int = 4, coupons: Int = 4, couponsPerUser: Int = 3, budgets: Int = 1,
                budgetFraction: Double = 0.3, maxPerUser: Int = 1, couponCap: Int? = nil,
                channels: [String] = [], channelCap: Int? = nil, minROI: Double? = nil,
                integerCosts: Bool = false, negativeShare: Double = 0.15) {
        self.users = users
        self.coupons = coupons
        self.couponsPerUser = couponsPerUser
        self.budgets = budgets
        self.budgetFraction = budgetFraction
        self.maxPerUser = maxPerUser
        self.couponCap = couponCap
        self.channels = channels
        self.channelCap = channelCap
        self.minROI = minROI
        self.integerCosts = integerCosts
        self.negativeShare = negativeShare
    }

    /// 1,200 users x 6 of 8 coupons, three budgets at 20%, two per user and every coupon capped
    /// at 360: 7,200 binaries that neither MILP backend closes in seconds, with a root
    /// relaxation small enough to finish quickly on a loaded machine.
    public static let hardForMILP = RandomProblem(users: 1_200, coupons: 8, couponsPerUser: 6, budgets: 3,
                                                  budgetFraction: 0.2, maxPerUser: 2, couponCap: 360)

    public func make(seed: UInt64) -> Problem {
        let (table, spec) = tableAndSpec(seed: seed)
        return try! Problem(candidates: table, spec: spec)
    }

    /// The scores and the spec of `make(seed:)`.
    public func tableAndSpec(seed: UInt64) -> (CandidateTable, AllocationSpec) {
        var rng = SeededGenerator(seed: seed)
        var rows: [CandidateRow] = []
        var totals = [Double](repeating: 0, count: budgets)
        for u in 0..<users {
            var coupons = Array(0..<self.coupons)
            rng.shuffle(&coupons)
            for c in coupons.prefix(couponsPerUser) {
                let negative = rng.nextUnit() < negativeShare
                let uplift = ((negative ? -1 : 1) * (1 + 30 * rng.nextUnit()) * 100).rounded() / 100
                var consumption = (0..<budgets).map { _ in
                    integerCosts ? Double(1 + rng.nextIndex(below: 20)) : ((0.5 + 10 * rng.nextUnit()) * 100).rounded() / 100
                }
                if rng.nextUnit() < 0.05 { consumption[0] = 0 }
                for b in 0..<budgets { totals[b] += consumption[b] }
                rows.append(CandidateRow(user: "u\(u)", coupon: "c\(c)", uplift: uplift, cost: consumption[0],
                                         channel: channels.isEmpty ? nil : channels[c % channels.count],
                                         extra: Array(consumption.dropFirst())))
            }
        }
        let extra = (1..<max(budgets, 1)).map { "r\($0)" }
        let table = try! CandidateTable(rows: rows, extraColumns: extra)
        var spec = AllocationSpec()
        for b in 0..<budgets {
            let limit = integerCosts ? (totals[b] * budgetFraction).rounded(.down) : (totals[b] * budgetFraction * 100).rounded() / 100
            spec.budgets.append(.init(name: "b\(b)", column: b == 0 ? "cost" : "r\(b)", limit: limit))
        }
        spec.maxPerUser = maxPerUser
        if let couponCap {
            spec.couponCaps = Dictionary(uniqueKeysWithValues: table.couponIDs.map { ($0, couponCap) })
        }
        if let channelCap {
            spec.channelCaps = Dictionary(uniqueKeysWithValues: channels.filter(table.channelNames.contains).map { ($0, channelCap) })
        }
        spec.minROI = minROI
        return (table, spec)
    }
}

/// Random problems with floors of every kind (issue 23), for property tests: a spend floor on
/// the first budget, a coverage row over a 0-1 column `is_new` (every other user), a coupon
/// floor on `c0`, and a parity row over a signed column `a_minus_b` (+1 for users `u % 3 == 0`,
/// -1 for `u % 3 == 1`). Each is left out when nil. Seeded.
public struct RandomFloors: Sendable {
    public var base = RandomProblem()
    /// The spend floor as a fraction of the first budget's limit.
    public var spendFloor: Double? = 0.7
    /// The coverage row's min as a fraction of the `is_new` users.
    public var coverage: Double? = 0.5
    public var couponFloor: Int? = 1
    /// The parity row's bounds: `-parity <= Σ a_minus_b x <= parity`.
    public var parity: Double? = 1

    public init() {}

    public func make(seed: UInt64) -> Problem {
        var (table, spec) = base.tableAndSpec(seed: seed)
        let users = (0..<table.count).map { table.user(ofCandidate: $0) }
        table = try! table.addingColumn("is_new", users.map { $0 % 2 == 0 ? 1 : 0 })
        table = try! table.addingColumn("a_minus_b", users.map { $0 % 3 == 0 ? 1 : ($0 % 3 == 1 ? -1 : 0) }, allowingNegative: true)
        if let spendFloor, !spec.budgets.isEmpty { spec.budgets[0].min = (spec.budgets[0].limit * spendFloor * 100).rounded(.down) / 100 }
        if let coverage {
            let newUsers = Double((0..<table.userCount).filter { $0 % 2 == 0 }.count)
            spec.constraints.append(.init(name: "new_users", column: "is_new", min: (coverage * newUsers).rounded(.up)))
        }
        if let couponFloor, table.couponIDs.contains("c0") { spec.couponFloors["c0"] = couponFloor }
        if let parity { spec.constraints.append(.init(name: "parity", column: "a_minus_b", min: -parity, max: parity)) }
        return try! Problem(candidates: table, spec: spec)
    }
}

/// The exact optimum by trying every subset of candidates, or nil when no subset meets every
/// constraint: the naive reference for tiny problems with floors (at most about 16 candidates).
public func bruteForce(_ problem: Problem) -> (value: Double, allocation: Allocation)? {
    let n = problem.candidates.count
    precondition(n <= 20, "brute force is for tiny problems")
    var best: (value: Double, allocation: Allocation)?
    for mask in 0..<(1 << n) {
        let allocation = Allocation(candidates: (0..<n).filter { mask & (1 << $0) != 0 })
        let report = Verifier.verify(problem, allocation)
        if report.isFeasible, report.objective > (best?.value ?? -.infinity) + 1e-12 { best = (report.objective, allocation) }
    }
    return best
}

/// The exact optimum by trying every subset of candidates: the naive reference for tiny
/// problems (at most about 16 candidates).
public func bruteForceOptimum(_ problem: Problem) -> (value: Double, allocation: Allocation) {
    let n = problem.candidates.count
    precondition(n <= 20, "brute force is for tiny problems")
    var best = 0.0
    var bestSet = Allocation(candidates: [])
    for mask in 0..<(1 << n) {
        let chosen = (0..<n).filter { mask & (1 << $0) != 0 }
        let allocation = Allocation(candidates: chosen)
        let report = Verifier.verify(problem, allocation)
        if report.isFeasible, report.objective > best + 1e-12 {
            best = report.objective
            bestSet = allocation
        }
    }
    return (best, bestSet)
}

/// Exact optimum of a single-budget, one-per-user problem with integer costs, by dynamic
/// programming over budget units (multiple-choice knapsack): the reference for mid-sized tests.
///
/// - Complexity: O(n x budget).
public func knapsackOptimum(_ problem: Problem) -> Double {
    precondition(problem.budgets.count == 1 && problem.maxPerUser == 1)
    let t = problem.candidates
    let capacity = Int(problem.budgets[0].limit)
    let column = t.columns[problem.budgets[0].column]
    var best = [Double](repeating: 0, count: capacity + 1)
    for u in 0..<t.userCount {
        var next = best
        for j in t.candidates(ofUser: u) where t.uplift[j] > 0 {
            let w = Int(column[j])
            precondition(Double(w) == column[j], "integer costs only")
            if w > capacity { continue }
            for b in w...capacity where best[b - w] + t.uplift[j] > next[b] {
                next[b] = best[b - w] + t.uplift[j]
            }
        }
        best = next
    }
    return best[capacity]
}

/// The repository's top folder.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The folder `data/` of the repository (public data sets, see data/README.md).
public let dataFolder = repositoryRoot.appendingPathComponent("data")

/// The OR-Library files in `data/orlib`.
public enum ORLibraryData {
    public static func mknapcb1() throws -> [Problem] {
        let text = try String(contentsOf: dataFolder.appendingPathComponent("orlib/mknapcb1.txt"), encoding: .utf8)
        return try ORLibrary.multidimensionalKnapsack(text, file: "mknapcb1.txt")
    }

    /// Best known values of mknapcb1 (first table of mkcbres.txt, first 30 values).
    public static func bestKnown() throws -> [Double] {
        let text = try String(contentsOf: dataFolder.appendingPathComponent("orlib/mkcbres.txt"), encoding: .utf8)
        return Array(ORLibrary.bestKnownValues(text).prefix(30))
    }
}

/// Constraint mixes: each type alone, then combined.
public let constraintMixes: [(String, RandomProblem)] = {
    var mixes: [(String, RandomProblem)] = []
    var base = RandomProblem()
    base.users = 4
    base.couponsPerUser = 3
    mixes.append(("one budget", base))
    var freq = base
    freq.maxPerUser = 2
    freq.budgetFraction = 0.5
    mixes.append(("frequency 2", freq))
    var multi = base
    multi.budgets = 2
    mixes.append(("two budgets", multi))
    var coupon = base
    coupon.couponCap = 1
    coupon.budgetFraction = 0.8
    mixes.append(("coupon caps", coupon))
    var channel = freq
    channel.channels = ["push", "email"]
    channel.channelCap = 1
    mixes.append(("channel caps", channel))
    var roi = base
    roi.minROI = 6   // above what most users' best coupons return, so the floor binds (DualTests checks)
    roi.budgetFraction = 0.9
    mixes.append(("min ROI", roi))
    var all = base
    all.maxPerUser = 2
    all.budgets = 2
    all.couponCap = 2
    all.channels = ["push", "email"]
    all.channelCap = 1
    all.minROI = 1.5
    all.budgetFraction = 0.5
    mixes.append(("everything", all))
    return mixes
}()
