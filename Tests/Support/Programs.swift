import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// What a finished program left behind.
public struct ProcessResult: CustomStringConvertible, Sendable {
    /// The exit status; a death by signal N reads 128 + N, as in a shell
    /// (so SIGKILL is 137, whether `timeout` or this runner sent it).
    public var status: Int32
    public var stdoutBytes: [UInt8]
    public var stderr: String
    /// Wall-clock seconds from start to exit.
    public var seconds: Double
    /// The runner had to kill the program (an issue has been recorded).
    public var timedOut: Bool

    public init(status: Int32, stdoutBytes: [UInt8], stderr: String, seconds: Double, timedOut: Bool = false) {
        self.status = status
        self.stdoutBytes = stdoutBytes
        self.stderr = stderr
        self.seconds = seconds
        self.timedOut = timedOut
    }

    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    /// stdout's non-empty lines.
    public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    public var description: String {
        "exit \(status) after \(seconds) s\(timedOut ? " (killed: timeout)" : "")\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

/// Starts `process` with SIGTERM, SIGINT, SIGHUP and SIGQUIT unblocked.
///
/// Children inherit the signal mask of the thread that spawns them, and the
/// threads Swift Testing runs tests on block nearly every signal (a child
/// showed `SigBlk: fffffffe3bfbea27`): pcscd and the virtual key then
/// ignore the harness's SIGTERM until it falls back to SIGKILL. Foundation
/// spawns on the calling thread, so unblocking around `run()` is enough.
/// Every process a test starts should go through this (``RunningProgram`` does).
public func launchWithTerminationSignals(_ process: Process) throws {
    var unblock = sigset_t()
    sigemptyset(&unblock)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&unblock, signal) }
    var previous = sigset_t()
    pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    try process.run()
}

/// Sends SIGKILL to `process` and to its process group (when it leads one,
/// e.g. after `setsid`), then reaps it. Returns at once if it has exited.
public func killProcess(_ process: Process) {
    let pid = process.processIdentifier
    if pid > 0, process.isRunning {
        kill(pid, SIGKILL)
        if getpgid(pid) == pid { kill(-pid, SIGKILL) }
    }
    process.waitUntilExit()
}

/// SIGTERM, then up to `grace` seconds for `process` to exit; SIGKILL if it
/// does not. Returns the exit status if it exited within the grace, `nil`
/// if it had to be killed. Never waits longer than `grace` (plus reaping).
@discardableResult
public func stopProcess(_ process: Process, grace: Double = 5) -> Int32? {
    if process.isRunning { process.terminate() }
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning, Date() < deadline { usleep(10_000) }
    guard !process.isRunning else {
        killProcess(process)
        return nil
    }
    process.waitUntilExit()
    return process.terminationStatus
}

/// ``stopProcess(_:grace:)`` for async code: sleeps instead of blocking a thread.
@discardableResult
public func stopProcess(_ process: Process, grace: Double = 5) async -> Int32? {
    if process.isRunning { process.terminate() }
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    guard !process.isRunning else {
        killProcess(process)
        return nil
    }
    process.waitUntilExit()
    return process.terminationStatus
}

/// A started program whose stdout and stderr go to files (a chatty program
/// cannot fill a pipe and hang). ``wait(sourceLocation:)`` collects the
/// result; if the program is still running after `timeout` seconds it
/// records an issue, sends SIGTERM, and SIGKILL 5 s later, so no wait is
/// unbounded. Its files are removed when the value goes away; a program
/// never waited for is killed then.
public final class RunningProgram {
    public let process = Process()
    public let executable: String
    public let arguments: [String]
    public let timeout: Double
    private let newSession: Bool
    private let scratch: TemporaryDirectory
    private let out: FileHandle
    private let err: FileHandle
    private let started: Date
    private var result: ProcessResult?

