// The C ABI declared in include/allot.h. Every exported function checks its arguments, catches
// every thrown error and records it for allot_last_error_*(): nothing here may end the host.

import Allot
import AllotIO
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let abiVersion: UInt32 = 7
let libraryVersion = StaticCString("0.1.0")

// MARK: - Errors

enum ErrorCode: Int32 {
    case ok = 0, input = 1, solve = 2, verification = 3, argument = 4, `internal` = 5
}

/// An error of the ABI itself (misuse) or a verification failure.
struct ABIError: Error {
    var code: ErrorCode
    var message: String
}

/// The last error of one thread. Only its own thread touches it (it is reached through a
/// pthread key), so it needs no lock.
final class LastError {
    var code: Int32 = 0
    var message = CString("")
}

/// The key of each thread's `LastError`; the destructor releases it when the thread exits.
let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
        if let pointer { Unmanaged<LastError>.fromOpaque(pointer).release() }
    }
    return key
}()

func threadLastError() -> LastError {
    if let pointer = pthread_getspecific(lastErrorKey) {
        return Unmanaged<LastError>.fromOpaque(pointer).takeUnretainedValue()
    }
    let record = LastError()
    pthread_setspecific(lastErrorKey, Unmanaged.passRetained(record).toOpaque())
    return record
}

func setLastError(_ code: ErrorCode, _ message: String) {
    let record = threadLastError()
    record.code = code.rawValue
    record.message = CString(message)
}

func clearLastError() {
    let record = threadLastError()
    if record.code != 0 {
        record.code = 0
        record.message = CString("")
    }
}

/// Runs `body`, turning any thrown error into the thread's last error and `failure`.
func guarded<T>(_ failure: T, _ body: () throws -> T) -> T {
    clearLastError()
    do {
        return try body()
    } catch let error as ABIError {
        setLastError(error.code, error.message)
    } catch let error as InputError {
        setLastError(.input, error.description)
    } catch let error as SolveError {
        setLastError(.solve, error.description)
    } catch {
        setLastError(.internal, "\(error)")
    }
    return failure
}

func argument(_ message: String) -> ABIError { ABIError(code: .argument, message: message) }

/// A bad option or method name: the caller's input (Python raises InputError, a ValueError).
func optionError(_ message: String) -> ABIError { ABIError(code: .input, message: message) }

// MARK: - Strings

/// A NUL-terminated copy of a string, owned by this object.
///
/// `@unchecked Sendable`: the bytes are written once in `init` and never changed; `deinit`
/// frees them only when no reference (and so no reader) is left.
final class CString: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<CChar>
    init(_ s: String) {
        let bytes = Array(s.utf8)
        pointer = .allocate(capacity: bytes.count + 1)
        for (k, b) in bytes.enumerated() { pointer[k] = CChar(bitPattern: b == 0 ? 0x3F : b) }
        pointer[bytes.count] = 0
    }
    deinit { pointer.deallocate() }
}

/// A string in static storage, for functions that return constant text.
struct StaticCString: Sendable {
    let box: CString
    init(_ s: String) { box = CString(s) }
}

func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
    guard let pointer else { throw argument("\(name) is NULL") }
    guard let s = String(validatingCString: pointer) else { throw argument("\(name) is not valid UTF-8") }
    return s
}

/// A dictionary of strings in Arrow's large_string layout, checked once and then read entry by
/// entry. It only borrows the caller's memory (see the lifetime rules in allot.h), and keeps the
/// addresses as integers: they are dereferenced only inside a call where the caller vouches for
/// them.
struct StringDictionary: Sendable {
    let count: Int
    private let offsetsAddress: UInt
    private let dataAddress: UInt
    var offsets: UnsafePointer<Int64>? { UnsafePointer(bitPattern: offsetsAddress) }
    var data: UnsafePointer<UInt8>? { UnsafePointer(bitPattern: dataAddress) }

    init(count: Int64, offsets: UnsafePointer<Int64>?, data: UnsafePointer<UInt8>?, dataLength: Int64, name: String) throws {
        guard count >= 0 else { throw argument("\(name): count \(count) is negative") }
        guard let offsets else { throw argument("\(name): offsets is NULL") }
        guard dataLength >= 0 else { throw argument("\(name): data length \(dataLength) is negative") }
        if dataLength > 0 && data == nil { throw argument("\(name): data is NULL") }
        var last: Int64 = 0
        guard offsets[0] == 0 else { throw argument("\(name): offsets[0] is \(offsets[0]), not 0") }
        for k in stride(from: 1, through: Int(count), by: 1) {
            let o = offsets[k]
            guard o >= last, o <= dataLength else {
                throw argument("\(name): offsets[\(k)] = \(o) is outside \(last)...\(dataLength)")
            }
            last = o
        }
        self.count = Int(count)
        offsetsAddress = UInt(bitPattern: offsets)
        dataAddress = UInt(bitPattern: data)
    }

