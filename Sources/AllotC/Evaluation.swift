// allot_evaluate and allot_frontier (ABI version 2): what `allot evaluate` and `allot frontier`
// compute, on a problem built with the builder. Declared in include/allot.h.

import Allot
import Foundation

/// An allocation of a problem, read from its id columns. Immutable.
final class AllocationHandle: Sendable {
    let name: String
    /// The problem handle it belongs to (its number), so that it is evaluated on that problem only.
    let problem: UInt
    let allocation: Allocation
    init(name: String, problem: UInt, allocation: Allocation) {
        self.name = name
        self.problem = problem
        self.allocation = allocation
    }
}

/// A report as JSON, and for the frontier the chosen rows of each point. Immutable.
final class ReportHandle: Sendable {
    let json: CString
    let rowSets: [[Int64]]
    init(json: String, rowSets: [[Int64]] = []) {
        self.json = CString(json)
        self.rowSets = rowSets
    }
}

func allocationHandle(_ pointer: OpaquePointer?) throws -> AllocationHandle {
    try typed(pointer, "allocation") { if case .allocation(let a) = $0 { a } else { nil } }
}

func logHandle(_ pointer: OpaquePointer?) throws -> RandomisedLog {
    try typed(pointer, "log") { if case .log(let l) = $0 { l } else { nil } }
}

func reportHandle(_ pointer: OpaquePointer?) throws -> ReportHandle {
    try typed(pointer, "report") { if case .report(let r) = $0 { r } else { nil } }
}

/// `rows` strings in the large_string layout (offsets of rows + 1 entries), copied.
func stringColumn(_ name: String, _ rows: Int64, _ offsets: UnsafePointer<Int64>?, _ data: UnsafePointer<UInt8>?) throws -> [String] {
    guard rows >= 0 else { throw argument("\(name): rows is \(rows); it must be >= 0") }
    guard let offsets else { throw argument("\(name): offsets is NULL") }
    return try StringDictionary(count: rows, offsets: offsets, data: data, dataLength: offsets[Int(rows)], name: name).strings(name)
}

func numberColumn(_ name: String, _ rows: Int64, _ values: UnsafePointer<Double>?) throws -> [Double] {
    if rows > 0 && values == nil { throw argument("\(name): values is NULL") }
    return rows == 0 ? [] : Array(UnsafeBufferPointer(start: values, count: Int(rows)))
}

@_cdecl("allot_allocation_new")
public func allot_allocation_new(_ p: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ rows: Int64,
                                 _ userOffsets: UnsafePointer<Int64>?, _ userData: UnsafePointer<UInt8>?,
                                 _ couponOffsets: UnsafePointer<Int64>?, _ couponData: UnsafePointer<UInt8>?) -> OpaquePointer? {
    guarded(nil) {
        let problem = try problemHandle(p).problem
        let name = try string(name, "name")
        let users = try stringColumn("user_id", rows, userOffsets, userData)
        let coupons = try stringColumn("coupon_id", rows, couponOffsets, couponData)
        let allocation = try AllocationFile.allocation(users: users, coupons: coupons, source: name, for: problem)
        return register(.allocation(AllocationHandle(name: name, problem: number(of: p!), allocation: allocation)))
    }
}

@_cdecl("allot_allocation_free")
public func allot_allocation_free(_ a: OpaquePointer?) {
    release(a, "allocation") { if case .allocation = $0 { true } else { false } }
}

@_cdecl("allot_log_new")
public func allot_log_new(_ name: UnsafePointer<CChar>?, _ outcomeColumn: UnsafePointer<CChar>?, _ rows: Int64,
                          _ userOffsets: UnsafePointer<Int64>?, _ userData: UnsafePointer<UInt8>?,
                          _ treatmentOffsets: UnsafePointer<Int64>?, _ treatmentData: UnsafePointer<UInt8>?,
                          _ outcomes: UnsafePointer<Double>?, _ propensities: UnsafePointer<Double>?) -> OpaquePointer? {
    guarded(nil) {
        try newLog(name, outcomeColumn, control: nil, optionNames: .commandLine, rows, userOffsets, userData,
                   treatmentOffsets, treatmentData, outcomes, propensities)
    }
}

