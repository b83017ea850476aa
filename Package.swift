// swift-tools-version:6.0
import PackageDescription

// Layers, each depending only on the ones above it (.ci/check-layers enforces them):
//   AllotCore        problem model, formats, constraint rules, verifier, dual, greedy (no C, no OS calls)
//   AllotIO          files: mmap, atomic commits, signals, gzip (zlib) -- what the CLI and the C ABI use
//   AllotMILP        formulation, backend protocol, export, polishing (no C)
//   AllotGLPK/CBC    the backends: with AllotIO, the only Swift that touches a C library
//   AllotEvaluation  bench, frontier, policy value
//   AllotServe(HTTP) live decisions
//   Allot            umbrella: re-exports the above and registers every method
//   allot, AllotC    the CLI and the C ABI

/// The libFuzzer target needs `-sanitize=fuzzer`, so it exists only when ALLOT_FUZZ is set:
/// a plain `swift build` or `swift test` never builds it (docs/fuzzing.md).
let fuzzing = Context.environment["ALLOT_FUZZ"] != nil
let package = Package(
    name: "Allot",
    products: [
        .library(name: "Allot", targets: ["Allot"]),
        .library(name: "AllotCore", targets: ["AllotCore"]),
        .executable(name: "allot", targets: ["allot"]),
        // The C ABI (Sources/AllotC/include/allot.h), loaded by the Python package.
        .library(name: "AllotC", type: .dynamic, targets: ["AllotC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // The elementary functions (log, exp, cos) without the C library's module in the core.
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // `allot serve` (issue 22): the HTTP server, graceful shutdown, /metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Hummingbird's own event loops, made Swift Concurrency's global executor by `allot serve`.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        .target(
            name: "AllotCore",
            dependencies: [.product(name: "HeapModule", package: "swift-collections"),
                           .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "AllotMILP", dependencies: ["AllotCore"]),
        .systemLibrary(name: "CGLPK"),
        .systemLibrary(name: "CCbc"),
        // zlib, for gzip-compressed inputs (Debian: zlib1g-dev).
        .systemLibrary(name: "CZlib"),
        .target(name: "AllotIO", dependencies: ["AllotCore", "CZlib"]),
        .target(name: "CGLPKGuard", dependencies: ["CGLPK"], linkerSettings: [.linkedLibrary("glpk")]),
        .target(name: "AllotGLPK", dependencies: ["AllotMILP", "CGLPKGuard"]),
        // C++: what CBC 2.10's C API lacks: progress (a CbcEventHandler) and its log on standard error.
        .target(name: "CCbcHooks", dependencies: ["CCbc"], linkerSettings: [.linkedLibrary("Cbc"), .linkedLibrary("CoinUtils"), .linkedLibrary("Clp"), .linkedLibrary("OsiClp"), .linkedLibrary("Osi")]),
        .target(name: "AllotCBC", dependencies: ["AllotMILP", "CCbc", "CCbcHooks"]),
        .target(name: "AllotEvaluation", dependencies: ["AllotCore"]),
        // Live decisions (docs/serve.md): the snapshot, the decision and pacing engine and its
        // journal, in plain Swift (used by `allot replay` and the C ABI) ...
        .target(name: "AllotServe", dependencies: ["AllotCore"]),
        // ... and its thin HTTP layer.
        .target(
            name: "AllotServeHTTP",
            dependencies: [
                "AllotServe",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "Allot", dependencies: ["AllotCore", "AllotIO", "AllotMILP", "AllotGLPK", "AllotCBC", "AllotEvaluation"]),
        .executableTarget(
            name: "allot",
            dependencies: [
                "Allot", "AllotServe", "AllotServeHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "AllotC",
            dependencies: ["Allot", "AllotServe"],
            exclude: ["include"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "AllotTestSupport",
            dependencies: ["AllotCore", "AllotEvaluation"],
            path: "Tests/AllotTestSupport"
        ),
        .testTarget(name: "AllotCoreTests", dependencies: ["AllotCore", "AllotTestSupport"]),
        .testTarget(name: "AllotMILPTests", dependencies: ["Allot", "AllotTestSupport",
                                                           .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "AllotEvaluationTests", dependencies: ["Allot", "AllotTestSupport"]),
        .testTarget(name: "AllotServeTests", dependencies: [
            "AllotServe", "AllotServeHTTP", "Allot", "AllotTestSupport", "allot",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "AllotCLITests", dependencies: ["allot", "Allot", "AllotTestSupport"]),
    ]
)

if fuzzing {
    package.products.append(.executable(name: "AllotFuzz", targets: ["AllotFuzz"]))
    package.targets.append(.executableTarget(
        name: "AllotFuzz",
        dependencies: ["Allot"],
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    ))
}
