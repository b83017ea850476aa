import AllotCore
import AllotServe
import AllotServeHTTP
import AllotTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A snapshot with a cash budget of 10, an sms budget on an extra column, a cap of 2 on c0.
let testSnapshot = Snapshot(
    budgets: [.init(name: "cash", column: "cost", limit: 10, multiplier: 0.5),
              .init(name: "sms", column: "sms_units", limit: 3, multiplier: 0)],
    couponCaps: ["c0": .init(cap: 2, multiplier: 0)], maxPerUser: 2, channelCaps: ["push": 1],
    coupons: ["c0", "c1", "c2"], forecastUsers: 10)

func request(_ user: String, _ candidates: String) -> String { #"{"user_id":"\#(user)","candidates":[\#(candidates)]}"# }
let c0 = #"{"coupon_id":"c0","uplift":5,"cost":2,"channel":"push","sms_units":0}"#
let c1 = #"{"coupon_id":"c1","uplift":4,"cost":1,"channel":"push","sms_units":1}"#
let c2 = #"{"coupon_id":"c2","uplift":3,"cost":3,"channel":"email","sms_units":1}"#

@Suite struct ServeHTTPTests {
    func withApp(_ service: LiveService, bodyLimit: Int = 4096, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let http = ServeHTTP(service: service, bodyLimit: bodyLimit)
        let app = Application(router: http.buildRouter())
        try await app.test(.router) { client in try await body(client) }
    }

    @Test func decidesKeepsCapsAcrossRequestsAndJournals() async throws {
        let dir = try TemporaryDirectory()
        let service = try LiveService(snapshot: testSnapshot, stateDirectory: dir.url.path, pacing: Pacing(rule: .fixed), clock: { 0.5 })
        try await withApp(service) { client in
            let v = testSnapshot.version
            try await client.execute(uri: "/v1/decide", method: .post, body: ByteBuffer(string: request("u1", [c0, c1, c2].joined(separator: ",")))) { r in
                #expect(r.status == .ok)
                // c0 (5 - 0.5·2 = 4) beats c1 (4 - 0.5 = 3.5), both push (cap 1): c0, then c2 (3 - 1.5).
                #expect(String(buffer: r.body) == #"{"user_id":"u1","assignments":[{"coupon_id":"c0","uplift":5.0,"cost":2.0},{"coupon_id":"c2","uplift":3.0,"cost":3.0}],"snapshot":"\#(v)"}"# + "\n")
            }
            // The same user again: at the frequency cap of 2.
            try await client.execute(uri: "/v1/decide", method: .post, body: ByteBuffer(string: request("u1", c1))) { r in
                #expect(String(buffer: r.body).contains(#""assignments":[]"#))
            }
            try await client.execute(uri: "/v1/decide-batch", method: .post,
                                     body: ByteBuffer(string: "[" + request("u2", c0) + "," + request("u3", c0) + "]")) { r in
                #expect(r.status == .ok)
                // The cap of 2 on c0: u2 gets it, u3 does not.
                let text = String(buffer: r.body)
                #expect(text.hasPrefix(#"[{"user_id":"u2","assignments":[{"coupon_id":"c0""#))
                #expect(text.contains(#"{"user_id":"u3","assignments":[]"#))
            }
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(String(buffer: r.body) == #"{"status":"ok","snapshot":"\#(v)"}"#)
            }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.contains("allot_decisions_total 4"))
                #expect(text.contains(#"allot_spend{budget="cash"} 7.0"#))
                #expect(text.contains(#"allot_multiplier{budget="cash"} 0.5"#))
                #expect(text.contains("allot_decide_seconds_count 3"))
            }
        }
        // A restart: the journal gives back the same day.
        let again = try LiveService(snapshot: testSnapshot, stateDirectory: dir.url.path, clock: { 0.5 })
        #expect(again.engine.currentState == service.engine.currentState)
        #expect(again.engine.currentState.spend == ["cash": 7, "sms": 1])
        #expect(again.engine.currentState.couponUsers["c0"] == 2)
    }

    @Test func badRequestsGetTheirExactError() async throws {
        let service = try LiveService(snapshot: testSnapshot, stateDirectory: nil, clock: { 0.5 })
        let cases: [(String, String)] = [
            (#"{"candidates":[]}"#, "missing field 'user_id'"),
            (#"{"user_id":"u"}"#, "missing field 'candidates'"),
            (request("u", #"{"coupon_id":"c1","cost":1,"sms_units":0}"#), "missing field 'candidates[0].uplift'"),
            (request("u", #"{"coupon_id":"c1","uplift":NaN,"cost":1,"sms_units":0}"#), "the body is not valid JSON"),
            (request("u", #"{"coupon_id":"c1","uplift":"NaN","cost":1,"sms_units":0}"#), "field 'candidates[0].uplift' must be a number"),
            (request("u", #"{"coupon_id":"c1","uplift":1,"cost":-1,"sms_units":0}"#), "field 'candidates[0].cost' is -1.0; a cost must be >= 0"),
            (request("u", #"{"coupon_id":"c1","uplift":1,"cost":1}"#), "candidates[0]: missing field 'sms_units' (budget 'sms')"),
            (request("u", #"{"coupon_id":"c9","uplift":1,"cost":1,"sms_units":0}"#),
             "candidates[0]: unknown coupon_id 'c9': the snapshot has coupon caps, so only its coupons are allowed"),
            (request("u", String(repeating: c1 + ",", count: 100) + c1), "the body is over the limit of 4096 bytes"),
        ]
        try await withApp(service) { client in
            for (body, message) in cases {
                try await client.execute(uri: "/v1/decide", method: .post, body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .badRequest, "\(body)")
                    #expect(String(buffer: r.body) == DecideRequest.error(message), "\(body)")
                }
            }
            try await client.execute(uri: "/v1/decide-batch", method: .post,
                                     body: ByteBuffer(string: "[" + request("u", c1) + "," + request("v", #"{"coupon_id":"c9","uplift":1,"cost":1,"sms_units":0}"#) + "]")) { r in
                #expect(String(buffer: r.body) == DecideRequest.error("[1].candidates[0]: unknown coupon_id 'c9': the snapshot has coupon caps, so only its coupons are allowed"))
            }
        }
        // Nothing was reserved by any refused request (the batch is refused whole).
        #expect(service.engine.currentState.spend.values.allSatisfy { $0 == 0 })
        #expect(service.engine.currentState.decisions == 0)
    }

    @Test func reloadIsAtomicAndKeepsTheDay() async throws {
        let service = try LiveService(snapshot: testSnapshot, stateDirectory: nil, pacing: Pacing(rule: .fixed), clock: { 0.5 })
        var changed = testSnapshot
        changed.budgets[0].limit = 20
        let next = changed
        let nextVersion = next.version
        try await withApp(service) { client in
            _ = try await client.execute(uri: "/v1/decide", method: .post, body: ByteBuffer(string: request("u1", c2)))
            try await client.execute(uri: "/v1/snapshot", method: .post, body: ByteBuffer(string: next.json())) { r in
                #expect(String(buffer: r.body) == #"{"snapshot":"\#(nextVersion)"}"# + "\n")
            }
            try await client.execute(uri: "/v1/snapshot", method: .post, body: ByteBuffer(string: "{}")) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body) == DecideRequest.error("snapshot: missing key 'format'"))
            }
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(String(buffer: r.body).contains(nextVersion))
            }
        }
        #expect(service.engine.currentState.spend["cash"] == 3)
        #expect(service.engine.currentSnapshot == next)
    }
}