    func entry(_ k: Int) -> String? {
        guard let offsets, k >= 0, k < count else { return nil }
        let start = Int(offsets[k])
        let length = Int(offsets[k + 1]) - start
        guard length > 0, let data else { return "" }
        return String(validating: UnsafeBufferPointer(start: data + start, count: length), as: UTF8.self)
    }

    func strings(_ name: String) throws -> [String] {
        try (0..<count).map { k in
            guard let s = entry(k) else { throw argument("\(name): entry \(k) is not valid UTF-8") }
            return s
        }
    }
}

// MARK: - Handles

/// What a builder has been given: addresses of the caller's arrays (borrowed; see allot.h), kept
/// as integers and turned back into pointers only inside `allot_builder_build`.
struct BuilderState: Sendable {
    /// An id column: codes into a dictionary, or (codes == nil) one string per row.
    struct Ids: Sendable {
        var codes: UInt?
        var rows: Int
        var strings: StringDictionary
    }
    struct Numbers: Sendable {
        var values: UInt
        var rows: Int
    }
    var ids: [String: Ids] = [:]
    var numbers: [String: Numbers] = [:]
    /// Rows appended (copied) so far, for the next build; nil before the first append.
    var chunks: ColumnarScores.Chunks?
    /// The message of an append that failed: the rows appended before it are dropped, and every
    /// later append or build fails with it.
    var failedAppend: String?

    /// Forgets the columns set (after an append, which has copied them).
    mutating func clearColumns() {
        ids = [:]
        numbers = [:]
    }
}

final class Builder: Sendable {
    let source: String
    let spec: AllocationSpec
    let specName: String
    let hasChannel: Bool
    /// "uplift", "cost", then the extra budget columns, `uplift_se` when the table has it, then
    /// the general rows' other columns (these may be negative), then the draws `uplift_1...`.
    let numberColumns: [String]
    /// The uncertainty columns the table has (read when given, used by `allot_solve`'s `shrink`
    /// and `risk` options), and why its draw columns cannot serve, if they cannot.
    let hasStandardErrors: Bool
    let drawColumns: [String]
    let drawsError: InputError?
    let numberColumnNames: [CString]
    /// Serialises the calls on one builder; the state holds borrowed pointers, reached only
    /// under this lock and only while the caller keeps them valid (the ABI's contract).
    let state: Mutex<BuilderState>

    init(source: String, header: [String], spec: AllocationSpec, specName: String) throws {
        try ColumnarScores.checkHeader(header, spec: spec, source: source, specName: specName)
        self.source = source
        self.spec = spec
        self.specName = specName
        hasChannel = header.contains("channel")
        hasStandardErrors = header.contains(UncertainProblem.seColumn)
        do {
            drawColumns = try ScoreDraws.columns(in: header, file: source)
            drawsError = nil
        } catch let error as InputError {
            drawColumns = []
            drawsError = error
        }
        numberColumns = ["uplift", "cost"] + spec.extraColumns + (hasStandardErrors ? [UncertainProblem.seColumn] : [])
            + spec.signedColumns + drawColumns
        numberColumnNames = numberColumns.map(CString.init)
        state = Mutex(BuilderState())
    }
}

/// A built problem and, per candidate, the caller's row it came from. Immutable.
final class ProblemHandle: Sendable {
    let problem: Problem
    /// nil: candidate j is row j.
    let rows: [Int32]?
    /// The scores' name, and the builder's uncertainty columns (see `Builder`).
    let source: String
    let drawColumns: [String]
    let drawsError: InputError?
    /// The dual's worker over this problem's users, made by the first worker call (a part's
    /// problem, see `allot_builder_build_part`, serves every pass of a solve).
    let dualEngine = Mutex<DualEngine?>(nil)
    init(problem: Problem, rows: [Int32]?, source: String = "scores", drawColumns: [String] = [], drawsError: InputError? = nil) {
        self.problem = problem
        self.rows = rows
        self.source = source
        self.drawColumns = drawColumns
        self.drawsError = drawsError
    }

