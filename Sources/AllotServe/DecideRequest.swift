import Foundation

/// A decision request: `{"user_id": "u1", "candidates": [{"coupon_id": "c1", "uplift": 3.2,
/// "cost": 1.5, "channel": "push", "sms_units": 1}, ...]}`; further numeric fields of a
/// candidate are extra budget columns, as in the scores CSV.
public struct DecideRequest: Equatable, Sendable {
    public var user: String
    public var candidates: [LiveCandidate]
    public init(user: String, candidates: [LiveCandidate]) {
        self.user = user
        self.candidates = candidates
    }

    /// Parses one request body (`RequestParser`, straight over the bytes).
    /// - Throws: `DecisionError` with a one-line reason naming the field.
    /// - Complexity: O(body bytes).
    public static func parse(bytes: UnsafeRawBufferPointer) throws -> DecideRequest {
        try RequestParser.run(bytes) { try $0.request(prefix: "") }
    }

    /// Parses a batch body: a JSON list of requests.
    public static func parseBatch(bytes: UnsafeRawBufferPointer) throws -> [DecideRequest] {
        try RequestParser.run(bytes) { try $0.batch() }
    }

    public static func parse(_ body: Data) throws -> DecideRequest {
        try body.withUnsafeBytes { try parse(bytes: $0) }
    }

    public static func parseBatch(_ body: Data) throws -> [DecideRequest] {
        try body.withUnsafeBytes { try parseBatch(bytes: $0) }
    }

    /// The same parse through Foundation's `JSONSerialization`: the reference that the tests
    /// compare `RequestParser` with, and the benchmark's (docs/benchmarks.md).
    public static func parseWithFoundation(_ body: Data) throws -> DecideRequest {
        try parse(object: json(body), at: "")
    }

    static func json(_ body: Data) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw DecisionError("the body is not valid JSON")
        }
    }

    static func parse(object: Any, at prefix: String) throws -> DecideRequest {
        guard let root = object as? [String: Any] else { throw DecisionError("\(prefix.isEmpty ? "the body" : String(prefix.dropLast())) must be a JSON object") }
        guard let userValue = root["user_id"] else { throw DecisionError("missing field '\(prefix)user_id'") }
        guard let user = userValue as? String else { throw DecisionError("field '\(prefix)user_id' must be a string") }
        guard let list = root["candidates"] else { throw DecisionError("missing field '\(prefix)candidates'") }
        guard let candidates = list as? [Any] else { throw DecisionError("field '\(prefix)candidates' must be a list") }
        var parsed: [LiveCandidate] = []
        parsed.reserveCapacity(candidates.count)
        for (j, item) in candidates.enumerated() {
            let at = "\(prefix)candidates[\(j)]"
            guard let c = item as? [String: Any] else { throw DecisionError("field '\(at)' must be a JSON object") }
            func number(_ key: String) throws -> Double {
                guard let v = c[key] else { throw DecisionError("missing field '\(at).\(key)'") }
                guard let n = numeric(v) else { throw DecisionError("field '\(at).\(key)' must be a number") }
                guard n.isFinite else { throw DecisionError("field '\(at).\(key)' is not a finite number") }
                return n
            }
            guard let couponValue = c["coupon_id"] else { throw DecisionError("missing field '\(at).coupon_id'") }
            guard let coupon = couponValue as? String else { throw DecisionError("field '\(at).coupon_id' must be a string") }
            let uplift = try number("uplift")
            let cost = try number("cost")
            guard cost >= 0 else { throw DecisionError("field '\(at).cost' is \(cost); a cost must be >= 0") }
            var channel: String?
            if let h = c["channel"], !(h is NSNull) {
                guard let name = h as? String else { throw DecisionError("field '\(at).channel' must be a string") }
                channel = name
            }
            var columns: [String: Double] = [:]
            for (key, value) in c where !["coupon_id", "uplift", "cost", "channel"].contains(key) {
                guard let n = numeric(value) else { continue }
                guard n.isFinite else { throw DecisionError("field '\(at).\(key)' is not a finite number") }
                columns[key] = n
            }
            parsed.append(LiveCandidate(coupon: coupon, uplift: uplift, cost: cost, channel: channel, columns: columns))
        }
        return DecideRequest(user: user, candidates: parsed)
    }

    static func numeric(_ value: Any) -> Double? {
        guard let n = value as? NSNumber else { return nil }
        if n === NSNumber(value: true) || n === NSNumber(value: false) || String(cString: n.objCType) == "B" { return nil }
        return n.doubleValue
    }

    /// The response body of one decision.
    /// - Complexity: O(the body's length), appended to one byte array.
    public static func response(user: String, given: [LiveCandidate], snapshot: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64 + snapshot.utf8.count + user.utf8.count + given.count * 64)
        out.append(contentsOf: #"{"user_id":"#.utf8)
        Journal.appendQuoted(user, to: &out)
        out.append(contentsOf: #","assignments":["#.utf8)
        for (k, g) in given.enumerated() {
            out.append(contentsOf: k == 0 ? #"{"coupon_id":"#.utf8 : #",{"coupon_id":"#.utf8)
            Journal.appendQuoted(g.coupon, to: &out)
            out.append(contentsOf: #","uplift":"#.utf8)
            out.append(contentsOf: g.uplift.description.utf8)
            out.append(contentsOf: #","cost":"#.utf8)
            out.append(contentsOf: g.cost.description.utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"snapshot":""#.utf8)
        out.append(contentsOf: snapshot.utf8)
        out.append(contentsOf: #""}"#.utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// The request written back as JSON (the benchmark's echo handler, docs/benchmarks.md).
    public static func echo(_ r: DecideRequest) -> String {
        var out = "{\"user_id\":"
        Journal.appendQuoted(r.user, to: &out)
        out += ",\"candidates\":["
        for (k, c) in r.candidates.enumerated() {
            out += k == 0 ? "{\"coupon_id\":" : ",{\"coupon_id\":"
            Journal.appendQuoted(c.coupon, to: &out)
            out += ",\"uplift\":" + c.uplift.description + ",\"cost\":" + c.cost.description
            if let h = c.channel { out += ",\"channel\":"; Journal.appendQuoted(h, to: &out) }
            for (name, v) in c.columns.sorted(by: { $0.key < $1.key }) {
                out += ","
                Journal.appendQuoted(name, to: &out)
                out += ":" + v.description
            }
            out += "}"
        }
        return out + "]}"
    }

    /// A one-line error body.
    public static func error(_ message: String) -> String { "{\"error\":" + Journal.quoted(message) + "}\n" }
}
