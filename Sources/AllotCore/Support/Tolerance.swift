/// The numerical tolerances of Allot, in one place. The verifier, the engines' status rules
/// and the tests read these names instead of repeating the numbers.
public enum Tolerance {
    /// Relative slack of a sum constraint `s <= L` in the verifier:
    /// `s <= L + feasibility × max(1, |L|)`. It absorbs the rounding of summing up to 1e8
    /// doubles in different orders; counts are checked exactly.
    public static let feasibility = 1e-9

    /// A relative gap at or below this is zero: the method reports `optimal`.
    public static let optimalGap = 1e-12

    /// The floor of `|bound|` in the relative gap's denominator, so that a bound of 0 gives a
    /// finite gap: `gap = (bound - objective) / max(|bound|, gapDenominatorFloor)`.
    public static let gapDenominatorFloor = 1e-12
}