    /// The problem with its uncertainty (`shrink`, `risk`, `risk_quantile` options), as the CLI
    /// makes it from the same columns.
    func uncertain(_ options: UncertaintyOptions, threads: Int) throws -> UncertainProblem {
        let t = problem.candidates
        let name: (String) -> String = { "\($0)=" }
        if let drawsError, options.isActive { throw drawsError }
        let se = t.column(named: UncertainProblem.seColumn).map { t.columns[$0] }
        let draws = drawColumns.isEmpty ? nil : ScoreDraws(values: drawColumns.map { t.columns[t.column(named: $0)!] })
        return try UncertainProblem(plugIn: problem, se: se, draws: draws, options: options, source: source,
                                    threads: threads, naming: name)
    }

    /// The dual's worker, single-threaded (a transport's parallelism is its partitions).
    var engine: DualEngine {
        dualEngine.withLock { engine in
            if let engine { return engine }
            let made = DualEngine(problem, threads: 1)
            engine = made
            return made
        }
    }

    /// The caller's rows of these candidates.
    func rows(of candidates: [Int]) -> [Int64] {
        guard let rows else { return candidates.map { Int64($0) } }
        return candidates.map { Int64(rows[$0]) }
    }
}

/// The outcome of one solve. Immutable.
final class ResultHandle: Sendable {
    let rows: [Int64]
    /// The problem's candidates and the chosen ones (ascending), for the allocation's columns.
    let table: CandidateTable
    let candidates: [Int]
    let objective: Double
    let upperBound: Double?
    let gap: Double?
    let summary: CString
    let shadowPrices: CString
    /// What `allot_result_write` needs to prepare the CLI's files (Output.swift).
    let solved: SolvedProblem?
    init(rows: [Int64], table: CandidateTable, candidates: [Int], objective: Double, upperBound: Double?, gap: Double?,
         summary: CString, shadowPrices: CString, solved: SolvedProblem? = nil) {
        self.solved = solved
        self.rows = rows
        self.table = table
        self.candidates = candidates
        self.objective = objective
        self.upperBound = upperBound
        self.gap = gap
        self.summary = summary
        self.shadowPrices = shadowPrices
    }
}

enum Handle: Sendable {
    case builder(Builder)
    case problem(ProblemHandle)
    case result(ResultHandle)
    case allocation(AllocationHandle)
    case log(RandomisedLog)
    case report(ReportHandle)
    case bytes(BytesHandle)
    case coordinator(CoordinatorHandle)
}

/// The live handles, by number. A handle given to the caller is its number as a pointer:
/// numbers are never reused, so a freed handle is never mistaken for a live one. The lock is held
/// only to add, look up or remove one.
let registry = Mutex<(next: UInt, live: [UInt: Handle])>((1, [:]))

func register(_ handle: Handle) -> OpaquePointer {
    let number = registry.withLock { state in
        let number = state.next
        state.next += 1
        state.live[number] = handle
        return number
    }
    return OpaquePointer(bitPattern: number)!
}

func number(of pointer: OpaquePointer) -> UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(pointer))) }

func lookUp(_ pointer: OpaquePointer?, _ kind: String) throws -> Handle {
    guard let pointer else { throw argument("the \(kind) handle is NULL") }
    let n = number(of: pointer)
    guard let handle = registry.withLock({ $0.live[n] }) else {
        throw argument("\(String(describing: pointer)) is not a live \(kind) handle (freed already, or never made)")
    }
    return handle
}

/// The live handle of one kind: `extract` takes it out of a `Handle`, or gives nil for another kind.
func typed<T>(_ pointer: OpaquePointer?, _ kind: String, _ extract: (Handle) -> T?) throws -> T {
    guard let value = extract(try lookUp(pointer, kind)) else {
        throw argument("the handle is not \(kind.first.map { "aeiou".contains($0) } == true ? "an" : "a") \(kind)")
    }
    return value
}

func builder(_ pointer: OpaquePointer?) throws -> Builder {
    try typed(pointer, "builder") { if case .builder(let b) = $0 { b } else { nil } }
}

func problemHandle(_ pointer: OpaquePointer?) throws -> ProblemHandle {
    try typed(pointer, "problem") { if case .problem(let p) = $0 { p } else { nil } }
}

func resultHandle(_ pointer: OpaquePointer?) throws -> ResultHandle {
    try typed(pointer, "result") { if case .result(let r) = $0 { r } else { nil } }
}

