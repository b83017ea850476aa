// The dual's coordinator through the C ABI (include/allot.h, "since version 8"), with the
// control inverted: the library's own coordinator runs on a thread of its own, and its
// transport hands each request to the caller (allot_dual_next) and waits for the merged answer
// (allot_dual_give). No coordinator logic is written here: the thread runs the library's.

import Allot
import Foundation

/// A request of the coordinator to its caller.
enum CoordinatorRequest {
    /// Run this task (DualWire bytes) over every user and give the merged aggregate.
    case task([UInt8])
    /// Give the rows of the users the warm start samples (`DualSolver.isSampled` with this
    /// seed), as a part problem (`allot_builder_build_part`).
    case sample(seed: UInt64)
    /// Run the allocation pass with this plan over every part and give the merged tally.
    case allocate([UInt8])
}

/// What the caller gives back.
enum CoordinatorAnswer {
    case aggregate(DualAggregate)
    case sample(ProblemHandle)
    case tally(TallyWire.Part)
}

/// The handoff between the coordinator's thread and the caller's: one request outstanding at a
/// time, under one condition variable.
///
/// `@unchecked Sendable`: every field is read and written under `condition`'s lock.
final class Handoff: @unchecked Sendable {
    private let condition = NSCondition()
    private var request: CoordinatorRequest?
    private var answer: CoordinatorAnswer?
    private var abandoned = false
    private(set) var finished = false
    private var failure: String?

    /// Coordinator side: posts `r` and waits for the answer; nil once the handle is abandoned
    /// (freed mid-solve), when the coordinator must wind down without asking again.
    func ask(_ r: CoordinatorRequest) -> CoordinatorAnswer? {
        condition.lock()
        defer { condition.unlock() }
        if abandoned { return nil }
        request = r
        answer = nil
        condition.broadcast()
        while answer == nil && !abandoned { condition.wait() }
        request = nil
        defer { answer = nil }
        return abandoned ? nil : answer
    }

    var isAbandoned: Bool {
        condition.lock()
        defer { condition.unlock() }
        return abandoned
    }

    /// Coordinator side: the solve ended (with `failure`'s message, or not).
    func finish(failure: String?) {
        condition.lock()
        self.failure = failure
        finished = true
        request = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Caller side: the outstanding request (the same until it is answered), or nil when the
    /// solve is over; throws the solve's failure.
    func next() throws -> CoordinatorRequest? {
        condition.lock()
        defer { condition.unlock() }
        while request == nil && !finished { condition.wait() }
        if let request { return request }
        if let failure { throw ABIError(code: .solve, message: failure) }
        return nil
    }

    /// Caller side: answers the outstanding request.
    func give(_ a: CoordinatorAnswer) throws {
        condition.lock()
        defer { condition.unlock() }
        guard request != nil, answer == nil else { throw argument("the coordinator has no request outstanding (call allot_dual_next first)") }
        answer = a
        condition.broadcast()
    }

    /// What the caller's outstanding request is, to check an answer's kind against.
    var outstanding: CoordinatorRequest? {
        condition.lock()
        defer { condition.unlock() }
        return answer == nil ? request : nil
    }

    /// Caller side (free): abandons the solve and waits until its thread has ended.
    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// A solve in progress: its handoff, what it resolved the spec against, and its result.
///
/// `@unchecked Sendable`: `outcome` is written by the coordinator's thread before it calls
/// `handoff.finish`, and read by the caller only after `next` has reported the end (the
/// handoff's lock orders the two).
final class CoordinatorHandle: @unchecked Sendable {
    let handoff = Handoff()
    /// The spec resolved against the catalogue: a problem of no candidates.
    let problem: Problem
    let users: Int
    var outcome: CoordinatorOutcome?

    init(problem: Problem, users: Int) {
        self.problem = problem
        self.users = users
    }
}

/// What a finished solve gives its caller.
struct CoordinatorOutcome {
    let summary: CString
    let shadowPrices: CString
    let objective: Double
    let upperBound: Double
    let gap: Double
    let plan: [UInt8]
}
