/// Reading the scores CSV: `user_id,coupon_id,uplift,cost[,channel][,extra columns...]`.
///
/// See docs/file-formats.md. Rows may come in any order; the result groups them by user.
/// Columns other than the required ones, `channel`, and the requested extra consumption
/// columns are ignored.
public enum ScoresFile {
    public static let requiredColumns = ["user_id", "coupon_id", "uplift", "cost"]

    /// Throws one error listing every required column the header lacks, with a hint when the
    /// header looks semicolon-separated (one field holding semicolons).
    package static func checkRequiredColumns(header: [String], file: String) throws {
        let missing = requiredColumns.filter { !header.contains($0) }
        guard !missing.isEmpty else { return }
        let list = missing.map { "'\($0)'" }.joined(separator: ", ")
        var message = "missing required column\(missing.count > 1 ? "s" : "") \(list) in the header (found: \(header.joined(separator: ",")))"
        if header.count == 1, header[0].contains(";") {
            message += "; the header holds semicolons: fields must be separated by commas or tabs"
        } else if header.count == 1, header[0].contains("\t") {
            message += "; the header holds tabs: fields are read as separated by commas (--delimiter)"
        }
        throw InputError(file: file, line: 1, column: 1, message)
    }

    /// `header` with the file's names of standard columns replaced by the standard names
    /// (`InputBytes.columnNames`, e.g. `["uplift": "tau"]` reads column `tau` as `uplift`).
    ///
    /// - Throws: `InputError` when a mapped name is not in the header, or when a standard name
    ///   would then appear twice.
    package static func renaming(_ header: [String], _ names: [String: String], file: String) throws -> [String] {
        guard !names.isEmpty else { return header }
        var renamed = header
        for (standard, own) in names.sorted(by: { $0.key < $1.key }) {
            guard let k = header.firstIndex(of: own) else {
                throw InputError(file: file, line: 1, column: 1, "column mapping \(standard)=\(own): the header has no column '\(own)' (found: \(header.joined(separator: ",")))")
            }
            if header.contains(standard), !names.values.contains(standard) {
                throw InputError(file: file, line: 1, column: 1, "column mapping \(standard)=\(own): the header has a column '\(standard)' too")
            }
            renamed[k] = standard
        }
        return renamed
    }

