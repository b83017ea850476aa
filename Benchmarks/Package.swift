// swift-tools-version:6.0
// Benchmarks, kept out of the main build: `swift run -c release --package-path Benchmarks allot-benchmarks --help`.
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which depends on where the repository was cloned.
let allot = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "AllotBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV", from: "0.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "allot-benchmarks",
            dependencies: [
                .product(name: "Allot", package: allot),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
            ],
            path: "Sources/AllotBenchmarks"
        ),
    ],
    swiftLanguageModes: [.v6]
)
