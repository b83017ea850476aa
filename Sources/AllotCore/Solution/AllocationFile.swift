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
        let t = problem.candidates
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
            var userIndex: [String: Int] = [:]
            userIndex.reserveCapacity(t.userCount)
            for (u, id) in t.userIDs.enumerated() { userIndex[id] = u }
            let couponIndex = Dictionary(uniqueKeysWithValues: t.couponIDs.enumerated().map { ($1, Int32($0)) })
            var chosen: [Int] = []
            var lineOf: [Int: Int] = [:]
            while let line = try next() {
                guard fields.count == header.count else {
                    throw InputError(file: name, line: line, column: fields.last?.column ?? 1,
                                     "expected \(header.count) fields as in the header, found \(fields.count)")
                }
                let user = String(decoding: UnsafeBufferPointer(start: fields[ui].start, count: fields[ui].count), as: UTF8.self)
                let coupon = String(decoding: UnsafeBufferPointer(start: fields[ci].start, count: fields[ci].count), as: UTF8.self)
                guard let u = userIndex[user] else {
                    throw InputError(file: name, line: line, column: fields[ui].column, "user '\(user)' is not in the scores")
                }
                guard let c = couponIndex[coupon], let j = t.candidates(ofUser: u).first(where: { t.coupon[$0] == c }) else {
                    throw InputError(file: name, line: line, column: fields[ci].column, "user '\(user)' has no score for coupon '\(coupon)'")
                }
                if let first = lineOf[j] {
                    throw InputError(file: name, line: line, column: 1, "user '\(user)' and coupon '\(coupon)' repeat line \(first)")
                }
                lineOf[j] = line
                chosen.append(j)
            }
            return Allocation(candidates: chosen)
        }
    }
}
