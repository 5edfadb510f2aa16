import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A latchkey process that holds a long-term secret key, run as `nobody`:
/// another process of that user may not read its memory or environment, and
/// it leaves no core file (issue 16, item 2).
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
struct CoreDumpTests {
    @Test("While credential-process waits on STS with the long-term key read, its /proc files are root's and nobody's own cat cannot read its environ")
    func notReadableBySameUser() throws {
        let waiting = try WaitingLatchkey()
        defer { waiting.stop() }
        let pid = waiting.pid

        #expect(try processUID(pid) == nobodyUID, "the process runs as nobody")
        var info = stat()
        #expect(stat("/proc/\(pid)/environ", &info) == 0)
        #expect(info.st_uid == 0, "a dumpable process's /proc/PID files belong to its user (\(info.st_uid)); a non-dumpable one's to root")

        let peek = try runProgram(
            "/usr/bin/setpriv", ["--reuid=\(nobodyUID)", "--regid=\(nobodyUID)", "--clear-groups", "/bin/cat", "/proc/\(pid)/environ"],
            environment: ["PATH": "/usr/bin:/bin"], inheritEnvironment: false, timeout: 10)
        #expect(peek.status != 0 && peek.stderr.contains("Permission denied"), "the same user read /proc/\(pid)/environ: \(peek)")
        #expect(!peek.stdout.contains("AWS_ENDPOINT_URL"), "\(peek)")

        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
        #expect(core?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first == "0",
                "soft core limit 0, though the shell set unlimited: \(String(describing: core))")
    }

    @Test("SIGQUIT while credential-process waits on STS leaves no core file, with `ulimit -c unlimited` in a directory it may write",
          .enabled(if: CoreDumpTests.coresGoToWorkingDirectory, "core_pattern is not a plain file name: cores do not land in the working directory"))
    func noCoreFile() throws {
        let waiting = try WaitingLatchkey()
        defer { waiting.stop() }
        #expect(kill(waiting.pid, SIGQUIT) == 0)
        let result = waiting.program.wait()
        #expect(result.status != 0, "killed by SIGQUIT: \(result)")
        let left = try FileManager.default.contentsOfDirectory(atPath: waiting.workingDirectory)
        #expect(!left.contains { $0.hasPrefix("core") }, "a core file was written: \(left)")
    }

    /// Whether the kernel writes cores as files in the dumping process's
    /// working directory (`core_pattern` such as `core` or `core.%p`, not a
    /// pipe to a handler nor an absolute path).
    static let coresGoToWorkingDirectory: Bool = {
        guard let pattern = try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8) else { return false }
        let name = pattern.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.hasPrefix("core") && !name.contains("/")
    }()
}

/// What latchkey's own core-size limit of 0 must not change: the programs it
/// starts.
struct ChildCoreLimitTests {
    @Test("exec's command gets the core-size limit latchkey started with, not latchkey's own 0")
    func execKeepsTheCoreLimit() throws {
        let world = try AuthWorld()
        let script = "ulimit -c 12345 && exec \"$1\" exec --profile admin -- /bin/sh -c 'ulimit -c'"
        let program = try RunningProgram(
            "/bin/sh", ["-c", script, "sh", latchkeyBinary],
            environment: ["PATH": "/usr/bin:/bin", "HOME": world.home.home, "LANG": "C.UTF-8", "LATCHKEY_PASSPHRASE": world.home.passphrase]
                .merging(world.environment) { $1 },
            inheritEnvironment: false, newSession: true, timeout: runTimeout)
        let result = program.wait()
        #expect(result.status == 0 && result.stdout == "12345\n", "\(result)")
    }
}

/// `latchkey credential-process --profile P --mfa-code 123456` run as
/// `nobody` with `ulimit -c unlimited`, blocked after sending a
/// GetSessionToken signed with P's long-term secret key to a listener that
/// reads the request and never answers.
private final class WaitingLatchkey {
    let home: TestHome
    let listener: SilentListener
    let program: RunningProgram
    let workingDirectory: String
    let pid: pid_t

