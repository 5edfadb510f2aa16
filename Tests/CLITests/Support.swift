import Foundation
#if canImport(Glibc)
import Glibc
#endif
import OATH
import Testing

// MARK: - The binary

/// The built `latchkey` executable: `$LATCHKEY_BIN`, else the one beside the
/// test bundle (SwiftPM puts every product of a build in one directory; this
/// target depends on the executable, so `swift test` builds it).
let latchkeyBinary: String = {
    if let path = ProcessInfo.processInfo.environment["LATCHKEY_BIN"], !path.isEmpty { return path }
    let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: runner).deletingLastPathComponent()
    if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
    return directory.appendingPathComponent("latchkey").path
}()

/// The longest any one latchkey run may take before it is killed (and the
/// test fails with a status of 137).
let runTimeout = 20

/// The exit codes scripts branch on (LatchkeyCLI's ExitStatus).
enum Exit {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let accountNotFound: Int32 = 2
    static let wrongPassphrase: Int32 = 3
    static let vaultDamaged: Int32 = 4
    static let noPassphrase: Int32 = 5
    static let invalidInput: Int32 = 6
    static let alreadyExists: Int32 = 7
    static let usage: Int32 = 64
}

struct RunResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double

    var description: String {
        "latchkey \(arguments.joined(separator: " ")) → \(status)\nstdout: \(stdout.debugDescription)\nstderr: \(stderr.debugDescription)"
    }

    /// The one line on stderr, without its newline.
    var errorLine: String { String(stderr.dropLast()) }
}

func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
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

// MARK: - A temporary HOME

/// A temporary HOME for one test, removed afterwards. Every run through it
/// is checked for what must hold of every run: no crash, no secret or
/// passphrase in the output, and errors as one `latchkey: ` line.
final class TestHome {
    let root: String
    let home: String
    /// The passphrase put in LATCHKEY_PASSPHRASE unless a run says otherwise.
    var passphrase = "cli-passphrase-\(UUID().uuidString.prefix(8))"
    /// Strings that must never appear on stdout or stderr.
    private(set) var forbidden: [String] = []

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/latchkey-cli-\(UUID().uuidString)"
        home = root + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/io", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var vaultDirectory: String { home + "/.local/share/latchkey" }
    var vaultFile: String { vaultDirectory + "/vault.sealed" }
    var vaultBytes: [UInt8]? { try? readBytes(vaultFile) }

    /// Registers a secret: its raw text, base32 and hex forms may never be printed.
    func forbid(secret: [UInt8]) {
        let b32 = Base32.encode(secret)
        let hexText = hex(secret)
        forbidden += [b32, b32.lowercased(), hexText, hexText.uppercased()]
        if let text = String(validating: secret, as: UTF8.self), text.count >= 6 { forbidden.append(text) }
    }

    func forbid(_ text: String) { if text.count >= 4 { forbidden.append(text) } }

    /// A file outside HOME (for passphrase files and the like).
    func file(_ name: String, _ contents: String) throws -> String {
        let path = root + "/io/" + name
        try writeBytes(path, Array(contents.utf8))
        return path
    }