/// `allot_log_new` with the control arm named (ABI version 7); messages name `control=` and
/// `max_unknown_share=`, as `allot.evaluate` spells them.
@_cdecl("allot_log_new_control")
public func allot_log_new_control(_ name: UnsafePointer<CChar>?, _ outcomeColumn: UnsafePointer<CChar>?,
                                  _ control: UnsafePointer<CChar>?, _ rows: Int64,
                                  _ userOffsets: UnsafePointer<Int64>?, _ userData: UnsafePointer<UInt8>?,
                                  _ treatmentOffsets: UnsafePointer<Int64>?, _ treatmentData: UnsafePointer<UInt8>?,
                                  _ outcomes: UnsafePointer<Double>?, _ propensities: UnsafePointer<Double>?) -> OpaquePointer? {
    guarded(nil) {
        try newLog(name, outcomeColumn, control: control, optionNames: .keywords, rows, userOffsets, userData,
                   treatmentOffsets, treatmentData, outcomes, propensities)
    }
}

private func newLog(_ name: UnsafePointer<CChar>?, _ outcomeColumn: UnsafePointer<CChar>?, control: UnsafePointer<CChar>?,
                    optionNames: RandomisedLog.OptionNames, _ rows: Int64,
                    _ userOffsets: UnsafePointer<Int64>?, _ userData: UnsafePointer<UInt8>?,
                    _ treatmentOffsets: UnsafePointer<Int64>?, _ treatmentData: UnsafePointer<UInt8>?,
                    _ outcomes: UnsafePointer<Double>?, _ propensities: UnsafePointer<Double>?) throws -> OpaquePointer {
    let name = try string(name, "name")
    let outcome = outcomeColumn == nil ? "outcome" : try string(outcomeColumn, "outcome_column")
    let control = control == nil ? "control" : try string(control, "control")
    guard !control.trimmingCharacters(in: .whitespaces).isEmpty else { throw argument("control must name a treatment, not be empty") }
    let log = try RandomisedLog(
        name: name, outcome: outcome, control: control, optionNames: optionNames,
        users: try stringColumn("user_id", rows, userOffsets, userData),
        treatments: try stringColumn("treatment", rows, treatmentOffsets, treatmentData),
        outcomes: try numberColumn(outcome, rows, outcomes),
        propensities: propensities == nil ? nil : try numberColumn("propensity", rows, propensities))
    return register(.log(log))
}

@_cdecl("allot_log_free")
public func allot_log_free(_ l: OpaquePointer?) {
    release(l, "log") { if case .log = $0 { true } else { false } }
}

@_cdecl("allot_evaluate")
public func allot_evaluate(_ p: OpaquePointer?, _ a: OpaquePointer?, _ l: OpaquePointer?,
                           _ against: UnsafePointer<CChar>?, _ other: OpaquePointer?) -> OpaquePointer? {
    guarded(nil) { try evaluate(p, a, l, against, other, maxUnknownShare: nil) }
}

/// `allot_evaluate` that first fails, as `allot evaluate` does, when more than
/// `maxUnknownShare` of the log's rows have a treatment that is neither its control arm nor a
/// coupon of the scores (ABI version 7).
@_cdecl("allot_evaluate_checked")
public func allot_evaluate_checked(_ p: OpaquePointer?, _ a: OpaquePointer?, _ l: OpaquePointer?,
                                   _ against: UnsafePointer<CChar>?, _ other: OpaquePointer?,
                                   _ maxUnknownShare: Double) -> OpaquePointer? {
    guarded(nil) {
        guard maxUnknownShare >= 0 && maxUnknownShare <= 1 else {
            throw optionError("option 'max_unknown_share' is \(maxUnknownShare); it must be a number from 0 to 1")
        }
        return try evaluate(p, a, l, against, other, maxUnknownShare: maxUnknownShare)
    }
}

