import AllotCore
import AllotServe
import AllotTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A live `allot serve` on an ephemeral loopback port, started and stopped by the test.
final class LiveServer: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(snapshot: String, state: String) throws {
        process.executableURL = AllotBinary.url
        // Fixed multipliers: with pacing, how much is given depends on the time of day (the
        // plan), and the test's budgets must bind whenever it runs.
        process.arguments = ["serve", "--snapshot", snapshot, "--listen", "127.0.0.1:0", "--state", state, "--pacing", "fixed"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = text.range(of: "listening on 127.0.0.1:"),
              let port = Int(text[range.upperBound...].prefix { $0.isNumber }) else {
            process.terminate()
            throw DecisionError("the server did not start: \(text)")
        }
        self.port = port
    }

    func post(_ path: String, _ body: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        process.terminate()  // SIGTERM: graceful shutdown
        process.waitUntilExit()
    }
}

@Suite(.serialized) struct KillRecoveryTests {
    /// Rounds of parallel clients against small budgets, each ended by a SIGKILL once enough
    /// decisions were answered, then a restart on the same state: in the end no budget, cap or
    /// user limit is exceeded, and every answered assignment is in the recovered state.
    @Test func sigkillUnderLoadLosesNoAnsweredDecision() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("snapshot.json", testSnapshot.json())
        var answered: [(user: String, coupon: String)] = []
        var answeredCount = 0
        for round in 0..<4 {
            let server = try LiveServer(snapshot: dir.path("snapshot.json"), state: dir.path("state"))
            let killAt = round % 2 == 0 ? 12 : Int.max
            let count = Counter()
            let results = try await withThrowingTaskGroup(of: [(String, String)].self) { group in
                for client in 0..<4 {
                    group.addTask {
                        var got: [(String, String)] = []
                        for k in 0..<8 {
                            let user = "r\(round)-u\((client * 8 + k) % 11)"
                            // After the SIGKILL, requests fail: those were never answered.
                            guard let (status, body) = try? await server.post("/v1/decide", request(user, [c0, c1, c2].joined(separator: ","))) else { break }
                            #expect(status == 200)
                            if count.next() == killAt { server.kill() }
                            for coupon in ["c0", "c1", "c2"] where body.contains(#""coupon_id":"\#(coupon)""#) { got.append((user, coupon)) }
                        }
                        return got
                    }
                }
                var all: [(String, String)] = []
                for try await r in group { all += r }
                return all
            }
            answered += results
            answeredCount += count.value
            if round % 2 == 1 { server.terminate() }
        }
        let state = try Journal.state(directory: dir.path("state"))
        // Every answered decision is in the journal (one killed in flight may be there unanswered).
        #expect(state.decisions >= answeredCount)
        #expect(state.decisions <= answeredCount + 8)
        for (user, coupon) in answered {
            #expect(state.users[user]?.coupons.contains(coupon) == true, "\(user) \(coupon)")
        }
        #expect(state.spend["cash", default: 0] <= 10)
        #expect(state.spend["sms", default: 0] <= 3)
        #expect(state.couponUsers["c0", default: 0] <= 2)
        #expect(state.users.values.allSatisfy { $0.count <= 2 && $0.perChannel["push", default: 0] <= 1 })
        // The budgets bind: the later rounds found them spent.
        #expect(state.spend["cash", default: 0] > 7)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.withLock { n += 1; return n } }
    var value: Int { lock.withLock { n } }
}
