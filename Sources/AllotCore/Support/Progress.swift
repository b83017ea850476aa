/// What a long solve reports while it runs, for a progress display.
public enum SolveProgress: Sendable, Equatable {
    /// The dual finished a sweep over its multipliers: the best bound so far, and the gap to the
    /// best allocation recovered so far (nil before the first recovery).
    case dualSweep(sweep: Int, bound: Double, gap: Double?)
    /// The dual is recovering an allocation from its multipliers.
    case recovery
    /// An exact solver's best allocation value and bound so far (nil when not known yet).
    case milp(incumbent: Double?, bound: Double?)
}

/// Receives progress events; called on the solving thread, so it should return quickly.
public typealias ProgressHandler = @Sendable (SolveProgress) -> Void
