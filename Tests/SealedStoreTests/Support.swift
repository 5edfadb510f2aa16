import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealedStore
import SystemSupport
import Testing

/// scrypt at N=2^10: the vault format and code paths are the same as with
/// the standard cost, and a test vault opens in milliseconds.
let fastKDF = KDFParameters(log2N: 10, r: 8, p: 1)

/// A temporary directory, removed when the value goes away. Each test makes
/// its own, so tests can run in parallel.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "sealed") throws {
        path = FileManager.default.temporaryDirectory.path + "/latchkey-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The vault location latchkey uses for `HOME=path`.
    var homeVault: VaultLocation { VaultLocation(directory: path + "/.local/share/latchkey") }
    var vault: VaultLocation { VaultLocation(directory: path + "/vault") }
}

/// Passphrases from memory. `new` is what a created or re-sealed vault gets.
struct FixedPassphrases: PassphraseSource {
    var current: String
    var new: String?

    init(_ current: String, new: String? = nil) {
        self.current = current
        self.new = new
    }

    func passphrase(for location: VaultLocation) throws -> SecretBytes { SecretBytes(Array(current.utf8)) }
    func newPassphrase(for location: VaultLocation) throws -> SecretBytes { SecretBytes(Array((new ?? current).utf8)) }
}

/// A passphrase source for calls that must not need one: asking fails the test.
struct NoPassphrases: PassphraseSource {
    struct Asked: Error {}
    func passphrase(for location: VaultLocation) throws -> SecretBytes {
        Issue.record("a passphrase was asked for")
        throw Asked()
    }
    func newPassphrase(for location: VaultLocation) throws -> SecretBytes {
        Issue.record("a new passphrase was asked for")
        throw Asked()
    }
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes `bytes` to `path` (created 0600, or truncated) with plain POSIX
/// calls: Foundation's atomic writes leave `TemporaryDirectory.*` folders in /tmp.
func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        offset += n
    }
}

func text(_ entry: VaultEntry, _ field: String) -> String? { entry.text(field) }

/// An entry's fields as plain bytes, for comparison.
func fieldBytes(_ entry: VaultEntry) -> [String: [UInt8]] {
    entry.fields.mapValues(\.bytes)
}

func secret(_ value: String) -> SecretBytes { SecretBytes(Array(value.utf8)) }

/// The `VaultError` a call throws, or `nil` (and a recorded issue) when it
/// succeeds or throws something else.
func vaultError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> VaultError? {
    do {
        try body()
        Issue.record("expected a VaultError, but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as VaultError {
        return error
    } catch {
        Issue.record("expected a VaultError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

// MARK: - Running the latchkey binary

/// What a finished process left behind.
struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
}

/// The built `latchkey` executable: `$LATCHKEY_BIN`, else the one beside the
/// test bundle (SwiftPM puts every product of a build in one directory).
let latchkeyBinary: String = {
    if let path = ProcessInfo.processInfo.environment["LATCHKEY_BIN"], !path.isEmpty { return path }
    let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: runner).deletingLastPathComponent()
    // Some runners live inside the .xctest bundle directory.
    if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
    return directory.appendingPathComponent("latchkey").path
}()

/// A started process; ``wait()`` collects its output.
final class RunningProcess {
    private let process: Process
    private let scratch: String
    private let started = Date()

    /// Starts `latchkey arguments…` in a new session (no controlling
    /// terminal, so nothing can prompt), with exactly `environment`, `stdin`
    /// as its input (or /dev/null), and a hard kill after `timeout` seconds.
    init(_ arguments: [String], environment: [String: String], stdin: [UInt8]? = nil, umaskZero: Bool = false, timeout: Int = 20) throws {
        scratch = FileManager.default.temporaryDirectory.path + "/latchkey-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var command = ["-w", "/usr/bin/timeout", "-s", "KILL", String(timeout)]
        if umaskZero { command += ["/bin/sh", "-c", "umask 000; exec \"$0\" \"$@\""] }
        command += [latchkeyBinary] + arguments
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = command
        var env = environment
        if env["PATH"] == nil { env["PATH"] = "/usr/bin:/bin" }
        process.environment = env
        if let stdin {
            try writeBytes(scratch + "/stdin", stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: scratch + "/stdin"))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try writeBytes(scratch + "/stdout", [])
        try writeBytes(scratch + "/stderr", [])
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/stdout"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/stderr"))
        try process.run()
    }

    func wait() throws -> ProcessOutput {
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        return ProcessOutput(
            status: process.terminationStatus,
            stdout: String(decoding: try readBytes(scratch + "/stdout"), as: UTF8.self),
            stderr: String(decoding: try readBytes(scratch + "/stderr"), as: UTF8.self),
            seconds: Date().timeIntervalSince(started))
    }
}

func runLatchkey(
    _ arguments: [String], environment: [String: String], stdin: [UInt8]? = nil, umaskZero: Bool = false
) throws -> ProcessOutput {
    try RunningProcess(arguments, environment: environment, stdin: stdin, umaskZero: umaskZero).wait()
}

func binaryIsBuilt() -> Bool { FileManager.default.isExecutableFile(atPath: latchkeyBinary) }
