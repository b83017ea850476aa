import Foundation

/// A JSON value, decoded exactly: booleans stay booleans, numbers stay numbers.
public indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public static func parse(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
}

/// The subset of JSON Schema (2020-12) that docs/summary.schema.json uses: `type`, `enum`,
/// `required`, `properties`, `additionalProperties` (false or a schema), `items`, `minimum`,
/// and `$ref` to `#/$defs/NAME`. Any other keyword is an error, so that the schema cannot
/// silently use one this checker ignores (`$schema`, `$id`, `title`, `description` and `$defs`
/// are annotations).
public struct JSONSchema {
    let root: [String: JSONValue]

    public init(_ text: String) throws {
        guard case .object(let root) = try JSONValue.parse(text) else { throw SchemaError("the schema is not an object") }
        self.root = root
    }

    /// docs/summary.schema.json of this repository.
    public static func summary() throws -> JSONSchema {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/summary.schema.json")
        return try JSONSchema(String(contentsOf: url, encoding: .utf8))
    }

    struct SchemaError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Every place where `document` breaks the schema, as "path: problem"; empty when it conforms.
    public func violations(of document: String) throws -> [String] {
        var problems: [String] = []
        try check(try JSONValue.parse(document), against: root, at: "$", into: &problems)
        return problems
    }

    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$defs"]
    static let keywords: Set<String> = ["type", "enum", "required", "properties", "additionalProperties", "items", "minimum", "$ref"]

    private func check(_ value: JSONValue, against schema: [String: JSONValue], at path: String, into problems: inout [String]) throws {
        for key in schema.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            throw SchemaError("\(path): keyword '\(key)' is not supported by this checker")
        }
        if case .string(let ref)? = schema["$ref"] {
            let prefix = "#/$defs/"
            guard ref.hasPrefix(prefix), case .object(let defs)? = root["$defs"],
                  case .object(let target)? = defs[String(ref.dropFirst(prefix.count))] else {
                throw SchemaError("\(path): cannot resolve $ref '\(ref)'")
            }
            try check(value, against: target, at: path, into: &problems)
        }
        if let type = schema["type"] {
            let allowed: [String]
            switch type {
            case .string(let t): allowed = [t]
            case .array(let ts): allowed = ts.compactMap { if case .string(let t) = $0 { return t } else { return nil } }
            default: throw SchemaError("\(path): bad 'type'")
            }
            if !allowed.contains(where: { Self.matches(value, $0) }) {
                problems.append("\(path): expected \(allowed.joined(separator: " or ")), found \(Self.describe(value))")
                return
            }
        }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            problems.append("\(path): \(Self.describe(value)) is not one of the allowed values")
        }
        if case .number(let minimum)? = schema["minimum"], case .number(let n) = value, n < minimum {
            problems.append("\(path): \(n) is below the minimum \(minimum)")
        }
        if case .object(let members) = value {
            if case .array(let required)? = schema["required"] {
                for case .string(let key) in required where members[key] == nil {
                    problems.append("\(path): missing required property '\(key)'")
                }
            }
            var properties: [String: JSONValue] = [:]
            if case .object(let p)? = schema["properties"] { properties = p }
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if case .object(let sub)? = properties[key] {
                    try check(member, against: sub, at: "\(path).\(key)", into: &problems)
                } else {
                    switch schema["additionalProperties"] {
                    case .bool(false)?: problems.append("\(path): property '\(key)' is not in the schema")
                    case .object(let sub)?: try check(member, against: sub, at: "\(path).\(key)", into: &problems)
                    default: break
                    }
                }
            }
        }
        if case .array(let elements) = value, case .object(let items)? = schema["items"] {
            for (k, element) in elements.enumerated() { try check(element, against: items, at: "\(path)[\(k)]", into: &problems) }
        }
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .number(let n)): return n == n.rounded()
        default: return false
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return "boolean \(b)"
        case .number(let n): return "number \(n)"
        case .string(let s): return "string \"\(s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Checks a summary JSON text against docs/summary.schema.json; returns the violations.
public func summarySchemaViolations(_ text: String) throws -> [String] {
    try JSONSchema.summary().violations(of: text)
}
