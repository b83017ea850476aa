import AllotCore
import Testing

private func read(_ text: String, extra: [String] = []) throws -> CandidateTable {
    try ScoresFile.read(InputBytes(name: "s.csv", text: text), extraColumns: extra)
}

private func message(_ text: String, extra: [String] = []) -> String? {
    do { _ = try read(text, extra: extra); return nil } catch { return "\(error)" }
}

@Suite struct ScoresFileTests {
    @Test func groupsUsersInFirstAppearanceOrder() throws {
        let t = try read("""
            user_id,coupon_id,uplift,cost,channel
            b,c1,1.5,2,push
            a,c2,-3,0,email
            b,c2,4e1,1.25,
            a,c1,0.5,3,push

            """)
        #expect(t.userIDs == ["b", "a"])
        #expect(t.couponIDs == ["c1", "c2"])
        #expect(t.channelNames == ["push", "email"])
        #expect(t.userStart == [0, 2, 4])
        #expect(t.coupon == [0, 1, 1, 0])
        #expect(t.uplift == [1.5, 40, -3, 0.5])
        #expect(t.cost == [2, 1.25, 0, 3])
        #expect(t.channel == [0, -1, 1, 0])
    }

    @Test func quotedFieldsCRLFAndByteOrderMark() throws {
        let t = try read("\u{FEFF}cost,uplift,coupon_id,user_id,note\r\n1,2,\"c,1\",\"u \"\"x\"\"\",\"multi\nline\"\r\n")
        #expect(t.userIDs == ["u \"x\""])
        #expect(t.couponIDs == ["c,1"])
        #expect(t.uplift == [2])
    }

    @Test func extraColumnsAreRead() throws {
        let t = try read("user_id,coupon_id,uplift,cost,points\nu,c,1,2,7.5\n", extra: ["points"])
        #expect(t.columnNames == ["cost", "points"])
        #expect(t.columns[1] == [7.5])
    }

    @Test func numbersRoundLikeTheStandardLibrary() throws {
        var rng = SeededGenerator(seed: 7)
        var lines = ["user_id,coupon_id,uplift,cost"]
        var expected: [Double] = []
        let samples = ["0.1", "1e-5", "123456789012345678901234", "3.14159265358979323846", "-0", "7.", ".5", "1E22", "1e23", "4.9e-324", "2.2250738585072014e-308"]
        for (k, s) in samples.enumerated() {
            lines.append("u\(k),c,\(s),1")
            expected.append(Double(s)!)
        }
        for k in 0..<500 {
            let v = (rng.nextUnit() - 0.5) * pow10(rng.nextIndex(below: 30) - 15)
            let s = "\(v)"
            lines.append("r\(k),c,\(s),0")
            expected.append(Double(s)!)
        }
        let t = try read(lines.joined(separator: "\n"))
        #expect(t.uplift == expected)
    }

    private func pow10(_ e: Int) -> Double {
        var x = 1.0
        for _ in 0..<abs(e) { x *= 10 }
        return e < 0 ? 1 / x : x
    }

    @Test func emptyFile() {
        #expect(message("") == "s.csv: the file is empty (expected a header: user_id,coupon_id,uplift,cost)")
        #expect(message("\n\n") == "s.csv: the file is empty (expected a header: user_id,coupon_id,uplift,cost)")
    }

    @Test func headerOnly() {
        #expect(message("user_id,coupon_id,uplift,cost\n") == "s.csv:2: the file has a header but no rows")
    }

    @Test func missingColumns() {
        #expect(message("user_id,uplift,cost\nu,1,2\n")
            == "s.csv:1:1: missing required column 'coupon_id' in the header (found: user_id,uplift,cost)")
        #expect(message("user_id,coupons\nu,1\n")
            == "s.csv:1:1: missing required columns 'coupon_id', 'uplift', 'cost' in the header (found: user_id,coupons)")
    }

    @Test func duplicatedColumn() {
        #expect(message("user_id,coupon_id,uplift,cost,uplift\nu,c,1,2,3\n")
            == "s.csv:1:31: duplicate column 'uplift' in the header (also column 19)")
    }

    @Test func nonNumeric() {
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1,2\nv,c,abc,2\n")
            == "s.csv:3:5: 'abc' in column 'uplift' is not a number")
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1,0x10\n")
            == "s.csv:2:7: '0x10' in column 'cost' is not a number")
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,,1\n") == "s.csv:2:5: empty value in column 'uplift'")
    }

    @Test func notFinite() {
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,NaN,1\n") == "s.csv:2:5: 'NaN' in column 'uplift' is not a finite number")
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1,-inf\n") == "s.csv:2:7: '-inf' in column 'cost' is not a finite number")
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1e400,1\n") == "s.csv:2:5: '1e400' in column 'uplift' is not a finite number")
    }

    @Test func negativeCost() {
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1,-2.5\n") == "s.csv:2:7: cost must be >= 0, got -2.5")
    }

    @Test func duplicatePair() {
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1,1\nv,c,1,1\nu,c,2,2\n")
            == "s.csv:4:1: duplicate row for user 'u' and coupon 'c' (first at line 2)")
    }

    @Test func wrongFieldCount() {
        #expect(message("user_id,coupon_id,uplift,cost\nu,c,1\n") == "s.csv:2:5: expected 4 fields as in the header, found 3")
    }

    @Test func notUTF8() {
        let bytes: [UInt8] = Array("user_id,coupon_id,uplift,cost\nu".utf8) + [0xFF, 0xFE] + Array(",c,1,1\n".utf8)
        #expect(throws: InputError(file: "s.csv", line: 2, column: 2, "the file is not valid UTF-8 (byte 0xFF)")) {
            try ScoresFile.read(InputBytes(name: "s.csv", bytes: bytes))
        }
        let overlong: [UInt8] = Array("user_id,coupon_id,uplift,cost\n".utf8) + [0xC0, 0x80]
        #expect(throws: InputError(file: "s.csv", line: 2, column: 1, "the file is not valid UTF-8 (byte 0xC0)")) {
            try ScoresFile.read(InputBytes(name: "s.csv", bytes: overlong))
        }
    }

    @Test func validMultibyteIdentifiers() throws {
        let t = try read("user_id,coupon_id,uplift,cost\nüser→😀,c,1,1\n")
        #expect(t.userIDs == ["üser→😀"])
    }

    @Test func unterminatedQuote() {
        #expect(message("user_id,coupon_id,uplift,cost\n\"u,c,1,1\n") == "s.csv:2:1: unterminated quoted field")
    }

    @Test func libraryRowsAreValidated() {
        #expect(throws: InputError(file: "candidates", line: 2, "row 2: cost must be a finite number >= 0, got -1.0")) {
            try CandidateTable(rows: [CandidateRow(user: "u", coupon: "a", uplift: 1, cost: 1),
                                      CandidateRow(user: "u", coupon: "b", uplift: 1, cost: -1)])
        }
        #expect(throws: InputError(file: "candidates", line: 2, column: 1, "duplicate row for user 'u' and coupon 'a' (first at row 1)")) {
            try CandidateTable(rows: [CandidateRow(user: "u", coupon: "a", uplift: 1, cost: 1),
                                      CandidateRow(user: "u", coupon: "a", uplift: 1, cost: 1)])
        }
    }
}
