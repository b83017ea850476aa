import AllotCore

/// The tolerances the tests compare with, each named for what it absorbs. The library's own
/// (the verifier's slack, the optimal gap) are `Tolerance`'s; these read them where they mean the
/// same thing, so that a test never asks for less than the library promises.
public enum TestTolerance {
    /// The same numbers added in another order, or a value printed and read back: the
    /// verifier's own slack, relative to `max(1, |x|)` (`Tolerance.feasibility`).
    public static let reordered = Tolerance.feasibility
    /// A value that a MILP backend proves optimal within its default relative gap
    /// (`MILPOptions.relativeGap`), relative to `max(1, |optimum|)`.
    public static let exactGap = MILPOptions().relativeGap
    /// One formula evaluated two ways that differ by a few roundings of doubles.
    public static let rounding = 1e-12
    /// An iterative fit (the empirical-Bayes EM) against a direct computation.
    public static let iterative = 1e-6
}