private func evaluate(_ p: OpaquePointer?, _ a: OpaquePointer?, _ l: OpaquePointer?,
                      _ against: UnsafePointer<CChar>?, _ other: OpaquePointer?, maxUnknownShare: Double?) throws -> OpaquePointer {
    do {
        let problem = try problemHandle(p).problem
        func mine(_ pointer: OpaquePointer?) throws -> AllocationHandle {
            let handle = try allocationHandle(pointer)
            guard handle.problem == number(of: p!) else { throw argument("the allocation was read for another problem") }
            return handle
        }
        let allocation = try mine(a).allocation
        let log = l == nil ? nil : try logHandle(l)
        var baseline: EvaluationReport.Baseline?
        if let other {
            guard against == nil else { throw argument("give against or another allocation, not both") }
            let handle = try mine(other)
            baseline = .allocation(handle.allocation, name: handle.name)
        } else if let against {
            switch try string(against, "against") {
            case "random": baseline = .random
            case "none": baseline = EvaluationReport.Baseline.none
            case let name: throw argument("against must be \"random\", \"none\" or NULL, not \"\(name)\"")
            }
        }
        if baseline != nil && log == nil { throw argument("a comparison needs a log") }
        if let log, let maxUnknownShare { _ = try log.checkTreatments(problem, maxShare: maxUnknownShare) }
        let report = Verifier.verify(problem, allocation)
        let evaluation = EvaluationReport(problem: problem, allocation: allocation, report: report, log: log, against: baseline)
        return register(.report(ReportHandle(json: evaluation.json())))
    }
}

@_cdecl("allot_frontier")
public func allot_frontier(_ p: OpaquePointer?, _ budgets: UnsafePointer<Double>?, _ budgetCount: Int64,
                           _ methods: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?) -> OpaquePointer? {
    guarded(nil) {
        let handle = try problemHandle(p)
        guard budgetCount >= 1 else { throw argument("give at least one budget (budget_count is \(budgetCount))") }
        let levels = try numberColumn("budgets", budgetCount, budgets)
        guard levels.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw argument("budgets must be finite numbers >= 0") }
        let names = methods == nil ? ["dual", "greedy-marginal", "greedy-ratio"]
            : try string(methods, "methods").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw argument("methods is empty") }
        let chosen = try names.map(namedMethod)
        let options = try solveOptions(optionsJSON == nil ? nil : try string(optionsJSON, "options_json"))
        var rowSets: [[Int64]] = []
        let points = try Frontier.compute(try Frontier.withBudget(handle.problem), budgets: levels.sorted(),
                                          methods: chosen, options: options) { _, allocation, _, _ in
            rowSets.append(handle.rows(of: allocation.candidates))
        }
        return register(.report(ReportHandle(json: prettyJSON(points), rowSets: rowSets)))
    }
}

@_cdecl("allot_report_json")
public func allot_report_json(_ r: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try reportHandle(r).json.pointer) }
}

@_cdecl("allot_report_row_sets")
public func allot_report_row_sets(_ r: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try reportHandle(r).rowSets.count) }
}

/// The row set `k` of a report, checked.
func rowSet(_ r: OpaquePointer?, _ k: Int64) throws -> [Int64] {
    let sets = try reportHandle(r).rowSets
    guard k >= 0, k < sets.count else { throw argument("row set \(k) is outside 0..<\(sets.count)") }
    return sets[Int(k)]
}

@_cdecl("allot_report_row_count")
public func allot_report_row_count(_ r: OpaquePointer?, _ k: Int64) -> Int64 {
    guarded(-1) { Int64(try rowSet(r, k).count) }
}

@_cdecl("allot_report_copy_rows")
public func allot_report_copy_rows(_ r: OpaquePointer?, _ k: Int64, _ out: UnsafeMutablePointer<Int64>?, _ capacity: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        try copyRows(try rowSet(r, k), to: out, capacity: capacity)
        return ErrorCode.ok.rawValue
    }
}

@_cdecl("allot_report_free")
public func allot_report_free(_ r: OpaquePointer?) {
    release(r, "report") { if case .report = $0 { true } else { false } }
}
