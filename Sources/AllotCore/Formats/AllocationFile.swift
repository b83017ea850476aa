/// The allocation CSV: `user_id,coupon_id,uplift,cost`, one row per assignment, in candidate
/// order (users in input order).
public enum AllocationFile {
    /// The file's bytes. Numbers are written in the shortest form that reads back exactly.
    ///
    /// - Complexity: O(allocation size).
    public static func render(_ problem: Problem, _ allocation: Allocation) -> [UInt8] {
        let t = problem.candidates
        var out: [UInt8] = []
        out.reserveCapacity(allocation.count * 40 + 32)
        out.append(contentsOf: "user_id,coupon_id,uplift,cost\n".utf8)
        for j in allocation.candidates {
            appendField(t.userIDs[t.user(ofCandidate: j)], to: &out)
            out.append(0x2C)
            appendField(t.couponIDs[Int(t.coupon[j])], to: &out)
            out.append(0x2C)
            out.append(contentsOf: t.uplift[j].description.utf8)
            out.append(0x2C)
            out.append(contentsOf: t.columns[0][j].description.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// Quotes a CSV field when it holds a comma, quote, or line break.
    static func appendField(_ s: String, to out: inout [UInt8]) {
        if s.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
            out.append(0x22)
            for b in s.utf8 {
                if b == 0x22 { out.append(0x22) }
                out.append(b)
            }
            out.append(0x22)
        } else {
            out.append(contentsOf: s.utf8)
        }
    }

    /// Reads an allocation file against a problem: each row's (user_id, coupon_id) must be a
    /// candidate of the problem. Other columns are ignored: the verifier recomputes values.
    ///
    /// - Throws: `InputError` with line and column for an unknown pair, a repeated row, or a
    ///   malformed file.
    /// - Complexity: O(bytes + users + rows x candidates per user).
    public static func read(_ input: InputBytes, for problem: Problem) throws -> Allocation {
        let name = input.name
        return try input.withBytes { buffer in
            try requireUTF8(buffer, file: name)
            var scanner = CSVScanner(buffer, delimiter: input.delimiter)
            defer { scanner.freeScratch() }
            var fields: [CSVScanner.Field] = []
            func next() throws -> Int? { try scanner.nextRecord(into: &fields, file: name) }
            guard try next() != nil else { throw InputError(file: name, "the file is empty (expected a header with user_id,coupon_id)") }
            let header = fields.map { String(decoding: UnsafeBufferPointer(start: $0.start, count: $0.count), as: UTF8.self).trimmingSpaces() }
            guard let ui = header.firstIndex(of: "user_id"), let ci = header.firstIndex(of: "coupon_id") else {
                throw InputError(file: name, line: 1, column: 1, "the header must name user_id and coupon_id (found: \(header.joined(separator: ",")))")
            }
            var lookup = AllocationLookup(problem)
            while let line = try next() {
                guard fields.count == header.count else {
                    throw InputError(file: name, line: line, column: fields.last?.column ?? 1,
                                     "expected \(header.count) fields as in the header, found \(fields.count)")
                }
                let user = String(decoding: UnsafeBufferPointer(start: fields[ui].start, count: fields[ui].count), as: UTF8.self)
                let coupon = String(decoding: UnsafeBufferPointer(start: fields[ci].start, count: fields[ci].count), as: UTF8.self)
                try lookup.add(user: user, coupon: coupon, at: line, called: "line") { column, message in
                    InputError(file: name, line: line, column: column == .user ? fields[ui].column : column == .coupon ? fields[ci].column : 1, message)
                }
            }
            return lookup.allocation
        }
    }

    /// Reads an allocation given as columns of ids (row `r` assigns `users[r]` the coupon
    /// `coupons[r]`), with the checks of `read`; errors name the 0-based row.
    ///
    /// - Throws: `InputError` ("source: row N: ...") for an unknown pair or a repeated row.
    public static func allocation(users: [String], coupons: [String], source: String, for problem: Problem) throws -> Allocation {
        precondition(users.count == coupons.count, "as many users as coupons")
        var lookup = AllocationLookup(problem)
        for r in users.indices {
            try lookup.add(user: users[r], coupon: coupons[r], at: r, called: "row") { _, message in
                InputError(file: source, "row \(r): " + message)
            }
        }
        return lookup.allocation
    }
}

/// Finds the candidates of (user id, coupon id) pairs, refusing unknown and repeated pairs.
struct AllocationLookup {
    enum Column { case user, coupon, row }
    let table: CandidateTable
    var userIndex: [String: Int] = [:]
    let couponIndex: [String: Int32]
    var positionOf: [Int: Int] = [:]
    var chosen: [Int] = []

    init(_ problem: Problem) {
        table = problem.candidates
        userIndex.reserveCapacity(table.userCount)
        for (u, id) in table.userIDs.enumerated() { userIndex[id] = u }
        couponIndex = Dictionary(uniqueKeysWithValues: table.couponIDs.enumerated().map { ($1, Int32($0)) })
    }

    var allocation: Allocation { Allocation(candidates: chosen) }

    /// Adds the pair found at `position` (a line or a row, as `called` says); `fail` makes the
    /// error, given the column at fault.
    mutating func add(user: String, coupon: String, at position: Int, called: String,
                      _ fail: (Column, String) -> InputError) throws {
        let t = table
        guard let u = userIndex[user] else { throw fail(.user, "user '\(user)' is not in the scores") }
        guard let c = couponIndex[coupon], let j = t.candidates(ofUser: u).first(where: { t.coupon[$0] == c }) else {
            throw fail(.coupon, "user '\(user)' has no score for coupon '\(coupon)'")
        }
        if let first = positionOf[j] { throw fail(.row, "user '\(user)' and coupon '\(coupon)' repeat \(called) \(first)") }
        positionOf[j] = position
        chosen.append(j)
    }
}
