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
    /// Every method Allot offers: the dual (which finishes small models exactly with CBC, see
    /// `FinishedDualMethod`), the exact methods on GLPK and CBC, and the baselines.
    /// `allot solve --method`, `allot bench`, the C ABI and docs/cli.md read this list.
    public static let standard = MethodRegistry(
        [FinishedDualMethod(backend: CBCBackend()),
         MILPMethod(backend: GLPKBackend()), MILPMethod(backend: CBCBackend()),
         PolishMethod(backend: GLPKBackend()), PolishMethod(backend: CBCBackend())] + MethodRegistry.core.baselines,
        aliases: ["milp": "milp-glpk"])

    /// The default method: `dual`, with the exact finish of small models.
    public static var defaultMethod: any AllocationMethod { standard.methods[0] }
}