func release(_ pointer: OpaquePointer?, _ kind: String, _ matches: (Handle) -> Bool) {
    guarded(()) {
        guard let pointer else { return }
        let n = number(of: pointer)
        let removed: Handle? = registry.withLock { state in
            guard let handle = state.live[n], matches(handle) else { return nil }
            state.live[n] = nil
            return handle
        }
        guard let removed else { throw argument("\(String(describing: pointer)) is not a live \(kind) handle (freed already, or never made)") }
        // The handle's object is released outside the lock, and a result's on another thread: it
        // holds the problem's table (0.5 GB at 1e7 candidates), whose unmapping took 0.04 s of
        // the caller's time (docs/benchmarks.md). The handle is already gone from the registry.
        if case .result = removed {
            DispatchQueue.global(qos: .utility).async { withExtendedLifetime(removed) {} }
        }
    }
}

// MARK: - Exported functions

@_cdecl("allot_abi_version")
public func allot_abi_version() -> UInt32 { abiVersion }

@_cdecl("allot_version")
public func allot_version() -> UnsafePointer<CChar> { UnsafePointer(libraryVersion.box.pointer) }

let methodList = StaticCString(MethodRegistry.standard.names.joined(separator: ","))

@_cdecl("allot_methods")
public func allot_methods() -> UnsafePointer<CChar> { UnsafePointer(methodList.box.pointer) }

@_cdecl("allot_last_error_code")
public func allot_last_error_code() -> Int32 { threadLastError().code }

@_cdecl("allot_last_error_message")
public func allot_last_error_message() -> UnsafePointer<CChar> { UnsafePointer(threadLastError().message.pointer) }

@_cdecl("allot_builder_new")
public func allot_builder_new(_ source: UnsafePointer<CChar>?,
                              _ columnCount: Int64, _ columnOffsets: UnsafePointer<Int64>?,
                              _ columnData: UnsafePointer<UInt8>?, _ columnDataLength: Int64,
                              _ specJSON: UnsafePointer<CChar>?, _ specName: UnsafePointer<CChar>?) -> OpaquePointer? {
    guarded(nil) {
        let source = try string(source, "source")
        let header = try StringDictionary(count: columnCount, offsets: columnOffsets, data: columnData,
                                          dataLength: columnDataLength, name: "column names").strings("column names")
        var spec = AllocationSpec()
        var name = "spec"
        if let specName { name = try string(specName, "spec_name") }
        if let specJSON {
            spec = try AllocationSpec.parse(InputBytes(name: name, text: try string(specJSON, "spec_json")))
        }
        let b = try Builder(source: source, header: header, spec: spec, specName: name)
        return register(.builder(b))
    }
}

@_cdecl("allot_builder_column_count")
public func allot_builder_column_count(_ b: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try builder(b).numberColumns.count) }
}

@_cdecl("allot_builder_column_name")
public func allot_builder_column_name(_ b: OpaquePointer?, _ k: Int64) -> UnsafePointer<CChar>? {
    guarded(nil) {
        let b = try builder(b)
        guard k >= 0, k < b.numberColumnNames.count else { throw argument("column \(k) is outside 0..<\(b.numberColumnNames.count)") }
        return UnsafePointer(b.numberColumnNames[Int(k)].pointer)
    }
}

@_cdecl("allot_builder_set_ids")
public func allot_builder_set_ids(_ b: OpaquePointer?, _ column: UnsafePointer<CChar>?,
                                  _ codes: UnsafePointer<Int32>?, _ rows: Int64, _ count: Int64, _ offsets: UnsafePointer<Int64>?, _ data: UnsafePointer<UInt8>?,
                                  _ dataLength: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        let b = try builder(b)
        let column = try idColumn(column, of: b)
        guard rows >= 0 else { throw argument("\(column): rows is \(rows); it must be >= 0") }
        if rows > 0 && codes == nil { throw argument("\(column): codes is NULL") }
        let dictionary = try StringDictionary(count: count, offsets: offsets, data: data, dataLength: dataLength, name: column)
        let ids = BuilderState.Ids(codes: UInt(bitPattern: codes), rows: Int(rows), strings: dictionary)
        b.state.withLock { $0.ids[column] = ids }
        return ErrorCode.ok.rawValue
    }
}

@_cdecl("allot_builder_set_strings")
public func allot_builder_set_strings(_ b: OpaquePointer?, _ column: UnsafePointer<CChar>?, _ rows: Int64,
                                     _ offsets: UnsafePointer<Int64>?, _ data: UnsafePointer<UInt8>?, _ dataLength: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        let b = try builder(b)
        let column = try idColumn(column, of: b)
        let strings = try StringDictionary(count: rows, offsets: offsets, data: data, dataLength: dataLength, name: column)
        let ids = BuilderState.Ids(codes: nil, rows: Int(rows), strings: strings)
        b.state.withLock { $0.ids[column] = ids }
        return ErrorCode.ok.rawValue
    }
}

