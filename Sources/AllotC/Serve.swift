// allot_live_* (issue 22): a snapshot's decision and pacing engine in-process, the same code as
// `allot serve` (AllotServe). Declared in include/allot.h.

import Allot
import AllotCore
import AllotServe
import Foundation

/// A snapshot and one day of decisions on it. The engine is thread-safe; the last response is
/// kept per handle under its lock (valid until the next decision on the handle).
final class LiveHandle: @unchecked Sendable {
    let engine: DecisionEngine
    let version: CString
    let json: CString
    private let lock = NSLock()
    private var last = CString("")
    init(_ snapshot: Snapshot, pacing: Pacing) {
        engine = DecisionEngine(snapshot: snapshot, pacing: pacing)
        version = CString(snapshot.version)
        json = CString(snapshot.json())
    }
    func keep(_ text: String) -> UnsafePointer<CChar> {
        lock.withLock {
            last = CString(text)
            return UnsafePointer(last.pointer)
        }
    }
}

func liveHandle(_ pointer: OpaquePointer?) throws -> LiveHandle {
    guard let pointer else { throw argument("live handle is NULL") }
    return Unmanaged<LiveHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// A snapshot from its JSON text, with pacing `rule` ("proportional" or "fixed") and `gain`
/// (negative: the default). NULL on error (the last error says why).
@_cdecl("allot_live_new")
public func allot_live_new(_ json: UnsafePointer<CChar>?, _ rule: UnsafePointer<CChar>?, _ gain: Double) -> OpaquePointer? {
    guarded(nil) {
        let snapshot = try Snapshot.parse(Data(try string(json, "json").utf8), file: "snapshot")
        let ruleName = try string(rule, "rule")
        guard let r = Pacing.Rule(rawValue: ruleName) else { throw argument("rule '\(ruleName)' is not one of: proportional, fixed") }
        guard gain.isFinite else { throw argument("gain is not a finite number") }
        let handle = LiveHandle(snapshot, pacing: Pacing(rule: r, gain: gain < 0 ? Pacing().gain : gain))
        return OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

@_cdecl("allot_live_free")
public func allot_live_free(_ p: OpaquePointer?) {
    guard let p else { return }
    Unmanaged<LiveHandle>.fromOpaque(UnsafeRawPointer(p)).release()
}

/// The snapshot's version (sha256), valid while the handle lives.
@_cdecl("allot_live_version")
public func allot_live_version(_ p: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try liveHandle(p).version.pointer) }
}

/// The snapshot document, valid while the handle lives.
@_cdecl("allot_live_json")
public func allot_live_json(_ p: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try liveHandle(p).json.pointer) }
}

/// Decides one request (the body of POST /v1/decide) at time `t` of the day (0 to 1) and
/// returns the response JSON, valid until the next decision on the handle; NULL on error.
@_cdecl("allot_live_decide")
public func allot_live_decide(_ p: OpaquePointer?, _ request: UnsafePointer<CChar>?, _ t: Double) -> UnsafePointer<CChar>? {
    guarded(nil) {
        let handle = try liveHandle(p)
        let r: DecideRequest
        let given: [LiveCandidate]
        do {
            r = try DecideRequest.parse(Data(try string(request, "request").utf8))
            given = try handle.engine.decide(user: r.user, candidates: r.candidates, at: t.isFinite ? t : 0)
        } catch let e as DecisionError {
            throw InputError(file: "request", e.message)
        }
        return handle.keep(DecideRequest.response(user: r.user, given: given, snapshot: String(cString: handle.version.pointer)))
    }
}

/// Writes the snapshot of a solved result to `path` (`allot solve --snapshot`'s file, byte for
/// byte: the same `Snapshot(problem:solution:profile:)` and the same atomic write), with the
/// spend plan `profile` (comma-separated weights, as `--profile`; NULL: uniform).
/// ALLOT_OK, or an error code (the last error says why; nothing is written then).
@_cdecl("allot_result_write_snapshot")
public func allot_result_write_snapshot(_ r: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ profile: UnsafePointer<CChar>?) -> Int32 {
    let status = guarded(Int32(-1)) {
        let result = try resultHandle(r)
        guard let solved = result.solved else { throw argument("the result has no solve to write") }
        let target = try string(path, "path")
        var plan = [1.0]
        if let profile {
            let text = try string(profile, "profile")
            guard let weights = Snapshot.parseProfile(text) else {
                throw InputError(file: "profile", "'\(text)' is not a list of comma-separated weights >= 0 with a positive sum")
            }
            plan = weights
        }
        let bytes = Array(try Snapshot(problem: solved.problem, solution: solved.solution, profile: plan).json().utf8)
        try OutputFiles.checkWritable(target)
        try AtomicFile.commit([(target, bytes)], installingSignalHandlers: false)
        return ErrorCode.ok.rawValue
    }
    return status == -1 ? threadLastError().code : status
}
