// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Allot",
    products: [
        .library(name: "Allot", targets: ["Allot"]),
        .executable(name: "allot", targets: ["allot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        .target(
            name: "Allot",
            dependencies: [
                "CCbc", "CGLPKGuard",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .systemLibrary(name: "CGLPK"),
        .systemLibrary(name: "CCbc"),
        .target(name: "CGLPKGuard", dependencies: ["CGLPK"], linkerSettings: [.linkedLibrary("glpk")]),
        .executableTarget(
            name: "allot",
            dependencies: [
                "Allot",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "AllotTestSupport",
            dependencies: ["Allot"],
            path: "Tests/AllotTestSupport"
        ),
        .testTarget(
            name: "AllotTests",
            dependencies: ["Allot", "AllotTestSupport"]
        ),
        .testTarget(
            name: "AllotCLITests",
            dependencies: ["allot", "AllotTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