/// The name of an id column the builder takes.
func idColumn(_ column: UnsafePointer<CChar>?, of b: Builder) throws -> String {
    let column = try string(column, "column")
    guard ["user_id", "coupon_id", "channel"].contains(column) else {
        throw argument("'\(column)' is not an id column (user_id, coupon_id, channel)")
    }
    if column == "channel" && !b.hasChannel { throw argument("the table has no channel column") }
    return column
}

@_cdecl("allot_builder_set_numbers")
public func allot_builder_set_numbers(_ b: OpaquePointer?, _ column: UnsafePointer<CChar>?,
                                      _ values: UnsafePointer<Double>?, _ rows: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        let b = try builder(b)
        let column = try string(column, "column")
        guard b.numberColumns.contains(column) else {
            throw argument("'\(column)' is not a numeric column of this problem (\(b.numberColumns.joined(separator: ", ")))")
        }
        guard rows >= 0 else { throw argument("\(column): rows is \(rows); it must be >= 0") }
        if rows > 0 && values == nil { throw argument("\(column): values is NULL") }
        let numbers = BuilderState.Numbers(values: UInt(bitPattern: values), rows: Int(rows))
        b.state.withLock { $0.numbers[column] = numbers }
        return ErrorCode.ok.rawValue
    }
}

extension Builder {
    /// Appends the columns set in `state` to `chunks`.
    func append(_ state: BuilderState, to chunks: inout ColumnarScores.Chunks, requireRows: Bool = false) throws {
        guard let n = state.ids["user_id"]?.rows else { throw argument("the user_id column was not set") }
        func ids(_ name: String) throws -> ColumnarScores.IDs {
            guard let given = state.ids[name] else { throw argument("the \(name) column was not set") }
            let strings = ColumnarScores.Strings(offsets: UnsafeBufferPointer(start: given.strings.offsets, count: given.strings.count + 1),
                                                 data: given.strings.data)
            guard let codes = given.codes else { return .strings(strings) }
            return .encoded(.init(codes: UnsafeBufferPointer(start: UnsafePointer(bitPattern: codes), count: given.rows),
                                  dictionary: strings))
        }
        func numbers(_ name: String) throws -> UnsafeBufferPointer<Double> {
            guard let given = state.numbers[name] else { throw argument("the \(name) column was not set") }
            return UnsafeBufferPointer(start: UnsafePointer(bitPattern: given.values), count: given.rows)
        }
        let (user, coupon, channel) = (try ids("user_id"), try ids("coupon_id"), hasChannel ? try ids("channel") : nil)
        let (uplift, columns) = (try numbers("uplift"), try numberColumns.dropFirst().map(numbers))
        if requireRows && n < 1 { throw InputError(file: source, "the table has no rows") }
        try chunks.append(rows: n, user: user, coupon: coupon, channel: channel, uplift: uplift, columns: columns)
    }

    func newChunks(expectedRows: Int) throws -> ColumnarScores.Chunks {
        let chunks = try ColumnarScores.Chunks(source: source, columnNames: Array(numberColumns.dropFirst()), hasChannel: hasChannel,
                                               expectedRows: expectedRows,
                                               signedFrom: 1 + spec.extraColumns.count + (hasStandardErrors ? 1 : 0))
        ReservedStorage.populate(chunks.reservedStorage)
        return chunks
    }
}

@_cdecl("allot_builder_append")
public func allot_builder_append(_ b: OpaquePointer?, _ totalRows: Int64) -> Int32 {
    let status = guarded(Int32(-1)) {
        let b = try builder(b)
        guard totalRows >= 0 else { throw argument("total_rows is \(totalRows); it must be >= 0") }
        try b.state.withLock { state in
            if let message = state.failedAppend { throw argument("an earlier append failed (\(message))") }
            var chunks = try state.chunks.take() ?? b.newChunks(expectedRows: Int(totalRows))
            do {
                try b.append(state, to: &chunks)
            } catch {
                state.failedAppend = "\(error)"
                throw error
            }
            state.chunks = chunks
            state.clearColumns()
        }
        return ErrorCode.ok.rawValue
    }
    return status == -1 ? threadLastError().code : status  // the failure's own code (input or argument)
}