    /// Starts `executable arguments…`.
    ///
    /// - environment: added to the test's own environment, or, with
    ///   `inheritEnvironment: false`, all of it (then `PATH` defaults to
    ///   `/usr/bin:/bin`).
    /// - stdin: the program's input; `nil` is /dev/null.
    /// - newSession: run it as `setsid -w timeout -s KILL TIMEOUT executable
    ///   arguments…`: no controlling terminal, so nothing can prompt, and
    ///   the program itself (not only the wrapper) is killed after `timeout`
    ///   seconds, exit status 137; the runner's own kill then waits 10 s
    ///   more as a backstop.
    /// - mergingStandardError: stderr goes to the stdout file too.
    /// - timeout: seconds before it is killed.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        inheritEnvironment: Bool = true, stdin: [UInt8]? = nil, newSession: Bool = false,
        mergingStandardError: Bool = false, timeout: Double = 60
    ) throws {
        self.executable = executable
        self.arguments = arguments
        self.timeout = timeout
        self.newSession = newSession
        scratch = try TemporaryDirectory("run")
        if newSession {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            process.arguments =
                ["-w", "/usr/bin/timeout", "-s", "KILL", String(Int(timeout.rounded(.up))), executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if inheritEnvironment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        } else {
            var env = environment
            if env["PATH"] == nil { env["PATH"] = "/usr/bin:/bin" }
            process.environment = env
        }
        if let stdin {
            try writeBytes(scratch.file("stdin"), stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: scratch.file("stdin")))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try writeBytes(scratch.file("stdout"), [])
        try writeBytes(scratch.file("stderr"), [])
        out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("stdout")))
        err = mergingStandardError ? out : try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("stderr")))
        process.standardOutput = out
        process.standardError = err
        started = Date()
        try launchWithTerminationSignals(process)
    }

    deinit {
        if result == nil { killProcess(process) }
    }

    public var isRunning: Bool { process.isRunning }

    /// What the program has written to stdout so far.
    public func stdoutSoFar() -> [UInt8] { (try? readBytes(scratch.file("stdout"))) ?? [] }

    /// Waits (blocking this thread) for the program to end, at most `timeout` seconds.
    public func wait(sourceLocation: SourceLocation = #_sourceLocation) -> ProcessResult {
        if let result { return result }
        let deadline = started.addingTimeInterval(newSession ? timeout + 10 : timeout)
        var pause: UInt32 = 1_000
        while process.isRunning, Date() < deadline {
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
        var timedOut = false
        if process.isRunning {
            recordTimeout(sourceLocation)
            timedOut = true
            stopProcess(process)
        }
        return finish(timedOut: timedOut, sourceLocation: sourceLocation)
    }

    /// Waits (sleeping, not blocking a thread) for the program to end, at
    /// most `timeout` seconds; a cancelled task kills it at once.
    public func wait(sourceLocation: SourceLocation = #_sourceLocation) async -> ProcessResult {
        if let result { return result }
        let deadline = started.addingTimeInterval(newSession ? timeout + 10 : timeout)
        while process.isRunning, Date() < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var timedOut = false
        if process.isRunning {
            recordTimeout(sourceLocation)
            timedOut = true
            await stopProcess(process)
        }
        return finish(timedOut: timedOut, sourceLocation: sourceLocation)
    }

    private func recordTimeout(_ sourceLocation: SourceLocation) {
        Issue.record(
            "\(executable) \(arguments) still running after \(timeout) s: killed", sourceLocation: sourceLocation)
    }

    private func finish(timedOut runnerKilled: Bool, sourceLocation: SourceLocation) -> ProcessResult {
        process.waitUntilExit()
        try? out.close()
        if err !== out { try? err.close() }
        let status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        let seconds = Date().timeIntervalSince(started)
        var timedOut = runnerKilled
        if !runnerKilled, newSession, status == 137, seconds >= timeout {
            // `timeout -s KILL` (see `newSession`) killed the program.
            recordTimeout(sourceLocation)
            timedOut = true
        }
        let result = ProcessResult(
            status: status, stdoutBytes: (try? readBytes(scratch.file("stdout"))) ?? [],
            stderr: String(decoding: (try? readBytes(scratch.file("stderr"))) ?? [], as: UTF8.self),
            seconds: seconds, timedOut: timedOut)
        self.result = result
        return result
    }
}

