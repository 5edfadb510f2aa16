import Foundation
import TestSupport
import Testing

/// The outside programs the integration tests drive, and where they are.
enum Tools {
    static let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/local/sbin"]

    static func find(_ name: String) -> String? {
        searchPath.lazy.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let pcscdInstalled = find("pcscd") != nil

    /// The package root: this file is Tests/VirtualKeyTests/IntegrationSupport.swift.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let harness = repoRoot.appendingPathComponent("scripts/virtual-key-env").path

    /// `$LATCHKEY_VKEY_BIN`, else the executable `swift test` built beside
    /// this test bundle (same scratch path, same configuration).
    static var virtualKey: String? { builtExecutable("latchkey-virtual-key", override: "LATCHKEY_VKEY_BIN") }

    /// A program the tests cannot do without: its absence fails the test
    /// with the package to install.
    static func require(_ name: String, package: String) throws -> String {
        guard let path = find(name) else {
            Issue.record("\(name) is not installed: apt-get install \(package)")
            throw Missing()
        }
        return path
    }

    struct Missing: Error {}
}

/// A virtual key brought up by scripts/virtual-key-env for the length of a
/// test body, with ykman pointed at its reader and a HOME of its own (ykman
/// keeps remembered passwords there).
final class VirtualKeySession {
    static let reader = "Virtual PCD 00 00"
    /// The reader of the second key (`twoKeys`).
    static let secondReader = "Virtual PCD 00 01"

    let directory: URL
    let state: String
    /// With two keys: the second key's state file (the harness's
    /// `--second-state`; that key sits in ``secondReader``).
    let secondState: String?
    let log: String
    let home: String
    let ykmanPath: String
    private var harness: Process?
    private let readyFile: String
    private let doneFile: String

    init(directory: URL, state: String? = nil, twoKeys: Bool = false) throws {
        self.directory = directory
        self.state = state ?? directory.appendingPathComponent("state.json").path
        secondState = twoKeys ? directory.appendingPathComponent("second-state.json").path : nil
        log = directory.appendingPathComponent("apdu.log").path
        home = directory.appendingPathComponent("home").path
        readyFile = directory.appendingPathComponent("ready").path
        doneFile = directory.appendingPathComponent("done").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        ykmanPath = try Tools.require("ykman", package: "yubikey-manager")
    }

    /// The session's files go with it, unless LATCHKEY_KEEP_TEST_FILES is
    /// set (to read apdu.log and harness.err after a failure).
    deinit {
        if ProcessInfo.processInfo.environment["LATCHKEY_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func temporaryDirectory() throws -> URL { try makeTemporaryDirectory("vkey-it") }

    /// Runs `body` with the key in the reader (options as for the harness:
    /// `--chunk 16`, `--touch-delay 1`, …), then takes it away, also when
    /// `body` throws. Every wait is bounded.
    func withKey<T>(_ options: [String] = [], _ body: () async throws -> T) async throws -> T {
        try await start(options)
        do {
            let value = try await body()
            try await stop()
            return value
        } catch {
            try? await stop()
            throw error
        }
    }

    private func start(_ options: [String]) async throws {
        guard let binary = Tools.virtualKey else {
            Issue.record("latchkey-virtual-key was not built beside the tests; set LATCHKEY_VKEY_BIN")
            throw Tools.Missing()
        }
        try? FileManager.default.removeItem(atPath: readyFile)
        try? FileManager.default.removeItem(atPath: doneFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // The harness runs a command that says "ready" and then waits for
        // the test to say "done" (both as files), at most 10 minutes.
        let wait = "touch \"$READY\"; for i in $(seq 6000); do [ -e \"$DONE\" ] && exit 0; sleep 0.1; done; exit 1"
        let second = secondState.map { ["--second-state", $0] } ?? []
        process.arguments = [Tools.harness, "--state", state, "--log", log] + second + options + ["--", "/bin/sh", "-c", wait]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "LATCHKEY_VKEY_BIN": binary, "READY": readyFile, "DONE": doneFile, "HOME": home, "LATCHKEY_VKEY_LOCK_WAIT": "900",
        ]) { $1 }
        process.standardInput = FileHandle.nullDevice
        let harnessLog = directory.appendingPathComponent("harness.err")
        _ = FileManager.default.createFile(atPath: harnessLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: harnessLog)
        try launchWithTerminationSignals(process)
        harness = process
        // Includes waiting for the other key suites' turns (the harness's
        // lock): they run in parallel and some hold the key for a while (a
        // silent key takes 25 s per run), so this is generous; the harness
        // itself gives up on the lock after LATCHKEY_VKEY_LOCK_WAIT (900 s here).
        let deadline = Date().addingTimeInterval(900)
        while !FileManager.default.fileExists(atPath: readyFile) {
            guard process.isRunning, Date() < deadline else {
                let text = (try? String(contentsOf: harnessLog, encoding: .utf8)) ?? ""
                Issue.record("the virtual key did not come up: \(text)")
                try? await stop()
                throw Tools.Missing()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func stop() async throws {
        guard let process = harness else { return }
        harness = nil
        _ = FileManager.default.createFile(atPath: doneFile, contents: nil)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            Issue.record("scripts/virtual-key-env did not finish within 30 s")
            await stopProcess(process, grace: 30)
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/virtual-key-env exit status")
    }

    /// `ykman --reader "Virtual PCD 00 00" ARGS…` (or another reader) with this session's HOME.
    func ykman(_ arguments: [String], reader: String = VirtualKeySession.reader, timeout: Double = 40) async throws -> ProcessResult {
        try await runProgram(ykmanPath, ["--reader", reader] + arguments, environment: ["HOME": home], timeout: timeout)
    }

    /// The log's instruction names, in order.
    func instructions() -> [String] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Empties the log in place: the running key keeps it open (O_APPEND),
    /// so removing it would send later lines to an unlinked file.
    func clearLog() { truncate(log, 0) }

    /// The state file as JSON.
    func stateJSON() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: state))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }
}

extension Array where Element == String {
    func count(of name: String) -> Int { filter { $0 == name }.count }
}

/// oathtool's TOTP codes at the given times (`oathtool --totp=ALG -d D -s P -b SECRET -N @t`).
func oathtoolCodes(base32 secret: String, algorithm: String = "sha1", digits: Int = 6, period: Int = 30, at times: [Int]) async throws -> Set<String> {
    let oathtool = try Tools.require("oathtool", package: "oathtool")
    var codes: Set<String> = []
    for time in times {
        let result = try await runProgram(oathtool, [
            "--totp=\(algorithm)", "-d", "\(digits)", "-s", "\(period)", "-b", secret, "-N", "@\(time)",
        ], timeout: 10)
        #expect(result.status == 0, "oathtool: \(result)")
        codes.insert(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return codes
}

func unixTime() -> Int { Int(Date().timeIntervalSince1970) }
