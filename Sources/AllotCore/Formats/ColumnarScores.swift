/// Scores held column by column by a caller (a data frame, an Arrow table), with the user,
/// coupon and channel columns dictionary-encoded: the path of the C ABI and the Python package.
///
/// Validation and messages are the scores CSV's (see `ScoresFile`), with the place given as
/// `row N` (N is the 0-based position in the caller's table) instead of a line and column.
package enum ColumnarScores {
    /// One dictionary-encoded column: `codes[r]` indexes `dictionary`, -1 means missing.
    package struct Encoded {
        package var codes: UnsafeBufferPointer<Int32>
        /// The dictionary's entries, one string each (checked as UTF-8 when a row uses them).
        package var dictionary: Strings

        package init(codes: UnsafeBufferPointer<Int32>, dictionary: Strings) {
            self.codes = codes
            self.dictionary = dictionary
        }

        /// The dictionary's size.
        var count: Int { dictionary.count }
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
            _ = try ScoresFile.Layout(header: header, columns: Array(1...max(1, header.count)), extraColumns: spec.numericColumns, file: source)
        } catch let error as InputError {
            throw InputError(file: source, error.message)  // a table has no header line to point at
        }
    }

    /// Builds a table from columns, grouping rows by user as `ScoresFile.read` does: one chunk
    /// given to a `Chunks`, then built.
    ///
    /// - Parameters:
    ///   - columns: `cost` first, then the extra consumption columns named in `columnNames`.
    ///   - signedFrom: the columns from this index on may hold negative values (a general
    ///     row's); nil: none may.
    /// - Returns: the table and, for each of its candidates, the row it came from (nil when
    ///   the rows were grouped by user: candidate j is row j).
    /// - Throws: `InputError` naming `source` and the row of the first problem.
    /// - Complexity: O(rows + dictionary sizes).
    package static func table(source: String, rows n: Int, user: IDs, coupon: IDs, channel: IDs?,
                              uplift: UnsafeBufferPointer<Double>, columnNames: [String],
                              columns: [UnsafeBufferPointer<Double>], signedFrom: Int? = nil) throws -> (table: CandidateTable, rows: [Int32]?) {
        guard n >= 1 else { throw InputError(file: source, "the table has no rows") }
        var chunks = try Chunks(source: source, columnNames: columnNames, hasChannel: channel != nil, expectedRows: n,
                                signedFrom: signedFrom)
        try chunks.append(rows: n, user: user, coupon: coupon, channel: channel, uplift: uplift, columns: columns)
        return try chunks.build()
    }

    /// A table given in chunks of rows (e.g. one Parquet row group at a time), each read and
    /// copied when it is appended, so that the caller may release it straight after. Rows are
    /// numbered across chunks (the first row of a chunk follows the last of the one before).
    ///
    /// Users, coupons and channels are renumbered in order of first appearance and dictionary
    /// entries the rows never use are dropped, so the table (and so the allocation) is the one
    /// the CLI builds from the same rows written as CSV, whatever the chunks and dictionaries.
    package struct Chunks: Sendable {
        let source: String
        private var builder: CandidateTableBuilder
        private var users: ByteInterner
        private var coupons = ByteInterner(capacity: 64)
        private var channels = ByteInterner(capacity: 16)
        /// The renumbered ids of the chunk being appended, kept from one append to the next so
        /// that their memory is mapped once (fresh memory costs a page fault per 4 KiB).
        private var rowUser: [Int32] = [], rowCoupon: [Int32] = [], rowChannel: [Int32] = []
        /// Rows appended so far.
        package private(set) var rows = 0
        /// Columns from this index on may hold negative values.
        private let signedFrom: Int
        /// The storage the rows will fill when `expectedRows` was given: a caller may have it
        /// mapped ahead, on another thread (AllotIO's `ReservedStorage.populate`).
        package private(set) var reservedStorage: [ReservedArray] = []

        /// - Parameters:
        ///   - columnNames: the consumption columns, `cost` first.
        ///   - expectedRows: the table's rows if known (sizes the arrays once), else 0.
        ///   - signedFrom: the columns from this index on may hold negative values (a general
        ///     row's, `AllocationSpec.signedColumns`); nil: none may.
        package init(source: String, columnNames: [String], hasChannel: Bool, expectedRows: Int, signedFrom: Int? = nil) throws {
            guard columnNames.first == "cost" else {
                throw InputError(file: source, "the consumption columns must start with cost (got \(columnNames))")
            }
            self.source = source
            self.signedFrom = signedFrom ?? columnNames.count
            builder = CandidateTableBuilder(source: source, extraColumns: Array(columnNames.dropFirst()), hasChannel: hasChannel)
            builder.numbersRowsFromZero = true
            let expected = max(0, min(expectedRows, Int(Int32.max)))
            reservedStorage = builder.reserve(expected, exact: expectedRows > 0)
            // Users: sized for 8 candidates each (no rehash of millions of keys); others are few.
            let expectedUsers = max(1 << 16, expected / 8)
            users = ByteInterner(capacity: expectedUsers)
            builder.userIDs.reserveCapacity(expectedUsers)
            var start: [Int] = []
            start.reserveCapacity(expectedUsers)
            builder.groupedUserStart = start
        }

        /// Appends `n` rows: every column must have `n` values.
        ///
        /// - Throws: `InputError` naming the source and the (table-wide) row of the first problem.
        /// - Complexity: O(n + dictionary sizes).
        package mutating func append(rows n: Int, user: IDs, coupon: IDs, channel: IDs?,
                                     uplift: UnsafeBufferPointer<Double>, columns: [UnsafeBufferPointer<Double>]) throws {
            let source = source, first = rows
            func fail(_ r: Int, _ message: String) -> InputError { InputError(file: source, "row \(first + r): " + message) }
            let columnNames = builder.columnNames
            guard n >= 0, n < Int(Int32.max) - rows else {
                throw InputError(file: source, "\(rows + n) rows is more than \(Int32.max - 1)")
            }
            guard columns.count == columnNames.count, (channel != nil) == builder.hasChannel else {
                throw InputError(file: source, "expected the columns \(columnNames)\(builder.hasChannel ? " and channel" : "")")
            }
            for (name, count) in [("user_id", user.count), ("coupon_id", coupon.count), ("uplift", uplift.count)]
                + zip(columnNames, columns.map(\.count)) + (channel.map { [("channel", $0.count)] } ?? []) where count != n {
                throw InputError(file: source, "column '\(name)' has \(count) values for \(n) rows")
            }
            try Self.renumber(user, name: "user_id", required: true, interner: &users, names: &builder.userIDs, into: &rowUser, fail)
            try Self.renumber(coupon, name: "coupon_id", required: true, interner: &coupons, names: &builder.couponIDs, into: &rowCoupon, fail)
            if let channel {
                try Self.renumber(channel, name: "channel", required: false, interner: &channels, names: &builder.channelNames,
                                  into: &rowChannel, fail)
            }
            for r in 0..<n where !uplift[r].isFinite {
                throw fail(r, "'\(uplift[r])' in column 'uplift' is not a finite number")
            }
            for (k, values) in columns.enumerated() {
                for r in 0..<n {
                    let v = values[r]
                    if !v.isFinite { throw fail(r, "'\(v)' in column '\(columnNames[k])' is not a finite number") }
                    if v < 0 && k < signedFrom { throw fail(r, "\(columnNames[k]) must be >= 0, got \(v)") }
                }
            }
            // Only a chunk that passed every check is added.
            addUsers(rowUser, first: first)
            builder.rowCoupon.append(contentsOf: rowCoupon)
            if channel != nil { builder.rowChannel.append(contentsOf: rowChannel) }
            builder.uplift.append(contentsOf: uplift)
            for (k, values) in columns.enumerated() { builder.columns[k].append(contentsOf: values) }
            rows += n
        }

        /// Adds the users of the rows from `first` on. While the rows come grouped by user (a
        /// user's rows adjacent, as in a file written user by user), only where each user starts
        /// is kept; the first row that returns to an earlier user writes out every row's user.
        private mutating func addUsers(_ rowUser: [Int32], first: Int) {
            if var start = builder.groupedUserStart {
                builder.groupedUserStart = nil  // (no second reference while `start` grows)
                let known = start.count  // users whose rows start before this chunk
                var split = false
                for (r, u) in rowUser.enumerated() where Int(u) != start.count - 1 {
                    if Int(u) != start.count { split = true; break }
                    start.append(first + r)
                }
                if !split {
                    builder.groupedUserStart = start
                    return
                }
                start.removeSubrange(known...)
                start.append(first)
                for u in 0 ..< known {
                    builder.rowUser.append(contentsOf: repeatElement(Int32(u), count: start[u + 1] - start[u]))
                }
            }
            builder.rowUser.append(contentsOf: rowUser)
        }

        /// Groups the rows by user and checks that no (user, coupon) pair repeats.
        ///
        /// - Returns: the table and, for each of its candidates, the row it came from (nil when
        ///   the rows were grouped by user: candidate j is row j).
        package consuming func build() throws -> (table: CandidateTable, rows: [Int32]?) {
            guard rows >= 1 else { throw InputError(file: source, "the table has no rows") }
            return try builder.buildKeepingRows()
        }

        /// Ids numbered by first appearance across chunks, one per row, in `out` (replacing what
        /// it held, in its memory); `names` gets the strings. An optional column (channel) maps
        /// missing and blank entries to -1, as the CSV reader does.
        private static func renumber(_ column: IDs, name: String, required: Bool, interner: inout ByteInterner,
                                     names: inout [String], into out: inout [Int32], _ fail: (Int, String) -> InputError) throws {
            // Sized to the rows, in the memory it has; every row is written below, so what it held
            // is not cleared first.
            let n = column.count
            if out.count > n { out.removeLast(out.count - n) } else { out.append(contentsOf: repeatElement(-1, count: n - out.count)) }
            try out.withUnsafeMutableBufferPointer { out in
                switch column {
                case .encoded(let e): try renumber(e, name: name, required: required, interner: &interner, names: &names, into: out, fail)
                case .strings(let s): try intern(s, name: name, required: required, interner: &interner, names: &names, into: out, fail)
                }
            }
        }

        /// The bytes trimmed of spaces and tabs for an optional column (as the CSV reader trims
        /// channels); a required column's as they are.
        @inline(__always)
        private static func trimmed(_ bytes: UnsafePointer<UInt8>, _ count: Int, required: Bool) -> (UnsafePointer<UInt8>, Int) {
            var p = bytes, length = count
            if !required {
                while length > 0, p[0] == 0x20 || p[0] == 0x09 { p += 1; length -= 1 }
                while length > 0, p[length - 1] == 0x20 || p[length - 1] == 0x09 { length -= 1 }
            }
            return (p, length)
        }

        /// The id of the (trimmed) bytes whose hash is `h`, or -1 for none; adds a new id's string
        /// to `names`.
        @inline(__always)
        private static func id(_ p: UnsafePointer<UInt8>, _ length: Int, hash h: UInt64, _ r: Int, name: String, required: Bool,
                               interner: inout ByteInterner, names: inout [String],
                               _ fail: (Int, String) -> InputError) throws -> Int32 {
            if length == 0 {
                if required { throw fail(r, "empty \(name)") }
                return -1
            }
            let known = interner.count
            let id = interner.intern(p, length, hash: h)
            if Int(id) == known {
                guard let s = validString(UnsafeBufferPointer(start: p, count: length)) else {
                    throw fail(r, "\(name) is not valid UTF-8")
                }
                names.append(s)
            }
            return id
        }

        /// Interns one string per row as the CSV reader does. A row with the previous row's id
        /// costs one comparison; the others are looked up in blocks, each block's table slots
        /// read together first (with millions of ids, each lookup is a cache miss).
        private static func intern(_ column: Strings, name: String, required: Bool, interner: inout ByteInterner,
                                   names: inout [String], into out: UnsafeMutableBufferPointer<Int32>,
                                   _ fail: (Int, String) -> InputError) throws {
            let n = column.count
            let block = 32
            var empty: UInt8 = 0
            var runRow = [Int](repeating: 0, count: block), runBytes = [(UnsafePointer<UInt8>, Int)](), runHash = [UInt64](repeating: 0, count: block)
            try withUnsafePointer(to: &empty) { nothing in
                runBytes = [(UnsafePointer<UInt8>, Int)](repeating: (nothing, 0), count: block)
                var last: (UnsafePointer<UInt8>, Int)? = nil
                var id: Int32 = -1
                var r = 0
                while r < n {
                    // The rows up to `block` changes of id, and the changed ids' hashes.
                    var runs = 0, end = r
                    while end < n {
                        let start = Int(column.offsets[end])
                        let length = Int(column.offsets[end + 1]) - start
                        let (p, m) = trimmed(length > 0 ? column.data! + start : nothing, length, required: required)
                        if let (q, k) = last, k == m, memoryEqual(q, p, m) { end += 1; continue }
                        if runs == block { break }
                        runRow[runs] = end
                        runBytes[runs] = (p, m)
                        runHash[runs] = ByteInterner.hash(p, m)
                        runs += 1
                        last = (p, m)
                        end += 1
                    }
                    runHash.withUnsafeBufferPointer { interner.touch(UnsafeBufferPointer(rebasing: $0[0..<runs])) }
                    var run = 0
                    for row in r..<end {
                        if run < runs && runRow[run] == row {
                            let (p, m) = runBytes[run]
                            id = try Self.id(p, m, hash: runHash[run], row, name: name, required: required,
                                             interner: &interner, names: &names, fail)
                            run += 1
                        }
                        out[row] = id
                    }
                    r = end
                }
            }
        }

        /// Renumbers codes in three passes: the entries in order of first use (checking codes and
        /// entries, so that the first problem in row order is the one reported), then those
        /// entries interned in blocks as `intern` does, then one id per row. A dictionary column
        /// costs one lookup per entry used, not one hash per row.
        private static func renumber(_ column: Encoded, name: String, required: Bool, interner: inout ByteInterner,
                                     names: inout [String], into out: UnsafeMutableBufferPointer<Int32>,
                                     _ fail: (Int, String) -> InputError) throws {
            let unseen = Int32.min, pending = Int32.min + 1
            let dictionary = column.dictionary, size = column.count
            var map = [Int32](repeating: unseen, count: size)
            var used: [Int32] = []  // entries in order of first use
            var empty: UInt8 = 0
            try withUnsafePointer(to: &empty) { nothing in
                func bytes(_ k: Int) -> (UnsafePointer<UInt8>, Int) {
                    let start = Int(dictionary.offsets[k])
                    let length = Int(dictionary.offsets[k + 1]) - start
                    return trimmed(length > 0 ? dictionary.data! + start : nothing, length, required: required)
                }
                try map.withUnsafeMutableBufferPointer { map in
                    for (r, code) in column.codes.enumerated() {
                        if code >= 0 && Int(code) < size && map[Int(code)] != unseen { continue }
                        if code == -1 {
                            if required { throw fail(r, "empty \(name)") }
                            continue
                        }
                        guard code >= 0, Int(code) < size else {
                            throw fail(r, "\(name) code \(code) is outside the dictionary of \(size) entries")
                        }
                        let (p, m) = bytes(Int(code))
                        if m == 0 {
                            if required { throw fail(r, "empty \(name)") }
                            map[Int(code)] = -1
                            continue
                        }
                        guard isUTF8(UnsafeBufferPointer(start: p, count: m)) else { throw fail(r, "\(name) is not valid UTF-8") }
                        map[Int(code)] = pending
                        used.append(code)
                    }
                    let block = 32
                    var hashes = [UInt64](repeating: 0, count: block)
                    var at = 0
                    while at < used.count {
                        let end = min(used.count, at + block)
                        for j in at..<end {
                            let (p, m) = bytes(Int(used[j]))
                            hashes[j - at] = ByteInterner.hash(p, m)
                        }
                        hashes.withUnsafeBufferPointer { interner.touch(UnsafeBufferPointer(rebasing: $0[0..<(end - at)])) }
                        for j in at..<end {
                            let (p, m) = bytes(Int(used[j]))
                            let known = interner.count
                            let id = interner.intern(p, m, hash: hashes[j - at])
                            if Int(id) == known { names.append(String(decoding: UnsafeBufferPointer(start: p, count: m), as: UTF8.self)) }
                            map[Int(used[j])] = id
                        }
                        at = end
                    }
                    for (r, code) in column.codes.enumerated() { out[r] = code == -1 ? -1 : map[Int(code)] }
                }
            }
        }
    }

    /// Whether the bytes are UTF-8, ASCII (most ids) checked without the generic validation.
    @inline(__always)
    private static func isUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        isASCII(bytes) || String(validating: bytes, as: UTF8.self) != nil
    }

    @inline(__always)
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var high: UInt8 = 0
        for b in bytes { high |= b }
        return high < 0x80
    }

    /// The bytes as a string, or nil when they are not UTF-8. ASCII (most ids) skips the
    /// generic validation, which costs more than the rest of interning a new id.
    @inline(__always)
    private static func validString(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isASCII(bytes) ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }
}
