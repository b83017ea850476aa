// The umbrella module: `import Allot` gives the whole library. Programs that need only the
// model, the dual and the baselines (no C library, no file system) can `import AllotCore`
// instead, and give the readers their bytes as `InputBytes(name:bytes:)`.
@_exported import AllotCore
@_exported import AllotIO
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
