import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// A session D-Bus for tests (DesktopNotificationsTests, the agent's touch
// notifications): dbus-daemon and the fixture notification server.

/// Programs the tests cannot do without: a missing one fails the test with
/// the package to install (scripts/install-deps installs them all).
public enum Programs {
    static let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]

    public static func require(_ name: String, package: String) throws -> String {
        guard let path = searchPath.lazy.map({ "\($0)/\(name)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            Issue.record("\(name) is not installed: apt-get install \(package)")
            throw Missing()
        }
        return path
    }

    public struct Missing: Error {}

    /// Fixtures/notification_server.c, built once per test run with gcc
    /// against libdbus-1-dev.
    public static func notificationServer() throws -> String {
        try builtServer.get()
    }

    private static let builtServer: Result<String, any Error> = Result {
        let gcc = try require("gcc", package: "gcc")
        let pkgConfig = try require("pkg-config", package: "pkg-config")
        let flags = try runProgram(pkgConfig, ["--cflags", "--libs", "dbus-1"], timeout: 30)
        guard flags.status == 0 else {
            Issue.record("pkg-config knows no dbus-1: apt-get install libdbus-1-dev\n\(flags)")
            throw Missing()
        }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/notification_server.c").path
        let binary = try makeTemporaryDirectory("notification-server").path + "/notification_server"
        let arguments = ["-O2", "-Wall", "-o", binary, source] + flags.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        let build = try runProgram(gcc, arguments, timeout: 120)
        guard build.status == 0 else {
            Issue.record("building the notification server failed:\n\(build)")
            throw Missing()
        }
        return binary
    }
}

/// A session bus of the test's own: dbus-daemon with a configuration that
/// listens on a socket in a temporary directory and activates nothing (no
/// service directories), optionally with the fixture notification server on it.
public final class TestBus {
    public let directory: TemporaryDirectory
    public let socket: String
    public private(set) var address = ""
    private var daemon: RunningProgram?
    private var server: RunningProgram?
    public var record: String { directory.file("record") }

    public init(withServer: Bool = true, silentServer: Bool = false) throws {
        directory = try TemporaryDirectory("bus")
        socket = directory.file("bus")
        try start()
        if withServer { try startServer(silent: silentServer) }
    }

    deinit { stop() }

    /// `DBUS_SESSION_BUS_ADDRESS` for this bus, as an environment.
    public var environment: [String: String] { ["DBUS_SESSION_BUS_ADDRESS": address] }

    /// Starts dbus-daemon and waits for the address it prints.
    public func start() throws {
        let dbusDaemon = try Programs.require("dbus-daemon", package: "dbus-daemon")
        unlink(socket)
        let config = directory.file("bus.conf")
        try writeBytes(
            config,
            Array(
                """
                <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
                 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
                <busconfig>
                  <type>session</type>
                  <listen>unix:path=\(socket)</listen>
                  <auth>EXTERNAL</auth>
                  <policy context="default">
                    <allow send_destination="*" eavesdrop="true"/>
                    <allow eavesdrop="true"/>
                    <allow own="*"/>
                  </policy>
                </busconfig>
                """.utf8))
        let daemon = try RunningProgram(dbusDaemon, ["--config-file=" + config, "--nofork", "--print-address"], timeout: 120)
        self.daemon = daemon
        address = try Self.firstLine(of: daemon, what: "dbus-daemon's address")
    }

    /// Starts the fixture notification server and waits until it owns
    /// org.freedesktop.Notifications.
    public func startServer(silent: Bool = false) throws {
        let binary = try Programs.notificationServer()
        let server = try RunningProgram(
            binary, [record] + (silent ? ["--silent"] : []), environment: environment, timeout: 120)
        self.server = server
        let ready = try Self.firstLine(of: server, what: "the notification server's ready line")
        #expect(ready == "ready")
    }

    /// Stops the server and the bus (SIGTERM, then SIGKILL).
    public func stop() {
        if let server { stopProcess(server.process) }
        if let daemon { stopProcess(daemon.process) }
        server = nil
        daemon = nil
    }

    /// The calls the server recorded, one array of fields each.
    public func calls() -> [[String]] {
        let text = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The first line `program` prints, waiting at most 20 s for it.
    private static func firstLine(of program: RunningProgram, what: String) throws -> String {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = String(decoding: program.stdoutSoFar(), as: UTF8.self)
            if let end = text.firstIndex(of: "\n") { return String(text[..<end]) }
            if !program.isRunning { break }
            usleep(5_000)
        }
        Issue.record("no \(what): \(program.wait())")
        throw Programs.Missing()
    }
}

