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
        try check("exactFinish.maxCandidates", exactFinish.maxCandidates, exactFinish.maxCandidates >= 0, "a whole number >= 0")
        try check("exactFinish.nodes", exactFinish.nodes, exactFinish.nodes >= 1, "a whole number >= 1")
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
        if let nodeLimit { try check("milp.nodeLimit", nodeLimit, nodeLimit >= 1, "a whole number >= 1") }
        try check("milp.relativeGap", relativeGap, relativeGap.isFinite && relativeGap >= 0 && relativeGap < 1, "a number in [0, 1)")
    }
}

private func check<T>(_ option: String, _ value: T, _ ok: Bool, _ requirement: String) throws {
    if !ok { throw InvalidOption(option: option, value: "\(value)", requirement: requirement) }
}

/// One option that a front end sets, as each one spells it. `SolveOptions.frontEndOptions` is
/// the one table of them: the CLI (`allot solve`) and the C ABI (and so Python's `allot.solve`)
/// both set these fields and check them with `SolveOptions.validate()`, so that a value one
/// accepts the other accepts too (`--gap 0` and `gap=0`), with the same requirement in the message.
package struct FrontEndOption: Sendable, Equatable {
    /// The library's fields it sets, as `InvalidOption.option` names them.
    package let paths: [String]
    /// The CLI's flag, e.g. `--time-limit`.
    package let flag: String?
    /// The C ABI's (Python's) key, e.g. `time_limit`.
    package let key: String

    /// The message for `error` (which names one of `paths`), in this front end's words: "--gap is
    /// -1.0; it must be a number in [0, 1)" or "option 'gap' is -1.0; it must be ...".
    package func message(_ error: InvalidOption, commandLine: Bool) -> String {
        let name = commandLine ? (flag ?? error.option) : "option '\(key)'"
        return "\(name) is \(error.value); it must be \(error.requirement)"
    }
}

extension SolveOptions {
    /// The options the front ends set (see `FrontEndOption`).
    package static let frontEndOptions: [FrontEndOption] = [
        FrontEndOption(paths: ["threads"], flag: "--threads", key: "threads"),
        FrontEndOption(paths: ["timeLimit", "milp.timeLimit"], flag: "--time-limit", key: "time_limit"),
        FrontEndOption(paths: ["milp.relativeGap", "dual.targetGap"], flag: "--gap", key: "gap"),
        FrontEndOption(paths: ["polishUsers"], flag: nil, key: "polish_users"),
        FrontEndOption(paths: ["exactFinish.maxCandidates"], flag: "--exact-finish-limit", key: "exact_finish_limit"),
    ]

    /// The front-end option that sets the field `path`, if any.
    package static func frontEndOption(setting path: String) -> FrontEndOption? {
        frontEndOptions.first { $0.paths.contains(path) }
    }

    /// Sets the relative gap at which the dual and the exact methods stop (`--gap`, `gap=`).
    public mutating func setGap(_ gap: Double) {
        milp.relativeGap = gap
        dual.targetGap = gap
    }
}
