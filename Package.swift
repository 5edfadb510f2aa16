// swift-tools-version: 6.0
//
// latchkey: a touch of a hardware key (or a sealed local TOTP secret) into
// short-lived AWS credentials.
//
// Layers, bottom to top; each is one target and sees only the ones below it:
//   CProcessControl  prctl (variadic in C), imported only by SystemSupport
//   SystemSupport  POSIX files, locks, the terminal, secret buffers
//   OATH           HOTP/TOTP engine, base32, otpauth:// URIs, credential ids
//   SmartCard      APDUs and the transport-neutral SmartCardConnection protocol
//   CPCSCLite      libpcsclite (pcscd's client library), imported only by PCSC
//   PCSC           the PC/SC transport: readers, cards, transactions, typed errors
//   YKOATH         the YubiKey OATH applet protocol (TLV, session) over any connection
//   YubiKey        finding the key: which reader, which transport
//   CCurlShim, HTTP  HTTP through libcurl, dlopen'ed only when a request is made
//   CDBusShim, DesktopNotifications  freedesktop notifications on the session
//                  D-Bus through libdbus-1, dlopen'ed only when one is shown
//   AWSConfig      ~/.aws/config and credentials by the SDKs' shared-config rules
//   AWSSigning     SigV4
//   STS            STS/IAM query requests and their XML responses
//   SessionCache   cached STS sessions, their locks, and the MFA steps already spent
//   CredentialFlow profile → plan (MFA session, roles, chains) → cached or fresh STS credentials
//   SealedStore    the passphrase-sealed local vault (scrypt + ChaChaPoly)
//   CTPMShim, TPM  a TPM 2.0 through tpm2-tss, dlopen'ed only when a command uses it
//   AgentProtocol  the agent's wire: length-prefixed, versioned JSON messages
//   LoopbackHTTP   a small HTTP/1.1 server on 127.0.0.1 (the credential server)
//   LatchkeyCore   the application: World, token sources, credential service,
//                  enrolment, host checks (no argument parser)
//   LatchkeyCLI    one file per subcommand: parsing, rendering, exit codes
//   latchkey       the executable: parses arguments, maps errors to exit codes
import Foundation
import PackageDescription

/// latchkey's version, and the git revision it is built from:
/// `LATCHKEY_REVISION` when set (a build outside the checkout), else read
/// from `.git` (HEAD, a loose ref or packed-refs), else "unknown". SwiftPM
/// caches the evaluated manifest, so a debug build may show the revision of
/// the build that last changed Package.swift; a clean clone (CI, the
/// package) shows its own.
let latchkeyVersion = "0.4.0"
let latchkeyRevision: String = {
    if let given = ProcessInfo.processInfo.environment["LATCHKEY_REVISION"], !given.isEmpty { return given }
    let git = Context.packageDirectory + "/.git"
    func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    guard let head = read(git + "/HEAD") else { return "unknown" }
    guard head.hasPrefix("ref: ") else { return String(head.prefix(12)) }
    let ref = String(head.dropFirst(5))
    if let commit = read(git + "/" + ref) { return String(commit.prefix(12)) }
    let packed = read(git + "/packed-refs")?.split(separator: "\n").first { $0.hasSuffix(" " + ref) }
    return packed.map { String($0.prefix(12)) } ?? "unknown"
}()

/// libdbus-1's include directories, as `pkg-config --cflags dbus-1` gives
/// them: the common one and the architecture's own (dbus-arch-deps.h, under
/// /usr/lib/<triple>/). Only the headers: CDBusShim loads libdbus-1.so.3 with
/// dlopen, so nothing is linked.
let dbusIncludeFlags: [String] = {
    let archDirectory = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []).sorted()
        .map { "/usr/lib/\($0)/dbus-1.0/include" }
        .first { FileManager.default.fileExists(atPath: $0 + "/dbus/dbus-arch-deps.h") }
    return ["-I/usr/include/dbus-1.0"] + (archDirectory.map { ["-I" + $0] } ?? [])
}()

