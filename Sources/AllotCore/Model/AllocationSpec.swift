import Foundation

/// The constraints of an allocation, by name, as written in a spec file:
///
/// ```json
/// {"budgets":[{"name":"cash","column":"cost","limit":50000,"min":45000}],"max_per_user":1,
///  "coupon_caps":{"c3":1000},"coupon_floors":{"c7":500},"channel_caps":{"push":1,"email":2},
///  "min_roi":2.0,"constraints":[{"name":"new_users","column":"is_new","min":3000}]}
/// ```
///
/// A budget's `min` is a spend floor; `coupon_floors` says how many users must at least
/// receive a coupon; each of `constraints` is a general row `min <= Σ_j column_j x_j <= max`
/// (either bound or both) over any numeric column of the scores, whose values may be negative.
///
/// Every key is optional. A `Problem` resolves the names against a `CandidateTable`.
public struct AllocationSpec: Equatable, Sendable {
    public struct Budget: Equatable, Sendable {
        public var name: String
        /// The consumption column this budget limits (`cost` or an extra numeric column).
        public var column: String
        public var limit: Double
        /// The spend floor (at most `limit`), when set.
        public var min: Double?
        public init(name: String, column: String = "cost", limit: Double, min: Double? = nil) {
            self.name = name
            self.column = column
            self.limit = limit
            self.min = min
        }
    }

    /// A general row: `min <= Σ_j column_j x_j <= max`, with `min`, `max` or both.
    public struct Constraint: Equatable, Sendable {
        public var name: String
        /// Any numeric column of the scores (`uplift`, `cost`, or another); values may be negative.
        public var column: String
        public var min: Double?
        public var max: Double?
        public init(name: String, column: String, min: Double? = nil, max: Double? = nil) {
            self.name = name
            self.column = column
            self.min = min
            self.max = max
        }
    }

    public var budgets: [Budget]
    /// At most this many incentives per user; 1 when absent.
    public var maxPerUser: Int?
    /// At most this many users receive each named coupon.
    public var couponCaps: [String: Int]
    /// At most this many incentives of each named channel per user.
    public var channelCaps: [String: Int]
    /// Total uplift must be at least `minROI` times total cost.
    public var minROI: Double?
    /// At least this many users receive each named coupon.
    public var couponFloors: [String: Int]
    /// The general rows, in order.
    public var constraints: [Constraint]

    public init(budgets: [Budget] = [], maxPerUser: Int? = nil, couponCaps: [String: Int] = [:],
                channelCaps: [String: Int] = [:], minROI: Double? = nil, couponFloors: [String: Int] = [:],
                constraints: [Constraint] = []) {
        self.budgets = budgets
        self.maxPerUser = maxPerUser
        self.couponCaps = couponCaps
        self.channelCaps = channelCaps
        self.minROI = minROI
        self.couponFloors = couponFloors
        self.constraints = constraints
    }

    /// The names of the consumption columns the budgets use, other than `cost`, in order:
    /// read as numbers >= 0.
    public var extraColumns: [String] {
        var seen: [String] = []
        for b in budgets where b.column != "cost" && !seen.contains(b.column) { seen.append(b.column) }
        return seen
    }

    /// The columns the general rows use that no budget does, other than `cost` and `uplift`, in
    /// order: read as finite numbers of either sign.
    public var signedColumns: [String] {
        let taken = Set(extraColumns + ["cost", "uplift"])
        var seen: [String] = []
        for r in constraints where !taken.contains(r.column) && !seen.contains(r.column) { seen.append(r.column) }
        return seen
    }

    /// Every column of the scores the spec names besides the required ones: `extraColumns`,
    /// then `signedColumns`.
    public var numericColumns: [String] { extraColumns + signedColumns }