    /// Runs latchkey with this HOME and nothing else from the test's
    /// environment: `PATH`, `HOME`, `LATCHKEY_PASSPHRASE` (unless
    /// `passphrase: nil`), and `environment`. The process has no controlling
    /// terminal (`setsid`), reads `stdin` (or /dev/null), and is killed after
    /// ``runTimeout`` seconds.
    @discardableResult
    func run(
        _ arguments: [String], stdin: String? = nil, stdinBytes: [UInt8]? = nil,
        passphrase: String?? = .none, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> RunResult {
        try start(arguments, stdin: stdin, stdinBytes: stdinBytes, passphrase: passphrase, environment: environment)
            .wait(sourceLocation: sourceLocation)
    }

    /// A latchkey process that has been started; ``wait(sourceLocation:)``
    /// collects and checks its result.
    struct Started {
        fileprivate let home: TestHome
        fileprivate let process: Process
        fileprivate let io: String
        fileprivate let arguments: [String]
        fileprivate let started: Date

        func wait(sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
            process.waitUntilExit()
            let result = RunResult(
                arguments: arguments, status: process.terminationStatus,
                stdout: String(decoding: try readBytes(io + ".out"), as: UTF8.self),
                stderr: String(decoding: try readBytes(io + ".err"), as: UTF8.self),
                seconds: Date().timeIntervalSince(started))
            home.check(result, sourceLocation: sourceLocation)
            return result
        }
    }

    /// Starts latchkey (see ``run(_:stdin:stdinBytes:passphrase:environment:sourceLocation:)``) without waiting.
    func start(
        _ arguments: [String], stdin: String? = nil, stdinBytes: [UInt8]? = nil,
        passphrase: String?? = .none, environment: [String: String] = [:]
    ) throws -> Started {
        var env = ["PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"]
        switch passphrase {
        case .none: env["LATCHKEY_PASSPHRASE"] = self.passphrase
        case .some(.none): break
        case .some(.some(let value)): env["LATCHKEY_PASSPHRASE"] = value
        }
        for (key, value) in environment { env[key] = value }
        for name in ["LATCHKEY_PASSPHRASE", "LATCHKEY_NEW_PASSPHRASE"] { if let value = env[name], value.count >= 4 { forbidden.append(value) } }

        let io = root + "/io/" + UUID().uuidString
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["-w", "/usr/bin/timeout", "-s", "KILL", String(runTimeout), latchkeyBinary] + arguments
        process.environment = env
        if let input = stdinBytes ?? stdin.map({ Array($0.utf8) }) {
            try writeBytes(io + ".in", input)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: io + ".in"))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try writeBytes(io + ".out", [])
        try writeBytes(io + ".err", [])
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: io + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: io + ".err"))
        let started = Date()
        try process.run()
        return Started(home: self, process: process, io: io, arguments: arguments, started: started)
    }

    fileprivate func check(_ result: RunResult, sourceLocation: SourceLocation) {
        #expect(result.status < 128, "latchkey crashed or was killed (timeout \(runTimeout) s): \(result)", sourceLocation: sourceLocation)
        for secret in Set(forbidden) {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret),
                    "a secret or passphrase was printed: \(result)", sourceLocation: sourceLocation)
        }
        guard result.status != 0 else { return }
        #expect(result.stdout.isEmpty, "stdout must be empty on error: \(result)", sourceLocation: sourceLocation)
        if result.status != Exit.usage {
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 2 && lines[1].isEmpty && lines[0].hasPrefix("latchkey: "),
                    "an error must be exactly one line starting with 'latchkey: ': \(result)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Shortcuts

    /// `accounts add NAME --sealed` with a cheap KDF, the secret on stdin.
    @discardableResult
    func add(_ name: String, secret: [UInt8], flags: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        forbid(secret: secret)
        let result = try run(
            ["accounts", "add", name, "--sealed", "--scrypt-log2n", "10"] + flags, stdin: Base32.encode(secret) + "\n",
            sourceLocation: sourceLocation)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result
    }

    func code(_ name: String?, sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        try run(["code"] + (name.map { [$0] } ?? []) + ["--sealed"], sourceLocation: sourceLocation)
    }

    func list(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try run(["accounts", "list", "--sealed"], sourceLocation: sourceLocation)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result.stdout.split(separator: "\n").map(String.init)
    }
}

// MARK: - oathtool

func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// `oathtool`'s code for `secret` now (TOTP) or at `counter` (HOTP).
func oathtool(_ secret: [UInt8], algorithm: OATHAlgorithm = .sha1, digits: Int = 6, period: Int = 30, counter: UInt64? = nil) throws -> String {
    var arguments = ["-d", String(digits)]
    if let counter {
        arguments += ["--hotp", "-c", String(counter)]
    } else {
        arguments += ["--totp=\(algorithm.rawValue)", "-s", String(period)]
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/oathtool")
    process.arguments = arguments + [hex(secret)]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs `body` (which prints a TOTP code) between two `oathtool` runs and
/// checks the code equals either: a period boundary may fall in between.
func expectTOTP(
    _ secret: [UInt8], algorithm: OATHAlgorithm = .sha1, digits: Int = 6, period: Int = 30,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> RunResult
) throws {
    let before = try oathtool(secret, algorithm: algorithm, digits: digits, period: period)
    let result = try body()
    let after = try oathtool(secret, algorithm: algorithm, digits: digits, period: period)
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    let code = result.stdout.trimmingCharacters(in: .newlines)
    #expect(result.stdout == code + "\n", "only the code and a newline on stdout", sourceLocation: sourceLocation)
    #expect(code.count == digits && code.allSatisfy(\.isASCII) && code.allSatisfy(\.isNumber), sourceLocation: sourceLocation)
    #expect(code == before || code == after, "latchkey \(code), oathtool \(before) / \(after)", sourceLocation: sourceLocation)
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

/// Fresh random secret bytes (each test its own).
func randomSecret(_ count: Int = 20) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

func requireBinary() throws {
    try #require(
        FileManager.default.isExecutableFile(atPath: latchkeyBinary),
        "latchkey binary not found at \(latchkeyBinary): run `swift build` or set LATCHKEY_BIN")
}
