import AllotCore
import AllotServe
import AllotTestSupport
import Foundation
import Testing

/// The parse or its one-line error.
func outcome(_ parse: () throws -> DecideRequest) -> Result<DecideRequest, DecisionError> {
    do { return .success(try parse()) } catch let e as DecisionError { return .failure(e) } catch { return .failure(DecisionError("\(error)")) }
}

/// Whether the server's parse agrees with Foundation's, but for Foundation's known departures
/// from RFC 8259: it accepts a trailing comma (`[1,]`, `{"a":1,}`), which the server refuses as
/// invalid JSON; it refuses a number beyond the range of a double as invalid JSON, where the
/// server names the field ("is not a finite number"); and it rounds some numbers of more than
/// 17 digits to a neighbour of the nearest double (the server's are the nearest, checked
/// exactly in `numbersAreCorrectlyRounded`).
func agrees(_ ours: Result<DecideRequest, DecisionError>, _ reference: Result<DecideRequest, DecisionError>, body: [UInt8]) -> Bool {
    if ours == reference { return true }
    let text = String(decoding: body, as: UTF8.self)
    let trailingComma = text.range(of: #",\s*[\]}]"#, options: .regularExpression) != nil
    switch (ours, reference) {
    case (.failure(let a), _) where trailingComma:
        return a.message == "the body is not valid JSON"
    case (.failure(let a), .failure(let b)):
        return b.message == "the body is not valid JSON" && a.message.hasSuffix("is not a finite number")
    case (.success(let a), .success(let b)):
        func close(_ x: Double, _ y: Double) -> Bool { x == y || abs(x - y) <= 1e-15 * max(abs(x), abs(y)) }
        return a.user == b.user && a.candidates.count == b.candidates.count
            && zip(a.candidates, b.candidates).allSatisfy { x, y in
                x.coupon == y.coupon && x.channel == y.channel && close(x.uplift, y.uplift) && close(x.cost, y.cost)
                    && x.columns.keys.sorted() == y.columns.keys.sorted() && x.columns.allSatisfy { close($0.value, y.columns[$0.key]!) }
            }
    default:
        return false
    }
}

/// `RequestParser` (the server's) against Foundation's `JSONSerialization` (the reference):
/// the same request or the same error (`agrees`), on well-formed bodies and on thousands of
/// corrupted ones.
@Suite struct RequestParserTests {
    static let bodies: [String] = [
        request("u1", [c0, c1, c2].joined(separator: ",")),
        #"  {"candidates": [ {"uplift": -3.5e-2, "cost": 0, "coupon_id": "c\u00e9\ud83d\ude00", "channel": null, "x": [1, {"y": true}], "sms_units": 12345678901234567890} ], "user_id": "a\"b\\c\/\n", "extra": {"k": [null, false]}}  "#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c1","uplift":0.1,"cost":1E2,"w":-0.0,"v":123456.789012345678,"z":1e-400,"flag":true,"note":"x"}]}"#,
        #"{"user_id":"u","candidates":[],"user_id":"v"}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c1","uplift":1,"cost":2,"channel":"email"},{"coupon_id":"c2","uplift":2.5,"cost":0.75}]}"#,
        // Keys with escapes or beyond ASCII (the parser compares plain keys as bytes, others decoded).
        #"{"user\u005fid":"u","c\u0061ndidates":[{"coupon_id":"c1","upl\u0069ft":1,"co\u0073t":2,"\u0063hannel":"push","sms\u005funits":3,"é":4}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c1","uplift":1,"cost\u0000":2}]}"#,
        // Schema errors, in the order the checks run.
        #"{"candidates":[5]}"#, #"{"user_id":7,"candidates":[]}"#, #"{"user_id":"u","candidates":{}}"#,
        #"{"user_id":"u","candidates":[5]}"#, #"{"user_id":"u","candidates":[{"uplift":1,"cost":1}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":1,"uplift":1,"cost":1}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":true,"cost":1}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":1,"cost":"1"}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":1,"cost":-2.5}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":1,"cost":1,"channel":3}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":1,"cost":1},{"coupon_id":"d","cost":1}]}"#,
        #"["x"]"#, #""text""#, "12", "null", "", " ", "{", "}", "[]",
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":NaN,"cost":1}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":01,"cost":1}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":1.,"cost":1}]}"#,
        #"{"user_id":"u","candidates":[{"coupon_id":"c","uplift":.5,"cost":1}]}"#,
        #"{"user_id":"u\ud800","candidates":[]}"#, #"{"user_id":"u\x","candidates":[]}"#,
        #"{"user_id":"u","candidates":[],}"#, #"{"user_id":"u","candidates":[1,]}"#,
        #"{"user_id":"u","candidates":[]} x"#, "{\"user_id\":\"a\tb\",\"candidates\":[]}",
    ]

    @Test func agreesWithFoundationOnKnownBodies() {
        for body in Self.bodies {
            let data = Data(body.utf8)
            let ours = outcome { try DecideRequest.parse(data) }
            let reference = outcome { try DecideRequest.parseWithFoundation(data) }
            #expect(agrees(ours, reference, body: Array(body.utf8)), "\(body): \(ours) against \(reference)")
        }
    }

    /// Every single-byte deletion, and seeded random byte replacements and insertions of JSON's
    /// structural characters, of well-formed requests.
    @Test func agreesWithFoundationOnCorruptedBodies() {
        var rng = SeededGenerator(seed: 22)
        let alphabet = Array(#"{}[]":,.-+eE0129 "\nnulltruefalse\u"#.utf8)
        var compared = 0
        for body in Self.bodies.prefix(5) {
            let bytes = Array(body.utf8)
            var variants: [[UInt8]] = bytes.indices.map { k in var b = bytes; b.remove(at: k); return b }
            for _ in 0..<400 {
                var b = bytes
                let k = Int(rng.nextUnit() * Double(b.count))
                let c = alphabet[Int(rng.nextUnit() * Double(alphabet.count))]
                if rng.nextUnit() < 0.5 { b[min(k, b.count - 1)] = c } else { b.insert(c, at: k) }
                variants.append(b)
            }
            for b in variants {
                let data = Data(b)
                let ours = outcome { try DecideRequest.parse(data) }
                let reference = outcome { try DecideRequest.parseWithFoundation(data) }
                #expect(agrees(ours, reference, body: b), "\(String(decoding: b, as: UTF8.self)): \(ours) against \(reference)")
                compared += 1
            }
        }
        #expect(compared > 2000)
    }

    @Test func numbersAreCorrectlyRounded() throws {
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<2000 {
            let x = (rng.nextUnit() - 0.5) * pow(10, Double(Int(rng.nextUnit() * 40) - 20))
            for text in [x.description, String(format: "%.17g", x), String(format: "%.3f", x), String(format: "%.12e", x)] {
                let r = try DecideRequest.parse(Data(request("u", #"{"coupon_id":"c","uplift":\#(text),"cost":0}"#).utf8))
                #expect(r.candidates[0].uplift == Double(text)!, "\(text)")
            }
        }
    }

    @Test func batchesAndDepth() {
        let batch = "[" + request("u1", c1) + "," + #"{"user_id":"u2","candidates":[{"coupon_id":"c1"}]}"# + "]"
        #expect(outcome { try DecideRequest.parseBatch(Data(batch.utf8)).first! } == .failure(DecisionError("missing field '[1].candidates[0].uplift'")))
        #expect(throws: DecisionError("the body must be a JSON list of decision requests")) { try DecideRequest.parseBatch(Data("{}".utf8)) }
        let deep = #"{"user_id":"u","candidates":[],"x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: DecisionError("the body nests deeper than 512 levels")) { try DecideRequest.parse(Data(deep.utf8)) }
    }
}
