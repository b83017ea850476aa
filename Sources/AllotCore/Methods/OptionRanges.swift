/// An option of `SolveOptions`, `DualOptions` or `MILPOptions` outside its range.
public struct InvalidOption: Error, CustomStringConvertible, Equatable, Sendable {
    /// The option's path, e.g. `dual.gapCheckInterval`.
    public var option: String
    public var value: String
    /// What the value must be, e.g. `a whole number >= 1`.
    public var requirement: String
    public var description: String { "option \(option) is \(value); it must be \(requirement)" }
    public init(option: String, value: String, requirement: String) {
        self.option = option
        self.value = value
        self.requirement = requirement
    }
}

/// The ranges of every library option, checked in this one place (by `solve` and by the MILP
/// backends) so that a bad value throws `InvalidOption` instead of trapping or looping.
extension SolveOptions {
    public func validate() throws {
        try check("threads", threads, threads >= 1 && threads <= 4096, "a whole number from 1 to 4096")
        try check("polishUsers", polishUsers, polishUsers >= 1, "a whole number >= 1")
        if let timeLimit { try check("timeLimit", timeLimit, timeLimit.isFinite && timeLimit > 0, "a finite number of seconds > 0") }
        try dual.validate()
        try milp.validate()
    }
}

extension DualOptions {
    public func validate() throws {
        try check("dual.maxSweeps", maxSweeps, maxSweeps >= 1, "a whole number >= 1")
        try check("dual.relaxation", relaxation, relaxation > 0 && relaxation < 2, "a number in (0, 2)")
        try check("dual.sweepTolerance", sweepTolerance, sweepTolerance.isFinite && sweepTolerance >= 0, "a finite number >= 0")
        try check("dual.patience", patience, patience >= 1, "a whole number >= 1")
        try check("dual.couponStep", couponStep, couponStep > 0 && couponStep <= 1, "a number in (0, 1]")
        try check("dual.subgradientSteps", subgradientSteps, subgradientSteps >= 0, "a whole number >= 0")
        try check("dual.targetGap", targetGap, targetGap.isFinite && targetGap >= 0 && targetGap < 1, "a number in [0, 1)")
        try check("dual.gapCheckInterval", gapCheckInterval, gapCheckInterval >= 1, "a whole number >= 1")
    }
}

extension MILPOptions {
    public func validate() throws {
        if let timeLimit {
            try check("milp.timeLimit", timeLimit, timeLimit.isFinite && timeLimit > 0, "a finite number of seconds > 0")
        }
        try check("milp.relativeGap", relativeGap, relativeGap.isFinite && relativeGap >= 0 && relativeGap < 1, "a number in [0, 1)")
    }
}

private func check<T>(_ option: String, _ value: T, _ ok: Bool, _ requirement: String) throws {
    if !ok { throw InvalidOption(option: option, value: "\(value)", requirement: requirement) }
}