@_cdecl("allot_builder_build")
public func allot_builder_build(_ b: OpaquePointer?) -> OpaquePointer? {
    guarded(nil) {
        let b = try builder(b)
        let built = try b.table()
        let problem = try Problem(candidates: built.table, spec: b.spec, specName: b.specName)
        let handle = ProblemHandle(problem: problem, rows: built.rows, source: b.source, drawColumns: b.drawColumns,
                                   drawsError: b.drawsError)
        return register(.problem(handle))
    }
}

extension Builder {
    /// The table of the rows given so far (see `allot_builder_build`), and each candidate's row.
    func table() throws -> (table: CandidateTable, rows: [Int32]?) {
        try state.withLock { state in
            if let message = state.failedAppend { throw argument("an earlier append failed (\(message))") }
            if var chunks = state.chunks.take() {
                if !state.ids.isEmpty || !state.numbers.isEmpty { try append(state, to: &chunks) }
                return try chunks.build()
            }
            var chunks = try newChunks(expectedRows: state.ids["user_id"]?.rows ?? 0)
            try append(state, to: &chunks, requireRows: true)
            return try chunks.build()
        }
    }
}

@_cdecl("allot_builder_free")
public func allot_builder_free(_ b: OpaquePointer?) {
    release(b, "builder") { if case .builder = $0 { true } else { false } }
}

@_cdecl("allot_problem_candidates")
public func allot_problem_candidates(_ p: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try problemHandle(p).problem.candidates.count) }
}

@_cdecl("allot_problem_free")
public func allot_problem_free(_ p: OpaquePointer?) {
    release(p, "problem") { if case .problem = $0 { true } else { false } }
}

/// Options of `allot_solve`, from its JSON object.
func solveOptions(_ json: String?) throws -> SolveOptions {
    try solveOptions(json, uncertainty: false).solve
}

/// Options of `allot_solve`, from its JSON object; with `uncertainty`, also `shrink`, `risk`
/// (a number or "auto") and `risk_quantile` (`UncertaintyOptions`).
func solveOptions(_ json: String?, uncertainty: Bool) throws -> (solve: SolveOptions, uncertainty: UncertaintyOptions) {
    var options = SolveOptions()
    var noisy = UncertaintyOptions()
    guard let json else { return (options, noisy) }
    let object: Any
    do {
        object = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [])
    } catch {
        throw optionError("options_json is not valid JSON: \(error.localizedDescription)")
    }
    guard let map = object as? [String: Any] else { throw optionError("options_json must be a JSON object") }
    func number(_ key: String) throws -> Double {
        guard let n = map[key] as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else {
            throw optionError("option '\(key)' must be a number")
        }
        return n.doubleValue
    }
    func whole(_ key: String, atLeast low: Double? = nil) throws -> Int {
        let v = try number(key)
        guard v.rounded() == v, v >= (low ?? -1e15), v < 1e15 else {
            throw optionError("option '\(key)' must be a whole number" + (low.map { " >= \(Int($0))" } ?? ""))
        }
        return Int(v)
    }
    let known = ["exact_finish_limit", "gap", "polish_users"] + (uncertainty ? ["risk", "risk_quantile"] : []) + ["seed"]
        + (uncertainty ? ["shrink"] : []) + ["threads", "time_limit", "verbose"]
    // Only types are checked here; ranges by `SolveOptions.validate()`, as for the CLI.
    for key in map.keys.sorted() {
        switch key {
        case "threads": options.threads = try whole(key)
        case "seed": options.seed = UInt64(try whole(key, atLeast: 0))
        case "polish_users": options.polishUsers = try whole(key)
        case "exact_finish_limit": options.exactFinish.maxCandidates = try whole(key)
        case "gap": options.setGap(try number(key))
        case "time_limit": options.timeLimit = try number(key)
        case "verbose":
            guard let n = map[key] as? NSNumber, isBoolean(n) else { throw optionError("option 'verbose' must be true or false") }
            options.milp.verbose = n.boolValue
        case "shrink" where uncertainty:
            guard let n = map[key] as? NSNumber, isBoolean(n) else { throw optionError("option 'shrink' must be true or false") }
            noisy.shrink = n.boolValue
        case "risk" where uncertainty:
            if map[key] as? String == "auto" {
                noisy.risk = .auto
            } else if let n = map[key] as? NSNumber, !isBoolean(n) {
                noisy.risk = .kappa(n.doubleValue)
            } else {
                throw optionError("option 'risk' must be a finite number >= 0, or auto")
            }
        case "risk_quantile" where uncertainty: noisy.quantile = try number(key)
        default:
            throw optionError("unknown option '\(key)' (known: \(known.joined(separator: ", ")))")
        }
    }
    do {
        try options.validate()
    } catch let error as InvalidOption {
        throw optionError(SolveOptions.frontEndOption(setting: error.option)?.message(error, commandLine: false) ?? error.description)
    }
    if let problem = noisy.problem(naming: { "option '\($0)'" }) { throw optionError(problem) }
    return (options, noisy)
}