    init() throws {
        try requireBinary()
        home = try TestHome()
        listener = try SilentListener()
        let profile = "hardened-\(UUID().uuidString.prefix(8).lowercased())"
        let secretKey = "dumpTestSecret/\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home.home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(home.home + "/.aws/config", Array("""
            [profile \(profile)]
            region = eu-west-1
            mfa_serial = arn:aws:iam::123456789012:mfa/alice

            """.utf8))
        try writeBytes(home.home + "/.aws/credentials", Array("""
            [\(profile)]
            aws_access_key_id = AKIADUMPTEST00000001
            aws_secret_access_key = \(secretKey)

            """.utf8))
        workingDirectory = home.root + "/cwd"
        try FileManager.default.createDirectory(atPath: workingDirectory, withIntermediateDirectories: true)
        // nobody reads the AWS files, writes the cache and may write a core here.
        for path in [home.root, home.home, home.home + "/.aws", home.home + "/.aws/config", home.home + "/.aws/credentials", workingDirectory] {
            #expect(chown(path, nobodyUID, nobodyUID) == 0, "chown \(path)")
        }

        let script = "cd \"$1\" && ulimit -c unlimited && exec /usr/bin/setpriv --reuid=\"$2\" --regid=\"$2\" --clear-groups \"$3\" credential-process --profile \"$4\" --mfa-code 123456"
        program = try RunningProgram(
            "/bin/sh", ["-c", script, "sh", workingDirectory, String(nobodyUID), latchkeyBinary, profile],
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": home.home, "LANG": "C.UTF-8",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:\(listener.port)",
                // No Swift backtracer between SIGQUIT and the kernel.
                "SWIFT_BACKTRACE": "enable=no",
            ], inheritEnvironment: false, newSession: true, timeout: 60)
        let request = try listener.receiveRequest(timeoutSeconds: 30)
        #expect(request.hasPrefix("POST "), "latchkey sent its STS request: \(request)")
        pid = try #require(findProcess(executable: latchkeyBinary, argument: profile), "the latchkey process")
    }

    func stop() {
        if program.isRunning { kill(pid, SIGKILL) }
        _ = program.wait()
        listener.close()
    }
}

/// The real uid of process `pid` (`/proc/PID/status`, readable by root).
private func processUID(_ pid: pid_t) throws -> uid_t? {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }
    return line?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { uid_t($0) }
}

/// The process running `executable` with `argument` among its arguments.
private func findProcess(executable: String, argument: String) -> pid_t? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let pid = pid_t(entry), let bytes = try? readBytes("/proc/\(entry)/cmdline") else { continue }
        let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if arguments.first == executable, arguments.contains(argument) { return pid }
    }
    return nil
}

/// A TCP listener on 127.0.0.1 that accepts one connection, reads an HTTP
/// request's head and never answers; the connection stays open until
/// ``close()``.
private final class SilentListener {
    private var listening: Int32
    private var connection: Int32 = -1
    let port: Int

    init() throws {
        guard let (fd, port) = loopbackTCPSocket(listen: true) else { throw ListenerError("bind") }
        listening = fd
        self.port = port
    }

    /// Accepts a connection and reads until the end of the request head.
    func receiveRequest(timeoutSeconds: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        func waitReadable(_ fd: Int32) throws {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&poller, 1, 100) == 0 {
                guard Date() < deadline else { throw ListenerError("no request within \(timeoutSeconds) s") }
            }
        }
        try waitReadable(listening)
        connection = accept(listening, nil, nil)
        guard connection >= 0 else { throw ListenerError("accept") }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
            try waitReadable(connection)
            let count = read(connection, &chunk, chunk.count)
            guard count > 0 else { throw ListenerError("the connection closed") }
            received += chunk[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() {
        if connection >= 0 { Glibc.close(connection) }
        if listening >= 0 { Glibc.close(listening) }
        connection = -1
        listening = -1
    }

    deinit { close() }

    struct ListenerError: Error, CustomStringConvertible {
        var description: String
        init(_ what: String) { description = "listener: \(what) failed (\(String(cString: strerror(errno))))" }
    }
}
