import AllotCore
import Testing

/// Columns as a data frame holds them: strings in Arrow's large_string layout.
private struct StringColumn {
    var offsets: [Int64] = [0]
    var data: [UInt8] = []
    init(_ values: [String]) {
        for v in values {
            data += Array(v.utf8)
            offsets.append(Int64(data.count))
        }
    }
}

private func table(users: [String], coupons: [String], channels: [String]? = nil, uplift: [Double], cost: [Double],
                   couponDictionary: [String]? = nil, couponCodes: [Int32]? = nil) throws -> (table: CandidateTable, rows: [Int32]?) {
    let u = StringColumn(users), c = StringColumn(coupons), h = StringColumn(channels ?? [])
    let dictionary = StringColumn(couponDictionary ?? [])
    return try u.offsets.withUnsafeBufferPointer { uo in
        try u.data.withUnsafeBufferPointer { ud in
            try c.offsets.withUnsafeBufferPointer { co in
                try c.data.withUnsafeBufferPointer { cd in
                    try h.offsets.withUnsafeBufferPointer { ho in
                        try h.data.withUnsafeBufferPointer { hd in
                            try dictionary.offsets.withUnsafeBufferPointer { dofs in
                                try dictionary.data.withUnsafeBufferPointer { dd in
                                    try (couponCodes ?? []).withUnsafeBufferPointer { codes in
                                        try uplift.withUnsafeBufferPointer { up in
                                            try cost.withUnsafeBufferPointer { cs in
                                                let coupon: ColumnarScores.IDs = couponCodes == nil
                                                    ? .strings(.init(offsets: co, data: cd.baseAddress))
                                                    : .encoded(.init(codes: codes, dictionary: .init(offsets: dofs, data: dd.baseAddress)))
                                                return try ColumnarScores.table(
                                                    source: "frame", rows: users.count,
                                                    user: .strings(.init(offsets: uo, data: ud.baseAddress)), coupon: coupon,
                                                    channel: channels == nil ? nil : .strings(.init(offsets: ho, data: hd.baseAddress)),
                                                    uplift: up, columnNames: ["cost"], columns: [cs])
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

private func message(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch { return "\(error)" }
}

@Suite struct ColumnarScoresTests {
    @Test func sameTableAsTheCSVReaderWithTheRowOfEachCandidate() throws {
        let csv = try ScoresFile.read(InputBytes(name: "s.csv", text: """
            user_id,coupon_id,uplift,cost,channel
            b,c1,1.5,2,push
            a,c2,-3,0,email
            b,c2,4e1,1.25,
            a,c1,0.5,3,push

            """))
        let (t, rows) = try table(users: ["b", "a", "b", "a"], coupons: ["c1", "c2", "c2", "c1"],
                                  channels: ["push", "email", " ", "push"], uplift: [1.5, -3, 40, 0.5], cost: [2, 0, 1.25, 3])
        #expect(t.userIDs == csv.userIDs && t.couponIDs == csv.couponIDs && t.channelNames == csv.channelNames)
        #expect(t.userStart == csv.userStart && t.coupon == csv.coupon && t.channel == csv.channel)
        #expect(t.uplift == csv.uplift && t.columns == csv.columns)
        #expect(rows == [0, 2, 1, 3])
    }

    @Test func dictionaryCodesAreRenumberedByFirstAppearanceAndUnusedEntriesDropped() throws {
        let (t, rows) = try table(users: ["u1", "u1", "u2"], coupons: [], uplift: [1, 2, 3], cost: [1, 1, 1],
                                  couponDictionary: ["unused", "c9", "c1", "c9"], couponCodes: [2, 1, 3])
        #expect(t.couponIDs == ["c1", "c9"])
        #expect(rows == nil)  // grouped by user already: candidate j is row j
        #expect(t.coupon == [0, 1, 1])  // equal strings in the dictionary are one coupon
    }

    @Test func valueErrorsCarryTheCSVReadersWordsAndTheRow() {
        #expect(message { try table(users: ["u", "u"], coupons: ["a", "b"], uplift: [1, 2], cost: [1, -2]) }
            == "frame: row 1: cost must be >= 0, got -2.0")
        #expect(message { try table(users: ["u", "u"], coupons: ["a", "b"], uplift: [.nan, 2], cost: [1, 2]) }
            == "frame: row 0: 'nan' in column 'uplift' is not a finite number")
        #expect(message { try table(users: ["u", "v", "u"], coupons: ["a", "a", "a"], uplift: [1, 2, 3], cost: [1, 2, 3]) }
            == "frame: row 2: duplicate row for user 'u' and coupon 'a' (first at row 0)")
        #expect(message { try table(users: ["u", ""], coupons: ["a", "a"], uplift: [1, 2], cost: [1, 2]) }
            == "frame: row 1: empty user_id")
        #expect(message { try table(users: ["u"], coupons: [], uplift: [1], cost: [1], couponDictionary: ["a"], couponCodes: [4]) }
            == "frame: row 0: coupon_id code 4 is outside the dictionary of 1 entries")
        #expect(message { try table(users: ["u", "v"], coupons: ["a", "a"], uplift: [1, 2], cost: [1]) }
            == "frame: column 'cost' has 1 values for 2 rows")
    }

    /// Rows appended to `chunks`, users and coupons as strings, from the given row to the end row.
    private func append(_ chunks: inout ColumnarScores.Chunks, users: [String], coupons: [String], uplift: [Double],
                        cost: [Double], _ range: Range<Int>) throws {
        let u = StringColumn(Array(users[range])), c = StringColumn(Array(coupons[range]))
        let up = Array(uplift[range]), cs = Array(cost[range])
        try u.offsets.withUnsafeBufferPointer { uo in
            try u.data.withUnsafeBufferPointer { ud in
                try c.offsets.withUnsafeBufferPointer { co in
                    try c.data.withUnsafeBufferPointer { cd in
                        try up.withUnsafeBufferPointer { upb in
                            try cs.withUnsafeBufferPointer { csb in
                                try chunks.append(rows: range.count, user: .strings(.init(offsets: uo, data: ud.baseAddress)),
                                                  coupon: .strings(.init(offsets: co, data: cd.baseAddress)), channel: nil,
                                                  uplift: upb, columns: [csb])
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func chunksMakeTheTableOfAllTheirRowsAndNameRowsAcrossChunks() throws {
        // 100 users (more than a block of lookups), a user's rows split across chunks, a user
        // coming back in a later chunk.
        var users: [String] = [], coupons: [String] = [], uplift: [Double] = [], cost: [Double] = []
        for r in 0..<300 {
            users.append("user\(r / 3 % 100)")
            coupons.append("c\(r % 3 + 3 * (r / 300))")
            uplift.append(Double(r % 7) - 1)
            cost.append(Double(r % 5))
        }
        users += ["user7", "user100"]; coupons += ["c9", "c0"]; uplift += [2, 3]; cost += [1, 1]
        let whole = try table(users: users, coupons: coupons, uplift: uplift, cost: cost)
        var chunks = try ColumnarScores.Chunks(source: "frame", columnNames: ["cost"], hasChannel: false, expectedRows: 0)
        for range in [0..<1, 1..<2, 2..<100, 100..<100, 100..<301, 301..<302] {
            try append(&chunks, users: users, coupons: coupons, uplift: uplift, cost: cost, range)
        }
        let (t, rows) = try chunks.build()
        #expect(t.userIDs == whole.table.userIDs && t.couponIDs == whole.table.couponIDs && t.userStart == whole.table.userStart)
        #expect(t.coupon == whole.table.coupon && t.uplift == whole.table.uplift && t.columns == whole.table.columns)
        #expect(rows == whole.rows && t.userStart.last == 302 && t.userCount == 101)

        var bad = try ColumnarScores.Chunks(source: "frame", columnNames: ["cost"], hasChannel: false, expectedRows: 4)
        try append(&bad, users: ["u", "v"], coupons: ["a", "a"], uplift: [1, 2], cost: [1, 1], 0..<2)
        #expect(message { try append(&bad, users: ["w", "u"], coupons: ["a", "b"], uplift: [1, 2], cost: [1, -1], 0..<2) }
            == "frame: row 3: cost must be >= 0, got -1.0")
        var repeated = try ColumnarScores.Chunks(source: "frame", columnNames: ["cost"], hasChannel: false, expectedRows: 0)
        try append(&repeated, users: ["u", "v"], coupons: ["a", "a"], uplift: [1, 2], cost: [1, 1], 0..<2)
        try append(&repeated, users: ["v", "u"], coupons: ["b", "a"], uplift: [1, 2], cost: [1, 1], 0..<2)
        #expect(message { try repeated.build() } == "frame: row 3: duplicate row for user 'u' and coupon 'a' (first at row 0)")
        #expect(message { try ColumnarScores.Chunks(source: "frame", columnNames: ["cost"], hasChannel: false, expectedRows: 0).build() }
            == "frame: the table has no rows")
    }

    @Test func headerChecksAreTheCLIs() {
        let spec = AllocationSpec(budgets: [.init(name: "sms", column: "sms_units", limit: 3)])
        #expect(message { try ColumnarScores.checkHeader(["user_id", "coupon_id", "uplift"], spec: AllocationSpec(), source: "frame", specName: "spec") }
            == "frame: missing required column 'cost' in the header (found: user_id,coupon_id,uplift)")
        #expect(message { try ColumnarScores.checkHeader(["user_id", "coupon_id", "uplift", "cost"], spec: spec, source: "frame", specName: "spec") }
            == "spec: budget 'sms' names column 'sms_units', which frame does not have (columns: user_id,coupon_id,uplift,cost)")
    }
}

/// Ids given as dictionary codes: each chunk's own dictionary, its entries in a shuffled order
/// with unused ones among them, as a Parquet row group read with `read_dictionary` gives them.
@Suite struct DictionaryEncodedIDsTests {
    private struct Coded {
        var codes: [Int32] = []
        var dictionary = StringColumn([])
        init(_ values: [String], seed: Int) {
            var entries = Array(Set(values)).sorted() + ["unused\(seed)", "also unused"]
            var generator = SeededGenerator(seed: UInt64(seed))
            entries.shuffle(using: &generator)
            let index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1, Int32($0)) })
            codes = values.map { index[$0]! }
            dictionary = StringColumn(entries)
        }
    }

    private func append(_ chunks: inout ColumnarScores.Chunks, users: [String], coupons: [String], uplift: [Double],
                        cost: [Double], seed: Int) throws {
        let u = Coded(users, seed: seed), c = Coded(coupons, seed: seed + 1)
        try u.codes.withUnsafeBufferPointer { uc in
            try u.dictionary.offsets.withUnsafeBufferPointer { uo in
                try u.dictionary.data.withUnsafeBufferPointer { ud in
                    try c.codes.withUnsafeBufferPointer { cc in
                        try c.dictionary.offsets.withUnsafeBufferPointer { co in
                            try c.dictionary.data.withUnsafeBufferPointer { cd in
                                try uplift.withUnsafeBufferPointer { up in
                                    try cost.withUnsafeBufferPointer { cs in
                                        try chunks.append(rows: users.count,
                                                          user: .encoded(.init(codes: uc, dictionary: .init(offsets: uo, data: ud.baseAddress))),
                                                          coupon: .encoded(.init(codes: cc, dictionary: .init(offsets: co, data: cd.baseAddress))),
                                                          channel: nil, uplift: up, columns: [cs])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func codedChunksMakeTheTableOfTheSameRowsAsStrings() throws {
        var generator = SeededGenerator(seed: 9)
        for trial in 0..<20 {
            // Up to 120 users (several blocks of lookups), some rows out of user order.
            let n = Int.random(in: 1...400, using: &generator)
            var pairs = Set<[Int]>()
            while pairs.count < n { pairs.insert([Int.random(in: 0..<120, using: &generator), Int.random(in: 0..<12, using: &generator)]) }
            var rows = pairs.sorted { $0.lexicographicallyPrecedes($1) }
            if trial % 2 == 1 { rows.shuffle(using: &generator) }
            let users = rows.map { "user\($0[0])" }, coupons = rows.map { "c\($0[1])" }
            let uplift = rows.map { Double($0[0] % 7) - 2 }, cost = rows.map { Double($0[1] % 4) }
            let whole = try table(users: users, coupons: coupons, uplift: uplift, cost: cost)
            var chunks = try ColumnarScores.Chunks(source: "frame", columnNames: ["cost"], hasChannel: false, expectedRows: n)
            var at = 0
            while at < n {
                let end = min(n, at + Int.random(in: 0...150, using: &generator))
                try append(&chunks, users: Array(users[at..<end]), coupons: Array(coupons[at..<end]),
                           uplift: Array(uplift[at..<end]), cost: Array(cost[at..<end]), seed: trial * 1000 + at)
                at = end
            }
            let (t, tableRows) = try chunks.build()
            #expect(t.userIDs == whole.table.userIDs && t.couponIDs == whole.table.couponIDs && t.userStart == whole.table.userStart)
            #expect(t.coupon == whole.table.coupon && t.uplift == whole.table.uplift && t.columns == whole.table.columns)
            #expect(tableRows == whole.rows)
        }
    }

    /// A chunk after a one-row chunk, its users as `codes` into `entries` (raw bytes).
    private func userCodes(_ codes: [Int32], _ entries: [[UInt8]]) -> String? {
        var dictionary = StringColumn([])
        for e in entries { dictionary.data += e; dictionary.offsets.append(Int64(dictionary.data.count)) }
        let n = codes.count, coupon = StringColumn(Array(repeating: "c", count: n)), ones = [Double](repeating: 1, count: n)
        return message {
            var chunks = try ColumnarScores.Chunks(source: "frame", columnNames: ["cost"], hasChannel: false, expectedRows: 0)
            try append(&chunks, users: ["a"], coupons: ["c"], uplift: [1], cost: [1], seed: 1)
            try codes.withUnsafeBufferPointer { uc in
                try dictionary.offsets.withUnsafeBufferPointer { uo in
                    try dictionary.data.withUnsafeBufferPointer { ud in
                        try coupon.offsets.withUnsafeBufferPointer { co in
                            try coupon.data.withUnsafeBufferPointer { cd in
                                try ones.withUnsafeBufferPointer { one in
                                    try chunks.append(rows: n, user: .encoded(.init(codes: uc, dictionary: .init(offsets: uo, data: ud.baseAddress))),
                                                      coupon: .strings(.init(offsets: co, data: cd.baseAddress)), channel: nil,
                                                      uplift: one, columns: [one])
                                }
                            }
                        }
                    }
                }
            }
            return try chunks.build()
        }
    }

    @Test func theFirstBadRowIsTheOneReported() {
        let b = Array("b".utf8), x = Array("x".utf8), bad: [UInt8] = [0x61, 0xFF]
        #expect(userCodes([0, 2], [b, bad, x]) == nil)  // an entry no row uses is not read
        #expect(userCodes([0, 1, 2], [b, [], x]) == "frame: row 2: empty user_id")
        #expect(userCodes([0, 1, 2, 0], [b, bad, []]) == "frame: row 2: user_id is not valid UTF-8")
        #expect(userCodes([0, 2, 1], [b, bad, []]) == "frame: row 2: empty user_id")
        #expect(userCodes([0, -1, 7], [b]) == "frame: row 2: empty user_id")
        #expect(userCodes([0, 7, -1], [b]) == "frame: row 2: user_id code 7 is outside the dictionary of 1 entries")
    }
}
