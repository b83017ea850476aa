/// The scores: one candidate per (user, coupon) pair, stored column by column.
///
/// Layout, chosen to hold 1e8 candidates in a few GiB:
/// - user, coupon and channel identifiers are interned to dense integers;
/// - the candidates of user `u` are the contiguous range `userStart[u] ..< userStart[u + 1]`,
///   users in order of first appearance in the input, and a user's candidates in input order;
/// - numbers live in flat arrays: `uplift`, and one array per consumption column in `columns`
///   (`columns[0]` is `cost`; further columns are extra budget resources).
///
/// About 20 bytes per candidate with one consumption column, plus 8 per extra column and 4 with
/// channels. No object is created per candidate.
public struct CandidateTable: Sendable {
    public let userIDs: [String]
    public let couponIDs: [String]
    /// Channel names, indexed by the values of `channel`; empty when there is no channel column.
    public let channelNames: [String]
    /// `userCount + 1` offsets into the candidate arrays.
    public let userStart: [Int]
    public let coupon: [Int32]
    /// The channel index of each candidate, -1 for none; empty when there is no channel column.
    public let channel: [Int32]
    public let uplift: [Double]
    /// Names of the consumption columns; the first is always `cost`.
    public let columnNames: [String]
    /// Consumption columns, each with one value (>= 0) per candidate.
    public let columns: [[Double]]

    public var count: Int { uplift.count }
    public var userCount: Int { userIDs.count }
    public var couponCount: Int { couponIDs.count }
    public var channelCount: Int { channelNames.count }
    public var cost: [Double] { columns[0] }
    public var hasChannels: Bool { !channel.isEmpty }

    /// The candidates of user `u`.
    /// - Complexity: O(1).
    @inline(__always)
    public func candidates(ofUser u: Int) -> Range<Int> { userStart[u] ..< userStart[u + 1] }

    /// The user of candidate `j`.
    /// - Complexity: O(log users).
    public func user(ofCandidate j: Int) -> Int {
        var lo = 0
        var hi = userCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) >> 1
            if userStart[mid] <= j { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The channel of candidate `j`, or -1.
    @inline(__always)
    public func channel(of j: Int) -> Int { channel.isEmpty ? -1 : Int(channel[j]) }

    /// The total cost of giving every user its highest-uplift candidate (when positive): the
    /// scale for budgets given as fractions ("30% of what blanketing the best coupon costs").
    /// - Complexity: O(n).
    public func spendOfBestCandidates() -> Double {
        var total = 0.0
        for u in 0..<userCount {
            var best = -1
            for j in candidates(ofUser: u) where uplift[j] > 0 && (best < 0 || uplift[j] > uplift[best]) { best = j }
            if best >= 0 { total += cost[best] }
        }
        return total
    }

    /// Index of a consumption column by name.
    public func column(named name: String) -> Int? { columnNames.firstIndex(of: name) }

    init(userIDs: [String], couponIDs: [String], channelNames: [String], userStart: [Int],
         coupon: [Int32], channel: [Int32], uplift: [Double], columnNames: [String], columns: [[Double]]) {
        self.userIDs = userIDs
        self.couponIDs = couponIDs
        self.channelNames = channelNames
        self.userStart = userStart
        self.coupon = coupon
        self.channel = channel
        self.uplift = uplift
        self.columnNames = columnNames
        self.columns = columns
    }

    /// The same table with one more consumption column, for an extra budget (or, with
    /// `allowingNegative`, for a general row of the spec's `constraints`, whose values may be
    /// negative).
    ///
    /// - Throws: `InputError` when the name is taken, the count is wrong, or a value is not
    ///   finite or (without `allowingNegative`) negative.
    /// - Complexity: O(n).
    public func addingColumn(_ name: String, _ values: [Double], allowingNegative: Bool = false) throws -> CandidateTable {
        guard !columnNames.contains(name) else { throw InputError(file: "candidates", "column '\(name)' exists already") }
        guard values.count == count else {
            throw InputError(file: "candidates", "column '\(name)' has \(values.count) values for \(count) candidates")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }), allowingNegative {
            throw InputError(file: "candidates", "column '\(name)': value \(values[bad]) at candidate \(bad) must be a finite number")
        }
        if !allowingNegative, let bad = values.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw InputError(file: "candidates", "column '\(name)': value \(values[bad]) at candidate \(bad) must be a finite number >= 0")
        }
        return CandidateTable(userIDs: userIDs, couponIDs: couponIDs, channelNames: channelNames, userStart: userStart,
                              coupon: coupon, channel: channel, uplift: uplift,
                              columnNames: columnNames + [name], columns: columns + [values])
    }

    /// The candidates of `users` only (indices in ascending order), with the same coupons,
    /// channels and columns: the dual's sample for its warm start.
    /// - Complexity: O(their candidates + columns).
    package func restricted(toUsers users: [Int]) -> CandidateTable {
        var start = [0]
        start.reserveCapacity(users.count + 1)
        var rows: [Int] = []
        for u in users {
            rows.append(contentsOf: candidates(ofUser: u))
            start.append(rows.count)
        }
        return CandidateTable(userIDs: users.map { userIDs[$0] }, couponIDs: couponIDs, channelNames: channelNames,
                              userStart: start, coupon: rows.map { coupon[$0] },
                              channel: channel.isEmpty ? [] : rows.map { channel[$0] }, uplift: rows.map { uplift[$0] },
                              columnNames: columnNames, columns: columns.map { column in rows.map { column[$0] } })
    }

    /// Builds a table from rows in any order, e.g. for use as a library.
    ///
    /// - Throws: `InputError` on a negative or non-finite number or a duplicate pair.
    /// - Complexity: O(n) expected.
    public init(rows: [CandidateRow], extraColumns: [String] = []) throws {
        var builder = CandidateTableBuilder(source: "candidates", extraColumns: extraColumns,
                                            hasChannel: rows.contains { $0.channel != nil })
        for (r, row) in rows.enumerated() { try builder.add(row, rowNumber: r + 1) }
        self = try builder.build()
    }
}