    /// Parses a spec from JSON text.
    ///
    /// - Throws: `InputError` naming `file` for malformed JSON (with line and column where
    ///   Foundation reports them), an unknown key, or a value of the wrong type or range.
    public static func parse(_ input: InputBytes) throws -> AllocationSpec {
        let file = input.name
        let object: Any
        do {
            try input.withBytes { try requireUTF8($0, file: file) }
            let data = input.withBytes { Data($0) }
            if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                throw InputError(file: file, "the spec is empty (expected a JSON object)")
            }
            object = try JSONSerialization.jsonObject(with: data, options: [])
            if let (key, offset) = input.withBytes({ JSONDuplicateKeys.first(in: $0) }) {
                let position = input.withBytes { lineAndColumn($0, offset: offset) }
                throw InputError(file: file, line: position.line, column: position.column,
                                 "key '\(key)' repeats within one object")
            }
        } catch let error as InputError {
            throw error
        } catch {
            throw malformed(error, input: input)
        }
        guard let root = object as? [String: Any] else {
            throw InputError(file: file, "the spec must be a JSON object")
        }
        let known: Set = ["budgets", "max_per_user", "coupon_caps", "channel_caps", "min_roi", "coupon_floors", "constraints"]
        for key in root.keys.sorted() where !known.contains(key) {
            throw InputError(file: file, "unknown key '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        var spec = AllocationSpec()
        if let value = root["budgets"] {
            guard let list = value as? [Any] else { throw InputError(file: file, "'budgets' must be an array") }
            for (k, item) in list.enumerated() {
                guard let b = item as? [String: Any] else { throw InputError(file: file, "budgets[\(k)] must be an object") }
                for key in b.keys.sorted() where !["name", "column", "limit", "min"].contains(key) {
                    throw InputError(file: file, "budgets[\(k)]: unknown key '\(key)' (known: column, limit, min, name)")
                }
                guard let limit = number(b["limit"]) else {
                    throw InputError(file: file, "budgets[\(k)]: 'limit' must be a number")
                }
                let column = b["column"].map { $0 as? String } ?? "cost"
                guard let column else { throw InputError(file: file, "budgets[\(k)]: 'column' must be a string") }
                let name = b["name"].map { $0 as? String } ?? column
                guard let name else { throw InputError(file: file, "budgets[\(k)]: 'name' must be a string") }
                var floor: Double?
                if let value = b["min"] {
                    guard let m = number(value) else { throw InputError(file: file, "budgets[\(k)]: 'min' must be a number") }
                    guard m <= limit else { throw InputError(file: file, "budgets[\(k)] '\(name)': min \(m) > limit \(limit)") }
                    floor = m
                }
                spec.budgets.append(Budget(name: name, column: column, limit: limit, min: floor))
            }
        }
        if let value = root["max_per_user"] {
            spec.maxPerUser = try integer(value, "'max_per_user'", file: file)
        }
        for (key, assign) in [("coupon_caps", 0), ("channel_caps", 1), ("coupon_floors", 2)] {
            guard let value = root[key] else { continue }
            guard let map = value as? [String: Any] else { throw InputError(file: file, "'\(key)' must be an object of name: count") }
            var caps: [String: Int] = [:]
            for name in map.keys.sorted() {
                caps[name] = try integer(map[name]!, "\(key)['\(name)']", file: file)
            }
            switch assign {
            case 0: spec.couponCaps = caps
            case 1: spec.channelCaps = caps
            default: spec.couponFloors = caps
            }
        }
        if let value = root["min_roi"] {
            guard let r = number(value) else { throw InputError(file: file, "'min_roi' must be a number") }
            spec.minROI = r
        }
        if let value = root["constraints"] {
            guard let list = value as? [Any] else { throw InputError(file: file, "'constraints' must be an array") }
            for (k, item) in list.enumerated() {
                guard let c = item as? [String: Any] else { throw InputError(file: file, "constraints[\(k)] must be an object") }
                for key in c.keys.sorted() where !["name", "column", "min", "max"].contains(key) {
                    throw InputError(file: file, "constraints[\(k)]: unknown key '\(key)' (known: column, max, min, name)")
                }
                guard let column = c["column"] as? String else {
                    throw InputError(file: file, "constraints[\(k)]: 'column' must be a string (the scores' column the row sums)")
                }
                let name = c["name"].map { $0 as? String } ?? column
                guard let name else { throw InputError(file: file, "constraints[\(k)]: 'name' must be a string") }
                var bounds: [Double?] = [nil, nil]
                for (s, side) in ["min", "max"].enumerated() {
                    guard let v = c[side] else { continue }
                    guard let d = number(v) else { throw InputError(file: file, "constraints[\(k)] '\(name)': '\(side)' must be a number") }
                    bounds[s] = d
                }
                guard bounds[0] != nil || bounds[1] != nil else {
                    throw InputError(file: file, "constraints[\(k)] '\(name)': give 'min', 'max' or both")
                }
                if let lo = bounds[0], let hi = bounds[1], lo > hi {
                    throw InputError(file: file, "constraints[\(k)] '\(name)': min \(lo) > max \(hi)")
                }
                spec.constraints.append(Constraint(name: name, column: column, min: bounds[0], max: bounds[1]))
            }
        }
        return spec
    }

    private static func number(_ value: Any?) -> Double? {
        guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
        return n.doubleValue
    }

    /// Counts are whole numbers of at most 2^53 in magnitude (a JSON number is a double: above
    /// that, not every whole number has an exact value). Any count above the number of
    /// candidates means no limit.
    private static func integer(_ value: Any, _ what: String, file: String) throws -> Int {
        guard let d = number(value), d.isFinite, d.rounded() == d else {
            throw InputError(file: file, "\(what) must be a whole number")
        }
        guard abs(d) <= 9_007_199_254_740_992 else {
            throw InputError(file: file, "\(what) is \(d); it must be at most 2^53 = 9007199254740992 in magnitude")
        }
        return Int(d)
    }

    /// JSONSerialization gives `true` and `false` as NSNumber too; they are not numbers here.
    private static func isBoolean(_ n: NSNumber) -> Bool {
        n === NSNumber(value: true) || n === NSNumber(value: false) || String(cString: n.objCType) == "B"
    }

    private static func malformed(_ error: Error, input: InputBytes) -> InputError {
        let ns = error as NSError
        var detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
        // Foundation says "Invalid value around character 13." (a 0-based offset) or
        // "... around line 3, column 7.": turn either into the file's line and column.
        var line: Int?
        var column: Int?
        if let r = detail.range(of: #" around line (\d+), column (\d+)\.?"#, options: .regularExpression) {
            let numbers = detail[r].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            if numbers.count == 2 { line = numbers[0]; column = numbers[1] }
            detail.removeSubrange(r)
        } else if let r = detail.range(of: #" around character (\d+)\.?"#, options: .regularExpression),
                  let offset = detail[r].split(whereSeparator: { !$0.isNumber }).compactMap({ Int($0) }).first {
            let position = input.withBytes { lineAndColumn($0, offset: min(offset, $0.count)) }
            line = position.line
            column = position.column
            detail.removeSubrange(r)
        }
        if detail.hasSuffix(".") { detail.removeLast() }
        return InputError(file: input.name, line: line, column: column, "malformed JSON: \(detail.prefix(1).lowercased() + detail.dropFirst())")
    }
}
