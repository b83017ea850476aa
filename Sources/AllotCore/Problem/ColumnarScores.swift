/// Scores held column by column by a caller (a data frame, an Arrow table), with the user,
/// coupon and channel columns dictionary-encoded: the path of the C ABI and the Python package.
///
/// Validation and messages are the scores CSV's (see `ScoresFile`), with the place given as
/// `row N` (N is the 0-based position in the caller's table) instead of a line and column.
package enum ColumnarScores {
    /// One dictionary-encoded column: `codes[r]` indexes the dictionary, -1 means missing.
    package struct Encoded {
        package var codes: UnsafeBufferPointer<Int32>
        /// The dictionary's size.
        package var count: Int
        /// Entry `k` of the dictionary; nil when it is not valid UTF-8.
        package var entry: (Int) -> String?

        package init(codes: UnsafeBufferPointer<Int32>, count: Int, entry: @escaping (Int) -> String?) {
            self.codes = codes
            self.count = count
            self.entry = entry
        }
    }

    /// One string per row, laid out as Arrow's large_string: row `r` is the UTF-8 bytes
    /// `data[offsets[r] ..< offsets[r + 1]]` (a null row is an empty string).
    package struct Strings {
        /// `rows + 1` offsets, non-decreasing, the last within `data`.
        package var offsets: UnsafeBufferPointer<Int64>
        package var data: UnsafePointer<UInt8>?

        package init(offsets: UnsafeBufferPointer<Int64>, data: UnsafePointer<UInt8>?) {
            self.offsets = offsets
            self.data = data
        }

        var count: Int { max(0, offsets.count - 1) }
    }

    /// An id column, given either way.
    package enum IDs {
        case encoded(Encoded)
        case strings(Strings)

        var count: Int {
            switch self {
            case .encoded(let e): e.codes.count
            case .strings(let s): s.count
            }
        }
    }

    /// Checks a table's column names as the CLI checks a scores header against a spec.
    ///
    /// - Throws: `InputError` naming `source` for a repeated or missing required column, or
    ///   `specName` for a budget on a column the table does not have.
    package static func checkHeader(_ header: [String], spec: AllocationSpec, source: String, specName: String) throws {
        try ProblemLoader.checkBudgetColumns(spec, header: header, scoresName: source, specName: specName)
        do {
            _ = try ScoresFile.Layout(header: header, columns: Array(1...max(1, header.count)), extraColumns: spec.extraColumns, file: source)
        } catch let error as InputError {
            throw InputError(file: source, error.message)  // a table has no header line to point at
        }
    }

    /// Builds a table from columns, grouping rows by user as `ScoresFile.read` does.
    ///
    /// Users, coupons and channels are renumbered in order of first appearance and entries
    /// the rows never use are dropped, so the table (and so the allocation) is the one the CLI
    /// builds from the same rows written as CSV, whatever the dictionaries' order.
    ///
    /// - Parameters:
    ///   - columns: `cost` first, then the extra consumption columns named in `columnNames`.
    /// - Returns: the table and, for each of its candidates, the row it came from.
    /// - Throws: `InputError` naming `source` and the row of the first problem.
    /// - Complexity: O(rows + dictionary sizes).
    package static func table(source: String, rows n: Int, user: IDs, coupon: IDs, channel: IDs?,
                              uplift: UnsafeBufferPointer<Double>, columnNames: [String],
                              columns: [UnsafeBufferPointer<Double>]) throws -> (table: CandidateTable, rows: [Int32]) {
        func fail(_ r: Int, _ message: String) -> InputError { InputError(file: source, "row \(r): " + message) }
        guard n >= 1 else { throw InputError(file: source, "the table has no rows") }
        guard n < Int(Int32.max) else { throw InputError(file: source, "\(n) rows is more than \(Int32.max - 1)") }
        guard columnNames.first == "cost", columns.count == columnNames.count else {
            throw InputError(file: source, "the consumption columns must start with cost (got \(columnNames))")
        }
        for (name, count) in [("user_id", user.count), ("coupon_id", coupon.count), ("uplift", uplift.count)]
            + zip(columnNames, columns.map(\.count)) + (channel.map { [("channel", $0.count)] } ?? []) where count != n {
            throw InputError(file: source, "column '\(name)' has \(count) values for \(n) rows")
        }

        var builder = CandidateTableBuilder(source: source, extraColumns: Array(columnNames.dropFirst()), hasChannel: channel != nil)
        builder.numbersRowsFromZero = true
        builder.rowUser = try renumber(user, name: "user_id", required: true, into: &builder.userIDs, fail)
        builder.rowCoupon = try renumber(coupon, name: "coupon_id", required: true, into: &builder.couponIDs, fail)
        if let channel { builder.rowChannel = try renumber(channel, name: "channel", required: false, into: &builder.channelNames, fail) }

        for r in 0..<n where !uplift[r].isFinite {
            throw fail(r, "'\(uplift[r])' in column 'uplift' is not a finite number")
        }
        builder.uplift = Array(uplift)
        for (k, values) in columns.enumerated() {
            for r in 0..<n {
                let v = values[r]
                if !v.isFinite { throw fail(r, "'\(v)' in column '\(columnNames[k])' is not a finite number") }
                if v < 0 { throw fail(r, "\(columnNames[k]) must be >= 0, got \(v)") }
            }
            builder.columns[k] = Array(values)
        }
        builder.rowLine = (0..<Int32(n)).map { $0 }
        return try builder.buildKeepingRows()
    }

    /// Ids numbered by first appearance; `names` gets the strings. An optional column (channel)
    /// maps missing and blank entries to -1, as the CSV reader does.
    private static func renumber(_ column: IDs, name: String, required: Bool, into names: inout [String],
                                 _ fail: (Int, String) -> InputError) throws -> [Int32] {
        switch column {
        case .encoded(let e): try renumber(e, name: name, required: required, into: &names, fail)
        case .strings(let s): try intern(s, name: name, required: required, into: &names, fail)
        }
    }

    /// Interns one string per row as the CSV reader does (a row with the previous row's id costs
    /// one comparison).
    private static func intern(_ column: Strings, name: String, required: Bool, into names: inout [String],
                               _ fail: (Int, String) -> InputError) throws -> [Int32] {
        let n = column.count
        // Users: sized for 8 candidates each (no rehash of millions of keys); others are few.
        var interner = ByteInterner(capacity: name == "user_id" ? max(1 << 16, n / 8) : 64)
        var out = [Int32](repeating: -1, count: n)
        var empty: UInt8 = 0
        return try withUnsafePointer(to: &empty) { nothing in
            var last: (UnsafePointer<UInt8>, Int, Int32)? = nil
            for r in 0..<n {
                let start = Int(column.offsets[r])
                var length = Int(column.offsets[r + 1]) - start
                var p = length > 0 ? column.data! + start : nothing
                if !required {
                    while length > 0, p[0] == 0x20 || p[0] == 0x09 { p += 1; length -= 1 }
                    while length > 0, p[length - 1] == 0x20 || p[length - 1] == 0x09 { length -= 1 }
                }
                if length == 0 {
                    if required { throw fail(r, "empty \(name)") }
                    continue
                }
                if let (q, m, id) = last, m == length, memoryEqual(q, p, m) {
                    out[r] = id
                    continue
                }
                let known = interner.count
                let id = interner.intern(p, length)
                if Int(id) == known {
                    guard let s = validString(UnsafeBufferPointer(start: p, count: length)) else {
                        throw fail(r, "\(name) is not valid UTF-8")
                    }
                    names.append(s)
                }
                out[r] = id
                last = (p, length, id)
            }
            return out
        }
    }

    /// The bytes as a string, or nil when they are not UTF-8. ASCII (most ids) skips the
    /// generic validation, which costs more than the rest of interning a new id.
    @inline(__always)
    private static func validString(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var high: UInt8 = 0
        for b in bytes { high |= b }
        if high < 0x80 { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func renumber(_ column: Encoded, name: String, required: Bool, into names: inout [String],
                                 _ fail: (Int, String) -> InputError) throws -> [Int32] {
        let unseen = Int32.min
        var map = [Int32](repeating: unseen, count: column.count)
        var index: [String: Int32] = [:]
        var out = [Int32](repeating: -1, count: column.codes.count)
        for (r, code) in column.codes.enumerated() {
            if code == -1 {
                if required { throw fail(r, "empty \(name)") }
                continue
            }
            guard code >= 0, Int(code) < column.count else {
                throw fail(r, "\(name) code \(code) is outside the dictionary of \(column.count) entries")
            }
            var k = map[Int(code)]
            if k == unseen {
                guard var s = column.entry(Int(code)) else { throw fail(r, "\(name) is not valid UTF-8") }
                if !required { s = s.trimmingSpaces() }
                if s.isEmpty {
                    if required { throw fail(r, "empty \(name)") }
                    k = -1
                } else if let known = index[s] {
                    k = known
                } else {
                    k = Int32(names.count)
                    index[s] = k
                    names.append(s)
                }
                map[Int(code)] = k
            }
            out[r] = k
        }
        return out
    }
}
