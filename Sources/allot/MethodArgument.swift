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

    var defaultValueDescription: String { method.name }

    static var allValueStrings: [String] { MethodRegistry.standard.names }
}

/// A comma-separated list of methods (`dual,greedy-ratio`).
struct MethodList: ExpressibleByArgument, Sendable {
    let methods: [any AllocationMethod]

    init(_ methods: [any AllocationMethod]) { self.methods = methods }

    init?(argument: String) {
        var methods: [any AllocationMethod] = []
        for name in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let method = MethodRegistry.standard.method(named: String(name)) else { return nil }
            methods.append(method)
        }
        self.methods = methods
    }

    var defaultValueDescription: String { methods.map(\.name).joined(separator: ",") }
}