    /// The header's column names, trimmed of spaces. Used to check a spec against a file before
    /// the file is parsed.
    ///
    /// - Throws: `InputError` on an empty file, invalid UTF-8 in the header, or a bad header.
    package static func header(of input: InputBytes) throws -> [String] {
        try input.withBytes { buffer in
            var scanner = CSVScanner(buffer, delimiter: input.delimiter)
            defer { scanner.freeScratch() }
            var fields: [CSVScanner.Field] = []
            guard try scanner.nextRecord(into: &fields, file: input.name) != nil else {
                throw InputError(file: input.name, "the file is empty (expected a header: \(requiredColumns.joined(separator: ",")))")
            }
            return try renaming(try fields.map { f in
                let bytes = UnsafeBufferPointer(start: f.start, count: f.count)
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw InputError(file: input.name, line: 1, column: f.column, "the header is not valid UTF-8")
                }
                return s.trimmingSpaces()
            }, input.columnNames, file: input.name)
        }
    }

    /// Parses scores from `input`.
    ///
    /// - Parameters:
    ///   - input: the scores CSV.
    ///   - extraColumns: further numeric columns to read as consumption columns (for budgets).
    ///   - signedColumns: further finite numeric columns, of any sign, read after `extraColumns`
    ///     (e.g. `true_uplift` or draws `uplift_1...`; see `UncertainScores`).
    ///   - progress: called now and then with the fraction of the input read.
    /// - Throws: `InputError` naming the line and column of the first problem.
    /// - Complexity: O(bytes).
    public static func read(_ input: InputBytes, extraColumns: [String] = [], signedColumns: [String] = [],
                            progress: ((Double) -> Void)? = nil) throws -> CandidateTable {
        let name = input.name
        return try input.withBytes { buffer in
            try requireUTF8(buffer, file: name)
            var scanner = CSVScanner(buffer, delimiter: input.delimiter)
            defer { scanner.freeScratch() }
            var fields: [CSVScanner.Field] = []
            guard try scanner.nextRecord(into: &fields, file: name) != nil else {
                throw InputError(file: name, "the file is empty (expected a header: \(requiredColumns.joined(separator: ",")))")
            }
            let header = try renaming(fields.map { String(decoding: UnsafeBufferPointer(start: $0.start, count: $0.count), as: UTF8.self).trimmingSpaces() },
                                      input.columnNames, file: name)
            let layout = try Layout(header: header, columns: fields.map(\.column), extraColumns: extraColumns + signedColumns, file: name)

            var builder = CandidateTableBuilder(source: name, extraColumns: extraColumns + signedColumns, hasChannel: layout.channel != nil)
            // Rows are about 30-60 bytes: reserve for a reasonable guess to avoid regrowth.
            builder.reserve(buffer.count / 48 + 16)
            var users = ByteInterner(capacity: 1 << 16)
            var coupons = ByteInterner(capacity: 64)
            var channels = ByteInterner(capacity: 16)
            var lastUser: (UnsafePointer<UInt8>, Int, Int32)? = nil
            var rows = 0
            let valueColumns = [layout.cost] + layout.extras
            let valueNames = ["cost"] + extraColumns + signedColumns
            let nonNegative = 1 + extraColumns.count

            while let line = try scanner.nextRecord(into: &fields, file: name) {
                if fields.count != header.count {
                    throw InputError(file: name, line: line, column: fields.last.map { $0.column } ?? 1,
                                     "expected \(header.count) fields as in the header, found \(fields.count)")
                }
                let uf = fields[layout.user]
                let cf = fields[layout.coupon]
                if uf.count == 0 { throw InputError(file: name, line: line, column: uf.column, "empty user_id") }
                if cf.count == 0 { throw InputError(file: name, line: line, column: cf.column, "empty coupon_id") }
                let user: Int32
                if let (p, n, id) = lastUser, n == uf.count, memoryEqual(p, uf.start, n) {
                    user = id
                } else {
                    user = users.intern(uf.start, uf.count)
                    lastUser = (uf.start, uf.count, user)
                }
                let coupon = coupons.intern(cf.start, cf.count)
                var channel: Int32 = -1
                if let k = layout.channel {
                    let f = fields[k]
                    let (s, n) = trimmed(f)
                    if n > 0 { channel = channels.intern(s, n) }
                }
                let uplift = try number(fields[layout.uplift], "uplift", line, name)
                builder.appendKeys(user: user, coupon: coupon, channel: channel, uplift: uplift, line: line)
                for (k, column) in valueColumns.enumerated() {
                    let v = try number(fields[column], valueNames[k], line, name)
                    if v < 0 && k < nonNegative {
                        throw InputError(file: name, line: line, column: fields[column].column,
                                         "\(valueNames[k]) must be >= 0, got \(v)")
                    }
                    builder.columns[k].append(v)
                }
                rows += 1
                if let progress, rows & 0xFFFFF == 0 { progress(scanner.progress) }
            }
            if rows == 0 {
                throw InputError(file: name, line: 2, "the file has a header but no rows")
            }
            builder.userIDs = users.strings()
            builder.couponIDs = coupons.strings()
            builder.channelNames = channels.strings()
            progress?(1)
            return try builder.build()
        }
    }

    /// Where the columns are.
    struct Layout {
        var user = -1, coupon = -1, uplift = -1, cost = -1
        var channel: Int?
        var extras: [Int] = []

        init(header: [String], columns: [Int], extraColumns: [String], file: String) throws {
            var seen: [String: Int] = [:]
            for (k, name) in header.enumerated() {
                if let first = seen[name] {
                    throw InputError(file: file, line: 1, column: columns[k],
                                     "duplicate column '\(name)' in the header (also column \(columns[first]))")
                }
                seen[name] = k
            }
            try ScoresFile.checkRequiredColumns(header: header, file: file)
            user = seen["user_id"]!
            coupon = seen["coupon_id"]!
            uplift = seen["uplift"]!
            cost = seen["cost"]!
            channel = seen["channel"]
            for name in extraColumns {
                guard let k = seen[name] else {
                    throw InputError(file: file, line: 1, column: 1, "missing column '\(name)' in the header")
                }
                extras.append(k)
            }
        }
    }

    @inline(__always)
    private static func number(_ f: CSVScanner.Field, _ column: String, _ line: Int, _ file: String) throws -> Double {
        switch parseNumber(f.start, f.count) {
        case .value(let v): return v
        case .empty: throw InputError(file: file, line: line, column: f.column, "empty value in column '\(column)'")
        case .notFinite:
            throw InputError(file: file, line: line, column: f.column, "'\(text(f))' in column '\(column)' is not a finite number")
        case .notANumber:
            throw InputError(file: file, line: line, column: f.column, "'\(text(f))' in column '\(column)' is not a number")
        }
    }

    private static func text(_ f: CSVScanner.Field) -> String {
        String(decoding: UnsafeBufferPointer(start: f.start, count: min(f.count, 40)), as: UTF8.self)
    }

    @inline(__always)
    private static func trimmed(_ f: CSVScanner.Field) -> (UnsafePointer<UInt8>, Int) {
        var s = f.start
        var n = f.count
        while n > 0, s[0] == 0x20 { s += 1; n -= 1 }
        while n > 0, s[n - 1] == 0x20 { n -= 1 }
        return (s, n)
    }
}

@inline(__always)
func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    for k in 0..<n where a[k] != b[k] { return false }
    return true
}

extension String {
    package func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