let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let cryptoExtras = Target.Dependency.product(name: "_CryptoExtras", package: "swift-crypto")

/// The modules the fuzz targets import, one library product each: the nested
/// package Fuzz/Package.swift depends on this one by path and can only see
/// products. Nothing else uses them.
let fuzzedModules = [
    "SystemSupport", "OATH", "SmartCard", "YKOATH", "CCID", "AWSConfig", "AWSSigning", "HTTP", "STS", "SessionCache",
    "SealedStore", "AgentProtocol", "LoopbackHTTP",
]

let package = Package(
    name: "latchkey",
    products: [
        .executable(name: "latchkey", targets: ["latchkey"])
    ] + fuzzedModules.map { .library(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .target(name: "CProcessControl"),
        .target(name: "SystemSupport", dependencies: ["CProcessControl"]),
        .target(
            name: "CBuildInfo",
            cSettings: [
                .define("LATCHKEY_VERSION", to: "\"\(latchkeyVersion)\""),
                .define("LATCHKEY_REVISION", to: "\"\(latchkeyRevision)\""),
            ]),
        .target(name: "OATH", dependencies: [crypto]),
        .target(name: "SmartCard"),
        .target(name: "YKOATH", dependencies: ["SmartCard", "OATH", "SystemSupport", crypto, cryptoExtras]),
        .systemLibrary(name: "CPCSCLite", pkgConfig: "libpcsclite", providers: [.apt(["libpcsclite-dev"])]),
        .target(name: "PCSC", dependencies: ["CPCSCLite", "SmartCard", "SystemSupport"]),
        // libusb's header only (Debian libusb-1.0-0-dev). Not `pkgConfig:
        // "libusb-1.0"`: SwiftPM would then put -lusb-1.0 on every link, and
        // the loader would map libusb and libudev into every latchkey start
        // (+0.3 ms measured with hyperfine on an empty C program, 0.7 -> 1.0 ms;
        // the Swift floor here is 1.4-2.2 ms).
        // The USB module loads libusb-1.0.so.0 with dlopen when a command
        // needs USB; the include path is the one `pkg-config --cflags
        // libusb-1.0` gives.
        .systemLibrary(name: "CLibUSB", providers: [.apt(["libusb-1.0-0-dev"])]),
        .target(name: "USB", dependencies: ["CLibUSB"]),
        .target(name: "CCID", dependencies: ["SmartCard", "SystemSupport"]),
        .target(name: "YubiKey", dependencies: ["PCSC", "USB", "CCID", "YKOATH", "SmartCard"]),
        .target(name: "CCurlShim"),
        .target(name: "HTTP", dependencies: ["CCurlShim"]),
        // Headers from Debian's libdbus-1-dev; libdbus-1.so.3 is dlopen'ed
        // when a notification is shown, so start-up never loads it.
        .target(name: "CDBusShim", cSettings: [.unsafeFlags(dbusIncludeFlags)]),
        .target(name: "DesktopNotifications", dependencies: ["CDBusShim", "SystemSupport"]),
        .target(name: "AWSConfig", dependencies: ["SystemSupport"]),
        .target(name: "AWSSigning", dependencies: [crypto]),
        .target(name: "STS", dependencies: ["AWSSigning", "AWSConfig", "HTTP", "SystemSupport"]),
        .target(name: "SessionCache", dependencies: ["SystemSupport", "AWSSigning"]),
        .target(name: "CredentialFlow", dependencies: ["AWSConfig", "AWSSigning", "STS", "SessionCache", "SystemSupport"]),
        .target(name: "SealedStore", dependencies: ["SystemSupport", "OATH", crypto, cryptoExtras]),
        // tpm2-tss (Debian libtss2-dev: ESAPI, the TCTI loader, marshalling,
        // error texts), loaded with dlopen by the shim the first time a
        // command uses the TPM: the headers only at build time, no -ltss2-*
        // on the link line, so no other command maps tpm2-tss and its OpenSSL.
        .target(name: "CTPMShim"),
        .target(name: "TPM", dependencies: ["CTPMShim", "SystemSupport"]),
        // The agent's wire: length-prefixed, versioned JSON messages.
        .target(name: "AgentProtocol"),
        // A small HTTP/1.1 server bound to 127.0.0.1 (the credential server's transport).
        .target(name: "LoopbackHTTP", dependencies: ["SystemSupport"]),
        // The application: a World passed in, token sources behind one
        // protocol, the credential service, enrolment, host checks. No
        // argument parser.
        .target(
            name: "LatchkeyCore",
            dependencies: [
                "SystemSupport", "OATH", "SealedStore", "YKOATH", "YubiKey", "PCSC", "SmartCard", "USB", "CCID", "AWSConfig",
                "AWSSigning", "STS", "HTTP", "SessionCache", "CredentialFlow", "TPM", "AgentProtocol", "DesktopNotifications", "LoopbackHTTP",
            ]
        ),
        // Parsing, rendering and exit codes only.
        .target(
            name: "LatchkeyCLI",
            dependencies: [
                "LatchkeyCore", "CBuildInfo", "SystemSupport", "OATH", "SealedStore", "YKOATH", "YubiKey", "PCSC", "USB", "AWSConfig",
                "STS", "SessionCache", "CredentialFlow",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Not exporting every public symbol of the linked-in modules (10,000
        // of them) keeps the dynamic symbol table tiny: the runtime's dladdr()
        // at start-up scans it, a measured part of every credential-process.
        .executableTarget(
            name: "latchkey", dependencies: ["LatchkeyCLI"],
            //
            // Linked with lld (the toolchain's own) and packed relative
            // relocations (DT_RELR, glibc 2.36+: Debian 12): the 50 MB
            // binary's 52,000 R_X86_64_RELATIVE entries (1.2 MB of table the
            // loader reads at every start) become a 10 KB bitmap. Measured on
            // `code --yubikey` against the virtual key, 200 interleaved
            // rounds: 4.18 -> 3.75 ms median. GNU gold, the default, has no
            // RELR.
            linkerSettings: [
                .unsafeFlags(["-Xlinker", "--no-export-dynamic", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"])
            ]),

        // Developer tools live under Tools/, beside the product, and are
        // never shipped.
        // A YKOATH applet in software, plugged into pcscd through vsmartcard's
        // vpcd driver: for tests and the demo.
        .target(name: "VirtualKey", dependencies: ["YKOATH", "SmartCard", "OATH", crypto], path: "Tools/VirtualKey"),
        .executableTarget(
            name: "latchkey-virtual-key",
            dependencies: ["VirtualKey", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/latchkey-virtual-key"
        ),

        // Benchmark helpers for scripts/bench.
        .executableTarget(name: "bench-floor", path: "Tools/bench-floor"),
        .executableTarget(name: "pcsc-code-floor-swift", dependencies: ["CPCSCLite"], path: "Tools/pcsc-code-floor-swift"),
        .executableTarget(name: "latchkey-bench", dependencies: [cryptoExtras], path: "Tools/latchkey-bench"),

        // Helpers shared by the test targets (temporary directories, running
        // programs with timeouts, seeded randomness). Never shipped.
        .target(name: "TestSupport", path: "Tests/Support", exclude: ["Fixtures"]),
        // A World for in-process tests: the virtual key's applet behind an
        // in-memory connection, a scripted STS, a clock and a person of the
        // test's own. Never shipped.
        .target(
            name: "TestWorld", dependencies: ["LatchkeyCore", "VirtualKey", "TestSupport", "YubiKey", "YKOATH", "SmartCard", "STS", "AWSSigning", "SystemSupport"],
            path: "Tests/World"),
        // The application core in-process: token sources, the vault session,
        // touch and password outcomes, the credential service's cold path.
        .testTarget(
            name: "LatchkeyCoreTests",
            dependencies: [
                "LatchkeyCore", "TestWorld", "VirtualKey", "TestSupport", "OATH", "SealedStore", "YKOATH", "CredentialFlow", "SessionCache",
                "AWSSigning", "STS", "SystemSupport", "TPM",
            ]),

        .testTarget(name: "OATHTests", dependencies: ["OATH", "TestSupport"]),
        // The agent's wire and its socket.
        .testTarget(name: "AgentTests", dependencies: ["AgentProtocol", "SystemSupport", "TestSupport"]),
        .testTarget(name: "SealedStoreTests", dependencies: ["SealedStore", "SystemSupport", "OATH", "TestSupport"]),
        // The CLI: as a subprocess under temporary HOMEs, and in-process
        // with a test World (the virtual key's applet in memory, scripted STS).
        .testTarget(
            name: "CLITests",
            dependencies: [
                "latchkey", "LatchkeyCLI", "LatchkeyCore", "TestWorld", "VirtualKey", "OATH", "YKOATH", "TestSupport", "CredentialFlow", "SessionCache",
                "AWSSigning", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "YKOATHTests", dependencies: ["YKOATH", "SmartCard", "OATH"]),
        .testTarget(name: "CCIDTests", dependencies: ["CCID", "SmartCard", "YKOATH", "OATH", "SystemSupport"]),
        .testTarget(name: "SystemSupportTests", dependencies: ["SystemSupport"]),
        .testTarget(name: "USBTests", dependencies: ["USB", "TestSupport"]),
        .testTarget(name: "YubiKeyTests", dependencies: ["YubiKey", "USB", "CCID", "PCSC", "YKOATH", "LatchkeyCore", "SystemSupport"]),
        .testTarget(name: "AWSConfigTests", dependencies: ["AWSConfig", "SystemSupport", "TestSupport"]),
        .testTarget(name: "AWSSigningTests", dependencies: ["AWSSigning", "TestSupport"], exclude: ["Vectors"]),
        .testTarget(name: "STSTests", dependencies: ["STS", "AWSSigning", "AWSConfig", "HTTP", "TestSupport"]),
        // STS/IAM over the real libcurl transport against a local moto server
        // with signature checking on.
        // Also against latchkey's own MFA-checking STS server (TestSupport's Fixtures/).
        .testTarget(
            name: "AWSIntegrationTests",
            dependencies: ["STS", "HTTP", "AWSSigning", "AWSConfig", "OATH", "TestSupport", "latchkey"]),
        // Planning, the session cache, the spent-code ledger and the output
        // formats, with scripted STS answers (no network).
        .testTarget(
            name: "CredentialFlowTests",
            dependencies: [
                "CredentialFlow", "SessionCache", "AWSConfig", "AWSSigning", "STS", "SystemSupport", "TestSupport",
                crypto,
            ]),
        // Notifications on a real session bus (dbus-daemon) to a notification
        // server of the tests' own (Fixtures/notification_server.c), checked
        // against Debian's notify-send.
        .testTarget(name: "DesktopNotificationsTests", dependencies: ["DesktopNotifications", "SystemSupport", "TestSupport"]),
        // The loopback server's request parser and its limits over real sockets.
        .testTarget(name: "LoopbackHTTPTests", dependencies: ["LoopbackHTTP", "TestSupport"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"], exclude: ["Fixtures"]),
        // The real stack: pcscd + vpcd + the virtual key, driven by latchkey and by ykman.
        .testTarget(
            name: "VirtualKeyTests",
            dependencies: ["VirtualKey", "YKOATH", "SmartCard", "OATH", "PCSC", "YubiKey", "latchkey", "latchkey-virtual-key", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// Start-up: code in latchkey's own modules reaches the metadata of concrete
// generic types (a Dictionary keyed by a type of ours, a generic call's
// Job<[UInt8]>) through direct accessor calls that pass the conformances
// along, not through mangled type names. A mangled name makes the runtime
// demangle it on first use and look up each conformance it requires by
// scanning every conformance record in the binary (5,100 of them here):
// `perf record` put 10 % of a warm credential-process's samples there.
let directMetadataAccessors = SwiftSetting.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])
for target in package.targets where [.regular, .executable, .test].contains(target.type) {
    target.swiftSettings = (target.swiftSettings ?? []) + [directMetadataAccessors]
}
