// swift-tools-version: 6.0
//
// latchkey's libFuzzer targets, a package of their own beside the product
// (as apple/swift-protobuf's FuzzTesting): it depends on latchkey by path,
// so SwiftPM builds the real modules from Sources/ with the fuzz build's
// flags and knows their graph. scripts/fuzz builds it with
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz/swiftpm -c release \
//     --sanitize fuzzer --sanitize address -Xswiftc -enable-testing
//
// --sanitize fuzzer instruments every module (latchkey's, swift-crypto's and
// their C code) for coverage, links libFuzzer's main, and compiles each
// target's main.swift as a library file (the target gives libFuzzer its
// LLVMFuzzerTestOneInput); -enable-testing lets a target `@testable import`
// a parser that is internal (VaultContents, the STS answer readers).
//
// Each target is TARGET/main.swift with a libFuzzer dictionary TARGET/dict;
// the executable is fuzz-TARGET.
import PackageDescription

/// The named modules of latchkey, as the products its Package.swift exposes
/// for this package.
func latchkey(_ modules: String...) -> [Target.Dependency] {
    modules.map { .product(name: $0, package: "latchkey") }
}

/// Each target and the modules it imports.
let targets: [(name: String, imports: [Target.Dependency])] = [
    ("ykoath", latchkey("OATH", "SmartCard", "YKOATH")),
    ("otpauth", latchkey("OATH")),
    ("shared-config", latchkey("AWSConfig", "SystemSupport")),
    ("sts", latchkey("HTTP", "AWSSigning", "STS")),
    ("vault", latchkey("SealedStore", "SystemSupport") + [.product(name: "Crypto", package: "swift-crypto")]),
    ("ccid", latchkey("CCID")),
    ("session-cache", latchkey("AWSSigning", "SessionCache")),
    ("agent", latchkey("AgentProtocol")),
    ("http-request", latchkey("LoopbackHTTP")),
]

let package = Package(
    name: "latchkey-fuzz",
    dependencies: [
        .package(name: "latchkey", path: ".."),
        // The root's own swift-crypto, for the vault target's `import Crypto`.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // The entry point's helper and the invariant check every target uses.
        .target(name: "FuzzSupport", path: "Support")
    ]
        + targets.map { target in
            .executableTarget(
                name: "fuzz-\(target.name)",
                dependencies: ["FuzzSupport"] + target.imports,
                path: target.name,
                exclude: ["dict"]
            )
        },
    swiftLanguageModes: [.v6]
)