/// JSON's `true` and `false` arrive as NSNumber too (as in `AllocationSpec.parse`).
func isBoolean(_ n: NSNumber) -> Bool {
    n === NSNumber(value: true) || n === NSNumber(value: false) || String(cString: n.objCType) == "B"
}

struct ShadowPriceLine: Encodable {
    var kind: String
    var name: String
    var value: Double
}

/// The registry's method of that name.
func namedMethod(_ name: String) throws -> any AllocationMethod {
    guard let method = MethodRegistry.standard.method(named: name) else {
        throw optionError("unknown method '\(name)'; choose one of: \(MethodRegistry.standard.names.joined(separator: ", "))")
    }
    return method
}

@_cdecl("allot_solve")
public func allot_solve(_ p: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?) -> OpaquePointer? {
    guarded(nil) {
        let handle = try problemHandle(p)
        let method = try method == nil ? MethodRegistry.defaultMethod : namedMethod(try string(method, "method"))
        let (options, noisy) = try solveOptions(optionsJSON == nil ? nil : try string(optionsJSON, "options_json"), uncertainty: true)
        var uncertain = noisy.isActive ? try handle.uncertain(noisy, threads: options.threads) : nil
        if uncertain?.needsPreparation == true {
            try uncertain?.prepare(seed: options.seed) { p in
                let s = try solve(p, method: method, options: options)
                if let message = s.noAllocationMessage { throw ABIError(code: .solve, message: "on a fold of the draws: " + message) }
                return s.allocation.candidates
            }
        }
        let problem = uncertain?.problem ?? handle.problem
        var solution = try solve(problem, method: method, options: options)
        solution.expectedObjective = uncertain?.expectedObjective(of: solution.allocation)
        // No allocation meets the floors (issue 23): the CLI's line, and no result.
        if let message = solution.noAllocationMessage { throw ABIError(code: .solve, message: message) }
        let report = Verifier.verify(problem, solution.allocation)
        guard report.isFeasible else {
            let violations = report.violations.map(\.description).joined(separator: "; ")
            throw ABIError(code: .verification, message: "the \(method.name) allocation fails verification: \(violations)")
        }
        let summary = Summary(problem: problem, solution: solution, report: report)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let prices = solution.shadowPrices.map { ShadowPriceLine(kind: $0.kind.rawValue, name: $0.name, value: $0.value) }
        let pricesJSON = String(decoding: try encoder.encode(prices), as: UTF8.self)
        let result = ResultHandle(rows: handle.rows(of: solution.allocation.candidates),
                                  table: problem.candidates, candidates: solution.allocation.candidates, objective: report.objective, upperBound: solution.upperBound, gap: solution.relativeGap,
                                  summary: CString(summary.json()), shadowPrices: CString(pricesJSON),
                                  solved: SolvedProblem(problem: problem, solution: solution, report: report))
        return register(.result(result))
    }
}

@_cdecl("allot_result_count")
public func allot_result_count(_ r: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try resultHandle(r).rows.count) }
}

@_cdecl("allot_result_copy_rows")
public func allot_result_copy_rows(_ r: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?, _ capacity: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        try copyRows(try resultHandle(r).rows, to: out, capacity: capacity)
        return ErrorCode.ok.rawValue
    }
}

/// Copies `rows` into the caller's `out` of `capacity` entries.
func copyRows(_ rows: [Int64], to out: UnsafeMutablePointer<Int64>?, capacity: Int64) throws {
    guard capacity >= rows.count else { throw argument("capacity \(capacity) is below the \(rows.count) rows") }
    if rows.isEmpty { return }
    guard let out else { throw argument("out is NULL") }
    rows.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: rows.count) }
}

@_cdecl("allot_result_summary_json")
public func allot_result_summary_json(_ r: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try resultHandle(r).summary.pointer) }
}

@_cdecl("allot_result_shadow_prices_json")
public func allot_result_shadow_prices_json(_ r: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try resultHandle(r).shadowPrices.pointer) }
}