/// One row of scores, for building a `CandidateTable` in code.
public struct CandidateRow: Sendable {
    public var user: String
    public var coupon: String
    public var uplift: Double
    public var cost: Double
    public var channel: String?
    /// Values of the extra consumption columns, in the order given to the table.
    public var extra: [Double]

    public init(user: String, coupon: String, uplift: Double, cost: Double, channel: String? = nil, extra: [Double] = []) {
        self.user = user
        self.coupon = coupon
        self.uplift = uplift
        self.cost = cost
        self.channel = channel
        self.extra = extra
    }
}

/// Accumulates candidates in input order, then groups them by user.
///
/// Rows that already arrive grouped by user (as `allot generate` writes them) are not copied
/// again; otherwise a stable counting sort groups them, costing one extra copy of each column
/// while it runs.
struct CandidateTableBuilder {
    let source: String
    let columnNames: [String]
    let hasChannel: Bool
    /// Rows are numbered from 0 by position in a caller's table (`ColumnarScores`), not by line;
    /// `rowLine` is then left empty (row r's number is r).
    var numbersRowsFromZero = false
    var rowUser: [Int32] = []
    var rowCoupon: [Int32] = []
    var rowChannel: [Int32] = []
    var uplift: [Double] = []
    var columns: [[Double]]
    /// Input line of each row, for error messages; empty when rows have no lines.
    var rowLine: [Int32] = []
    /// When the caller knows that the rows come grouped by user (users numbered in order of
    /// first appearance): where each user's rows start, given in place of `rowUser` (left empty).
    var groupedUserStart: [Int]? = nil
    var userIDs: [String] = []
    var couponIDs: [String] = []
    var channelNames: [String] = []
    private var userIndex: [String: Int32] = [:]
    private var couponIndex: [String: Int32] = [:]
    private var channelIndex: [String: Int32] = [:]

    init(source: String, extraColumns: [String], hasChannel: Bool) {
        self.source = source
        self.columnNames = ["cost"] + extraColumns
        self.hasChannel = hasChannel
        self.columns = Array(repeating: [], count: 1 + extraColumns.count)
    }

