import Allot
import ArgumentParser

/// A method named on the command line, checked against `MethodRegistry.standard`.
struct MethodArgument: ExpressibleByArgument, Sendable {
    let method: any AllocationMethod

    init(_ method: any AllocationMethod) { self.method = method }

    init?(argument: String) {
        guard let method = MethodRegistry.standard.method(named: argument) else { return nil }
        self.method = method
    }

    /// Parses `name`, or says in one line which names exist.
    static func parse(_ name: String) throws -> MethodArgument {
        guard let argument = MethodArgument(argument: name) else { throw unknown(name) }
        return argument
    }

    static func unknown(_ name: some StringProtocol) -> ValidationError {
        ValidationError("unknown method '\(escapingControlCharacters(String(name)))'; choose one of: \(MethodRegistry.standard.names.joined(separator: ", "))")
    }

    var defaultValueDescription: String { method.name }
}

/// A comma-separated list of methods (`dual,greedy-ratio`).
struct MethodList: ExpressibleByArgument, Sendable {
    let methods: [any AllocationMethod]

    init(_ methods: [any AllocationMethod]) { self.methods = methods }

    init?(argument: String) {
        guard let list = try? Self.parse(argument) else { return nil }
        self = list
    }

    /// Parses `dual,greedy-ratio`, or says in one line which name is unknown.
    static func parse(_ argument: String) throws -> MethodList {
        var methods: [any AllocationMethod] = []
        for name in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let method = MethodRegistry.standard.method(named: String(name)) else { throw MethodArgument.unknown(name) }
            methods.append(method)
        }
        return MethodList(methods)
    }

    var defaultValueDescription: String { methods.map(\.name).joined(separator: ",") }
}
