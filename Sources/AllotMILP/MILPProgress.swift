import AllotCore
import Synchronization

/// Turns a backend's raw progress (the solver's incumbent and bound on its model, as its C
/// callback sees them, possibly several times per node) into `SolveProgress.milp` events:
/// - the warm start counts as the incumbent until the solver beats it;
/// - the incumbent shown only goes up, the bound only down (each is a proven fact that stays
///   true), and the bound is never below the incumbent (a feasible value is a lower bound on
///   the optimum, so raising the upper bound to it keeps it valid);
/// - the start, the first bound and every better incumbent are reported at once, a better bound
///   at most every `interval` seconds.
///
/// A backend hands `context` to its C callback, which passes it back to `relay(_:...)`.
package final class MILPProgressRelay: Sendable {
    /// The least time between two reports when only the bound improved.
    package static let interval = 0.5
    private struct Shown {
        var incumbent: Double?
        var bound: Double?
        var at = -Double.infinity
    }
    private let handler: ProgressHandler
    private let shown: Mutex<Shown>

    /// nil when there is no handler: the backend then passes no callback at all.
    package init?(_ handler: ProgressHandler?, model: MILPModel, start: [Double]?) {
        guard let handler else { return nil }
        self.handler = handler
        shown = Mutex(Shown(incumbent: start.map(model.objectiveValue)))
    }

    package func report(incumbent: Double?, bound: Double?) {
        let event: SolveProgress? = shown.withLock { s in
            let now = monotonicSeconds()
            let better = incumbent.map { i in s.incumbent.map { i > $0 } ?? true } ?? false
            let tighter = bound.map { b in s.bound.map { b < $0 } ?? true } ?? false
            let first = s.at == -.infinity || (s.bound == nil && bound != nil)
            guard better || first || (tighter && now - s.at >= Self.interval) else { return nil }
            if better { s.incumbent = incumbent }
            if tighter { s.bound = bound }
            s.at = now
            return .milp(incumbent: s.incumbent, bound: s.bound.map { max($0, s.incumbent ?? $0) })
        }
        if let event { handler(event) }
    }

    /// Runs `body` (the search) with the relay as an opaque C context (nil without a relay),
    /// kept alive meanwhile; first reports the start, so that the search shows from its outset.
    package static func withContext<R>(_ relay: MILPProgressRelay?, _ body: (UnsafeMutableRawPointer?) throws -> R) rethrows -> R {
        guard let relay else { return try body(nil) }
        relay.report(incumbent: nil, bound: nil)
        return try withExtendedLifetime(relay) { try body(Unmanaged.passUnretained(relay).toOpaque()) }
    }

    /// For a backend's C callback: forwards a report to the relay behind `context`.
    package static func relay(_ context: UnsafeMutableRawPointer?, hasIncumbent: Int32, incumbent: Double,
                              hasBound: Int32, bound: Double) {
        guard let context else { return }
        Unmanaged<MILPProgressRelay>.fromOpaque(context).takeUnretainedValue()
            .report(incumbent: hasIncumbent != 0 ? incumbent : nil, bound: hasBound != 0 ? bound : nil)
    }
}