    /// Sizes the arrays for `n` rows.
    ///
    /// - Returns: when `exact` (the count is known, not estimated), the reserved storage the rows
    ///   will fill, which a caller may have mapped ahead (AllotIO's `ReservedStorage`); else none.
    @discardableResult
    mutating func reserve(_ n: Int, exact: Bool = false) -> [ReservedArray] {
        rowUser.reserveCapacity(n)
        rowCoupon.reserveCapacity(n)
        if hasChannel { rowChannel.reserveCapacity(n) }
        uplift.reserveCapacity(n)
        for c in columns.indices { columns[c].reserveCapacity(n) }
        guard exact else { return [] }
        // The arrays every row fills (not rowUser: rows grouped by user never write it).
        var filled = [rowCoupon.reservedStorage(), rowChannel.reservedStorage(), uplift.reservedStorage()]
        for c in columns.indices { filled.append(columns[c].reservedStorage()) }
        return filled.compactMap { $0 }
    }

    /// Adds a row given by names (the library path).
    mutating func add(_ row: CandidateRow, rowNumber: Int) throws {
        func fail(_ message: String) -> InputError { InputError(file: source, line: rowNumber, "row \(rowNumber): " + message) }
        guard row.uplift.isFinite else { throw fail("uplift is not a finite number") }
        guard row.cost.isFinite, row.cost >= 0 else { throw fail("cost must be a finite number >= 0, got \(row.cost)") }
        guard row.extra.count == columnNames.count - 1 else {
            throw fail("expected \(columnNames.count - 1) extra values, got \(row.extra.count)")
        }
        for (k, v) in row.extra.enumerated() where !(v.isFinite && v >= 0) {
            throw fail("\(columnNames[k + 1]) must be a finite number >= 0, got \(v)")
        }
        let u = Self.intern(row.user, &userIndex, &userIDs)
        let c = Self.intern(row.coupon, &couponIndex, &couponIDs)
        let ch = row.channel.map { Self.intern($0, &channelIndex, &channelNames) } ?? -1
        appendKeys(user: u, coupon: c, channel: ch, uplift: row.uplift, line: rowNumber)
        columns[0].append(row.cost)
        for k in row.extra.indices { columns[k + 1].append(row.extra[k]) }
    }

    private static func intern(_ s: String, _ index: inout [String: Int32], _ names: inout [String]) -> Int32 {
        if let i = index[s] { return i }
        let i = Int32(names.count)
        index[s] = i
        names.append(s)
        return i
    }

    /// Appends everything of a row but its consumption values, which the caller appends to
    /// `columns` itself (so that no array is made per row).
    @inline(__always)
    mutating func appendKeys(user: Int32, coupon: Int32, channel: Int32, uplift u: Double, line: Int) {
        rowUser.append(user)
        rowCoupon.append(coupon)
        if hasChannel { rowChannel.append(channel) }
        uplift.append(u)
        rowLine.append(Int32(truncatingIfNeeded: line))
    }

    /// Groups rows by user and checks that no (user, coupon) pair repeats.
    ///
    /// - Complexity: O(n + users + coupons).
    consuming func build() throws -> CandidateTable {
        try buildKeepingRows().table
    }