@_cdecl("allot_result_objective")
public func allot_result_objective(_ r: OpaquePointer?) -> Double {
    guarded(.nan) { try resultHandle(r).objective }
}

@_cdecl("allot_result_upper_bound")
public func allot_result_upper_bound(_ r: OpaquePointer?) -> Double {
    guarded(.nan) { try resultHandle(r).upperBound ?? .nan }
}

@_cdecl("allot_result_gap")
public func allot_result_gap(_ r: OpaquePointer?) -> Double {
    guarded(.nan) { try resultHandle(r).gap ?? .nan }
}

extension ResultHandle {
    /// Calls `body` with the UTF-8 bytes of the user's or the coupon's id (`column` "user_id" or
    /// "coupon_id") of each assignment, in order.
    func forEachID(_ column: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        switch column {
        case "coupon_id":
            let ids = table.couponIDs.map { Array($0.utf8) }  // coupons are few: their bytes once
            table.coupon.withUnsafeBufferPointer { coupon in
                for j in candidates { ids[Int(coupon[j])].withUnsafeBufferPointer(body) }
            }
        case "user_id":
            table.userStart.withUnsafeBufferPointer { start in
                table.userIDs.withUnsafeBufferPointer { ids in
                    var u = 0  // candidates are ascending: the user only moves forward
                    for j in candidates {
                        while start[u + 1] <= j { u += 1 }
                        var id = ids[u]  // withUTF8 reads a small (inline) string from the stack: no allocation
                        id.withUTF8(body)
                    }
                }
            }
        default: throw argument("'\(column)' is not an id column of the allocation (user_id, coupon_id)")
        }
    }

    func idsLength(_ column: String) throws -> Int {
        var length = 0
        try forEachID(column) { length += $0.count }
        return length
    }
}

@_cdecl("allot_result_ids_length")
public func allot_result_ids_length(_ r: OpaquePointer?, _ column: UnsafePointer<CChar>?) -> Int64 {
    guarded(-1) { Int64(try resultHandle(r).idsLength(try string(column, "column"))) }
}

@_cdecl("allot_result_copy_ids")
public func allot_result_copy_ids(_ r: OpaquePointer?, _ column: UnsafePointer<CChar>?, _ offsets: UnsafeMutablePointer<Int64>?,
                                  _ data: UnsafeMutablePointer<UInt8>?, _ dataCapacity: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        let result = try resultHandle(r)
        let column = try string(column, "column")
        guard let offsets else { throw argument("offsets is NULL") }
        // One pass: the ids are copied while they fit; the length is counted on (for the message).
        var at = 0, k = 0
        offsets[0] = 0
        try result.forEachID(column) { bytes in
            if at + bytes.count <= dataCapacity, let base = bytes.baseAddress, bytes.count > 0 {
                if let data { (data + at).update(from: base, count: bytes.count) }
            }
            at += bytes.count
            k += 1
            if at <= dataCapacity { offsets[k] = Int64(at) }
        }
        guard at <= dataCapacity else { throw argument("data_capacity \(dataCapacity) is below the \(at) bytes") }
        if at > 0 && data == nil { throw argument("data is NULL") }
        return ErrorCode.ok.rawValue
    }
}

@_cdecl("allot_result_copy_values")
public func allot_result_copy_values(_ r: OpaquePointer?, _ column: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Double>?,
                                     _ capacity: Int64) -> Int32 {
    guarded(ErrorCode.argument.rawValue) {
        let result = try resultHandle(r)
        let column = try string(column, "column")
        let table = result.table
        let values: [Double]
        if column == "uplift" {
            values = table.uplift
        } else if let k = table.column(named: column) {
            values = table.columns[k]
        } else {
            throw argument("'\(column)' is not a numeric column of the problem (uplift, \(table.columnNames.joined(separator: ", ")))")
        }
        guard capacity >= result.candidates.count else {
            throw argument("capacity \(capacity) is below the \(result.candidates.count) assignments")
        }
        if result.candidates.isEmpty { return ErrorCode.ok.rawValue }
        guard let out else { throw argument("out is NULL") }
        values.withUnsafeBufferPointer { values in
            for (k, j) in result.candidates.enumerated() { out[k] = values[j] }
        }
        return ErrorCode.ok.rawValue
    }
}

@_cdecl("allot_result_free")
public func allot_result_free(_ r: OpaquePointer?) {
    release(r, "result") { if case .result = $0 { true } else { false } }
}
