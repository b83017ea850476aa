// The umbrella module: `import Allot` gives the whole library. Programs that need only the
// dual and the baselines (and no C library) can `import AllotCore` instead.
@_exported import AllotCore
@_exported import AllotMILP
@_exported import AllotGLPK
@_exported import AllotCBC
@_exported import AllotEvaluation

extension MethodRegistry {
    /// Every method Allot offers: the dual, the exact methods on GLPK and CBC, and the
    /// baselines. `allot solve --method`, `allot bench` and docs/cli.md read this list.
    public static let standard = MethodRegistry.core.adding(
        [MILPMethod(backend: GLPKBackend()), MILPMethod(backend: CBCBackend()),
         PolishMethod(backend: GLPKBackend()), PolishMethod(backend: CBCBackend())],
        aliases: ["milp": "milp-glpk"])
}
