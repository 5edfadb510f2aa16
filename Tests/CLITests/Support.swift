import Foundation
import OATH
import TestSupport
import Testing

// MARK: - The binary

/// The built `latchkey` executable: `$LATCHKEY_BIN`, else the one beside the
/// test bundle (this target depends on the executable, so `swift test` builds it).
let latchkeyBinary = builtExecutablePath("latchkey", override: "LATCHKEY_BIN")

/// The longest any one latchkey run may take before it is killed (and the
/// test fails with a status of 137).
let runTimeout: Double = 45

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

// MARK: - A temporary HOME

/// A temporary HOME for one test, removed afterwards. Every run through it
/// is checked for what must hold of every run: no crash, no secret or
/// passphrase in the output, and errors as one `latchkey: ` line.
final class TestHome {
    private let directory: TemporaryDirectory
    let root: String
    let home: String
    /// The passphrase put in LATCHKEY_PASSPHRASE unless a run says otherwise.
    var passphrase = "cli-passphrase-\(UUID().uuidString.prefix(8))"
    /// Strings that must never appear on stdout or stderr.
    private(set) var forbidden: [String] = []

    init() throws {
        directory = try TemporaryDirectory("cli")
        root = directory.path
        home = root + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/io", withIntermediateDirectories: true)
    }

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
        passphrase: String?? = .none, environment: [String: String] = [:], isLatchkeyOutput: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> RunResult {
        var started = try start(arguments, stdin: stdin, stdinBytes: stdinBytes, passphrase: passphrase, environment: environment)
        started.isLatchkeyOutput = isLatchkeyOutput
        return try started.wait(sourceLocation: sourceLocation)
    }

    /// A latchkey process that has been started; ``wait(sourceLocation:)``
    /// collects and checks its result.
    struct Started {
        fileprivate let home: TestHome
        fileprivate let program: RunningProgram
        fileprivate let arguments: [String]
        /// False when another program ends the run (`exec`): its output and
        /// status are then its own, and only the secrets rule applies.
        var isLatchkeyOutput = true

        /// The process id (to signal a long-running command such as `serve`).
        var pid: Int32 { program.process.processIdentifier }
        func stdoutSoFar() -> [UInt8] { program.stdoutSoFar() }

        func wait(sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
            let output = program.wait(sourceLocation: sourceLocation)
            let result = RunResult(
                arguments: arguments, status: output.status, stdout: output.stdout, stderr: output.stderr,
                seconds: output.seconds)
            home.check(result, errorsAreLatchkeys: isLatchkeyOutput, sourceLocation: sourceLocation)
            return result
        }
    }

    /// Starts latchkey (see ``run(_:stdin:stdinBytes:passphrase:environment:sourceLocation:)``) without waiting.
    func start(
        _ arguments: [String], stdin: String? = nil, stdinBytes: [UInt8]? = nil,
        passphrase: String?? = .none, environment: [String: String] = [:]
    ) throws -> Started {
        // pcscd at a socket that does not exist: a virtual key another suite
        // has in pcscd's reader at the time is none of these runs' business
        // (`mfa list`, for one, would SELECT and LIST it in the middle of
        // that suite's test). A test that wants pcscd passes its own.
        var env = ["PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "PCSCLITE_CSOCK_NAME": root + "/no-pcscd.comm"]
        switch passphrase {
        case .none: env["LATCHKEY_PASSPHRASE"] = self.passphrase
        case .some(.none): break
        case .some(.some(let value)): env["LATCHKEY_PASSPHRASE"] = value
        }
        for (key, value) in environment { env[key] = value }
        for name in ["LATCHKEY_PASSPHRASE", "LATCHKEY_NEW_PASSPHRASE"] { if let value = env[name], value.count >= 4 { forbidden.append(value) } }

        let program = try RunningProgram(
            latchkeyBinary, arguments, environment: env, inheritEnvironment: false,
            stdin: stdinBytes ?? stdin.map { Array($0.utf8) }, newSession: true, timeout: runTimeout)
        return Started(home: self, program: program, arguments: arguments)
    }

    fileprivate func check(_ result: RunResult, errorsAreLatchkeys: Bool, sourceLocation: SourceLocation) {
        #expect(result.status < 128, "latchkey crashed or was killed (timeout \(Int(runTimeout)) s): \(result)", sourceLocation: sourceLocation)
        for secret in Set(forbidden) {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret),
                    "a secret or passphrase was printed: \(result)", sourceLocation: sourceLocation)
        }
        guard result.status != 0, errorsAreLatchkeys else { return }
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

/// `oathtool`'s code for `secret` now (TOTP) or at `counter` (HOTP).
func oathtool(_ secret: [UInt8], algorithm: OATHAlgorithm = .sha1, digits: Int = 6, period: Int = 30, counter: UInt64? = nil) throws -> String {
    var arguments = ["-d", String(digits)]
    if let counter {
        arguments += ["--hotp", "-c", String(counter)]
    } else {
        arguments += ["--totp=\(algorithm.rawValue)", "-s", String(period)]
    }
    let result = try runProgram("/usr/bin/oathtool", arguments + [hex(secret)], timeout: 20)
    #expect(result.status == 0)
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
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

/// Fresh random secret bytes (each test its own).
func randomSecret(_ count: Int = 20) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return generator.bytes(count)
}

func requireBinary() throws {
    try #require(
        FileManager.default.isExecutableFile(atPath: latchkeyBinary),
        "latchkey binary not found at \(latchkeyBinary): run `swift build` or set LATCHKEY_BIN")
}
