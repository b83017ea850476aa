/// What a long solve reports while it runs, for a progress display.
public enum SolveProgress: Sendable, Equatable {
    /// The dual finished a sweep over its multipliers: the best bound so far, and the gap to the
    /// best allocation recovered so far (nil before the first recovery).
    case dualSweep(sweep: Int, bound: Double, gap: Double?)
    /// The dual is recovering an allocation from its multipliers.
    case recovery
    /// An exact solver's best allocation value so far (the warm start's until the solver beats
    /// it) and its proven upper bound on the optimum (nil while unknown). The incumbent only
    /// goes up, the bound only down, and the bound is never below the incumbent.
    case milp(incumbent: Double?, bound: Double?)
    /// Polishing (`dual+milp`): the value of the best allocation so far (the dual's, until the
    /// solver beats it), and an upper bound on what polishing can reach with the other users'
    /// assignments fixed (not a bound on the optimum: the dual's bound is that).
    case polish(incumbent: Double?, bound: Double?)
    /// An exact method entered a phase that reports nothing until it ends, in words: building
    /// the 0-1 program, or a solver's root relaxation and preprocessing.
    case exactPhase(String)
}

/// Receives progress events; called on the solving thread, so it should return quickly.
public typealias ProgressHandler = @Sendable (SolveProgress) -> Void