    /// `build()`, also returning the line (or row) each candidate of the table came from; nil
    /// for rows numbered from 0 that were grouped by user already (candidate j is row j).
    mutating func buildKeepingRows() throws -> (table: CandidateTable, rows: [Int32]?) {
        let n = uplift.count
        let users = userIDs.count
        var grouped = true
        var userStart: [Int]
        if var given = groupedUserStart {
            groupedUserStart = nil
            given.append(n)
            userStart = given
        } else {
            var last: Int32 = -1
            for r in 0..<n {
                let u = rowUser[r]
                if u != last {
                    if u != last &+ 1 { grouped = false; break }
                    last = u
                }
            }
            userStart = [Int](repeating: 0, count: users + 1)
            for r in 0..<n { userStart[Int(rowUser[r]) + 1] += 1 }
            for u in 0..<users { userStart[u + 1] += userStart[u] }
        }
        if !grouped {
            var next = userStart
            var position = [Int](repeating: 0, count: n)
            for r in 0..<n {
                let u = Int(rowUser[r])
                position[r] = next[u]
                next[u] += 1
            }
            rowCoupon = permuted(rowCoupon, position)
            if hasChannel { rowChannel = permuted(rowChannel, position) }
            uplift = permuted(uplift, position)
            for c in columns.indices { columns[c] = permuted(columns[c], position) }
            if numbersRowsFromZero {
                rowLine = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
                    for r in 0..<n { (buffer.baseAddress! + position[r]).initialize(to: Int32(r)) }
                    count = n
                }
            } else if !rowLine.isEmpty {
                rowLine = permuted(rowLine, position)
            }
        }
        rowUser = []
        // Duplicate (user, coupon) pairs: one stamp per coupon of the last user that had it.
        var stamp = [Int32](repeating: -1, count: couponIDs.count)
        var firstAt = [Int](repeating: 0, count: couponIDs.count)
        for u in 0..<users {
            for j in userStart[u] ..< userStart[u + 1] {
                let c = Int(rowCoupon[j])
                if stamp[c] == Int32(u) {
                    let line = rowLine.isEmpty ? j : Int(rowLine[j])
                    let first = rowLine.isEmpty ? firstAt[c] : Int(rowLine[firstAt[c]])
                    if numbersRowsFromZero {
                        throw InputError(file: source, "row \(line): duplicate row for user '\(userIDs[u])' and coupon '\(couponIDs[c])' (first at row \(first))")
                    }
                    let word = source == "candidates" ? "row" : "line"
                    throw InputError(file: source, line: line, column: 1,
                                     "duplicate row for user '\(userIDs[u])' and coupon '\(couponIDs[c])' (first at \(word) \(first))")
                }
                stamp[c] = Int32(u)
                firstAt[c] = j
            }
        }
        try Self.checkSums(uplift, "uplift", source: source)
        for (c, name) in columnNames.enumerated() { try Self.checkSums(columns[c], name, source: source) }
        let table = CandidateTable(userIDs: userIDs, couponIDs: couponIDs, channelNames: channelNames,
                                   userStart: userStart, coupon: rowCoupon, channel: rowChannel, uplift: uplift,
                                   columnNames: columnNames, columns: columns)
        return (table, numbersRowsFromZero && grouped ? nil : rowLine)
    }

    /// Refuses a column whose values, each finite, sum (in magnitude) past the largest double:
    /// an objective, a spend or a bound of such a column would overflow to infinity, which no
    /// summary can state. - Complexity: O(n).
    static func checkSums(_ values: [Double], _ name: String, source: String) throws {
        var total = 0.0
        for v in values { total += abs(v) }
        guard total.isFinite else {
            let largest = values.map(abs).max() ?? 0
            throw InputError(file: source, "the values of column '\(name)' sum past \(Double.greatestFiniteMagnitude), the largest number a summary can hold (the largest is \(largest)); scale the column down")
        }
    }

    private func permuted<T>(_ values: [T], _ position: [Int]) -> [T] {
        [T](unsafeUninitializedCapacity: values.count) { buffer, count in
            for r in values.indices { (buffer.baseAddress! + position[r]).initialize(to: values[r]) }
            count = values.count
        }
    }
}

/// An array's reserved storage: its base address, bytes per element and capacity.
package typealias ReservedArray = (base: UInt, stride: Int, capacity: Int)

extension Array {
    /// The reserved storage's (base address, bytes per element, capacity), for
    /// AllotIO's `ReservedStorage.populate`; nil when nothing is allocated.
    ///
    /// - Complexity: O(1).
    mutating func reservedStorage() -> ReservedArray? {
        let capacity = capacity
        guard capacity > 0 else { return nil }
        return withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { (UInt(bitPattern: $0), MemoryLayout<Element>.stride, capacity) }
        }
    }
}