/// Runs a program to its end (see ``RunningProgram`` for the parameters),
/// blocking this thread; killed after `timeout` seconds.
public func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    inheritEnvironment: Bool = true, stdin: [UInt8]? = nil, newSession: Bool = false,
    mergingStandardError: Bool = false, timeout: Double = 60,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ProcessResult {
    try RunningProgram(
        executable, arguments, environment: environment, inheritEnvironment: inheritEnvironment, stdin: stdin,
        newSession: newSession, mergingStandardError: mergingStandardError, timeout: timeout
    ).wait(sourceLocation: sourceLocation)
}

/// Runs a program to its end (see ``RunningProgram`` for the parameters),
/// sleeping instead of blocking; killed after `timeout` seconds.
public func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    inheritEnvironment: Bool = true, stdin: [UInt8]? = nil, newSession: Bool = false,
    mergingStandardError: Bool = false, timeout: Double = 60,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> ProcessResult {
    try await RunningProgram(
        executable, arguments, environment: environment, inheritEnvironment: inheritEnvironment, stdin: stdin,
        newSession: newSession, mergingStandardError: mergingStandardError, timeout: timeout
    ).wait(sourceLocation: sourceLocation)
}

/// Where `swift build` put the executable product `name`: the path in the
/// environment variable `override` when set (e.g. `LATCHKEY_BIN`), else the
/// one beside the test bundle (SwiftPM puts every product of a build in one
/// directory; a test target depending on the executable makes `swift test`
/// build it). When it is nowhere, the most likely path, for messages.
public func builtExecutablePath(_ name: String, override: String) -> String {
    if let path = ProcessInfo.processInfo.environment[override], !path.isEmpty { return path }
    let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directories: [URL] = []
    for program in [runner, CommandLine.arguments.first ?? runner] {
        let directory = URL(fileURLWithPath: program).deletingLastPathComponent()
        // Some runners live inside the .xctest bundle directory.
        directories += [directory, directory.deletingLastPathComponent()]
    }
    let candidates = directories.map { $0.appendingPathComponent(name).path }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// ``builtExecutablePath(_:override:)`` if an executable is there, else `nil`.
public func builtExecutable(_ name: String, override: String) -> String? {
    let path = builtExecutablePath(name, override: override)
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}


/// A program started with posix_spawn and reaped here, not by Foundation's
/// Process: for programs that close every descriptor they inherit when they
/// start (sshd, ssh, systemd-socket-activate). Foundation takes its status
/// socket closing for the child's end and then blocks in waitpid until the
/// child really ends, reaping no other child of the test meanwhile.
/// Output goes to `log`; stopped (SIGTERM, then SIGKILL) at the latest when
/// released.
public final class SpawnedProgram {
    public let pid: pid_t
    private var status: Int32?

    public init(_ program: String, _ arguments: [String], environment: [String: String]? = nil, log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp ?? [] { free(pointer) }
        }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, program, &actions, nil, argv, $0) } ?? posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        self.pid = pid
    }

    deinit { stop() }

    public var isRunning: Bool {
        if status != nil { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
        return status == nil
    }

    /// Sends `signal`, waits up to `grace` seconds, then SIGKILL; the exit
    /// status (`nil` when it had to be killed).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Double = 5) -> Int32? {
        guard isRunning else { return status.map(Self.exitCode) }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning, Date() < deadline { usleep(20_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
            status = raw
            return nil
        }
        return status.map(Self.exitCode)
    }

    private static func exitCode(_ raw: Int32) -> Int32 { (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F) }
}

/// Where a tool on the test process's PATH is (the AWS CLI from pip, pyenv
/// shims), else `/usr/bin/NAME`.
public func toolPath(_ name: String) -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return "/usr/bin/\(name)"
}
