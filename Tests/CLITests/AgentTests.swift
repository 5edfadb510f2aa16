import Foundation
import OATH
import SystemSupport
import TestSupport
import Testing

/// `latchkey agent` with the sealed vault as its token (no pcscd): the
/// laptop is an ``AuthWorld``; the dev box is another HOME that reaches the
/// agent's socket directly. Bad input at the socket, both ways.
@Suite("latchkey agent", .serialized)
struct AgentTests {
    /// A `latchkey agent` process with the laptop's HOME.
    final class RunningAgent {
        let program: RunningProgram
        let socket: String

        init(_ world: AuthWorld, socket: String, _ arguments: [String], passphrase: String? = nil) throws {
            self.socket = socket
            var environment = ["PATH": "/usr/bin:/bin", "HOME": world.home.home, "LANG": "C.UTF-8"].merging(world.environment) { $1 }
            if let passphrase { environment["LATCHKEY_PASSPHRASE"] = passphrase }
            program = try RunningProgram(
                latchkeyBinary, ["agent", "--socket", socket] + arguments, environment: environment, inheritEnvironment: false, timeout: 120)
            let deadline = Date().addingTimeInterval(15)
            while LocalSocket.state(of: socket) != .live {
                guard program.isRunning, Date() < deadline else {
                    Issue.record("the agent did not start: \(program.wait())")
                    throw SSHForwardError.setup("agent")
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }

        /// SIGTERM, then its log (stderr).
        func stop() -> String {
            kill(program.process.processIdentifier, SIGTERM)
            return program.wait().stderr
        }
    }

    /// A directory for sockets, 0700.
    func socketDirectory() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory("agent")
        chmod(directory.path, 0o700)
        return directory
    }

    /// The dev box: a HOME of its own, no keys.
    func devBox(socket: String, _ world: AuthWorld) throws -> (TestHome, [String: String]) {
        let home = try TestHome()
        for secret in [world.user.secretAccessKey] { home.forbid(secret) }
        home.forbid(secret: world.seed)
        return (home, ["LATCHKEY_AGENT_SOCK": socket, "LATCHKEY_HOST_NAME": "devbox-7"].merging(world.environment) { $1 })
    }

    @Test("codes through the agent: --allow-code only; latchkey_mfa = agent on the dev box; the laptop's record of spent steps")
    func codeMode() throws {
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let agent = try RunningAgent(
            world, socket: sockets.file("agent.sock"), ["--sealed", "--allow-code", world.device.serial], passphrase: world.home.passphrase)
        let (box, environment) = try devBox(socket: agent.socket, world)

        let code = try box.run(["code", world.device.serial, "--agent"], passphrase: nil, environment: environment)
        #expect(code.status == 0, "\(code)")
        #expect(code.stdout == world.currentCode() + "\n" || code.stdout == world.currentCode(offset: 30) + "\n", "\(code)")

        let other = "arn:aws:iam::123456789012:mfa/mallory"
        let refused = try box.run(["code", other, "--agent"], passphrase: nil, environment: environment)
        #expect(refused.status == 24 && refused.errorLine.contains("does not make codes for \(other)"), "\(refused)")

        // The dev box has alice's keys of its own, and codes from the agent.
        try box.run(["keys", "list"], passphrase: nil)  // makes no vault
        try FileManager.default.createDirectory(atPath: box.home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(box.home + "/.aws/credentials", Array(AuthWorld.standardCredentials(world.user).utf8))
        try writeBytes(box.home + "/.aws/config", Array("""
            [profile dev]
            mfa_serial = \(world.device.serial)
            latchkey_mfa = agent

            """.utf8))
        let auth = try box.run(["auth", "--profile", "dev"], passphrase: nil, environment: environment)
        #expect(auth.status == 0 && auth.stdout.hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"), "\(auth)")
        let stats = try world.server.stats()
        #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "the agent's code was a fresh step: \(stats)")

        let log = agent.stop()
        #expect(log.contains("host devbox-7: code \(world.device.serial): ok"), "\(log)")
        #expect(log.contains("host devbox-7: code \(other): refused"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: agent.socket))
    }

    @Test("--unlock-for: the vault stays open for later requests without the passphrase, and is wiped when the time is up")
    func unlockFor() throws {
        let world = try AuthWorld()
        let serials = ["bob", "carol"].map { "arn:aws:iam::123456789012:mfa/\($0)" }
        for serial in serials { try world.home.add(serial, secret: randomSecret()) }
        let passphraseFile = try world.home.file("passphrase", world.home.passphrase)
        let sockets = try socketDirectory()
        let agent = try RunningAgent(
            world, socket: sockets.file("agent.sock"),
            ["--sealed", "--unlock-for", "3s", "--passphrase-file", passphraseFile, "--allow-code", world.device.serial]
                + serials.flatMap { ["--allow-code", $0] })
        let (box, environment) = try devBox(socket: agent.socket, world)

        let first = try box.run(["code", world.device.serial, "--agent"], passphrase: nil, environment: environment)
        #expect(first.status == 0, "\(first)")
        // Without the passphrase file, the held vault still answers…
        try FileManager.default.removeItem(atPath: passphraseFile)
        let second = try box.run(["code", serials[0], "--agent"], passphrase: nil, environment: environment)
        #expect(second.status == 0, "\(second)")
        // …until its time is up; then the passphrase is needed again.
        Thread.sleep(forTimeInterval: 3.5)
        let third = try box.run(["code", serials[1], "--agent"], passphrase: nil, environment: environment)
        #expect(third.status == 5 && third.errorLine.hasPrefix("latchkey: agent: passphrase file"), "\(third)")
        let log = agent.stop()
        #expect(log.contains("the vault's unlock time is over: wiped"), "\(log)")
    }

    @Test("bad bytes at the agent's socket: garbage, an empty, a truncated and an oversized frame, a newer version; the agent answers each and keeps serving")
    func badFramesAtTheAgent() throws {
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let agent = try RunningAgent(world, socket: sockets.file("agent.sock"), ["--sealed", "--allow", "admin"], passphrase: world.home.passphrase)

        func exchange(_ bytes: [UInt8], closeAfterSending: Bool = false) throws -> [UInt8] {
            let connection = try LocalSocket.connect(to: agent.socket)
            try connection.send(bytes, timeoutSeconds: 2)
            if closeAfterSending { shutdown(connection.fd, Int32(SHUT_WR)) }
            var reply: [UInt8] = []
            while let byte = try? connection.receive(exactly: 1, until: Deadline(seconds: 10)) { reply += byte }
            return reply
        }
        func frame(_ text: String) -> [UInt8] {
            let body = Array(text.utf8)
            return [0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        }
        let cases: [(String, [UInt8], String)] = [
            ("garbage", frame("garbage"), "a malformed message"),
            ("empty", [0, 0, 0, 0], "an empty message"),
            ("oversized", [0x00, 0x10, 0x00, 0x00], "a message of 1048576 bytes"),
            ("newer", frame(#"{"v":9,"op":"credentials","host":"h","profile":"admin"}"#), "protocol version 9"),
            ("control", frame(#"{"v":1,"op":"credentials","host":"h\u001b[2J","profile":"admin"}"#), "control characters"),
        ]
        for (name, bytes, expected) in cases {
            let reply = try exchange(bytes)
            let text = String(decoding: reply.dropFirst(4), as: UTF8.self)
            #expect(text.contains("\"ok\":false") && text.contains(expected), "\(name): \(text)")
        }
        // Cut short: the agent gives up on it after its request timeout,
        // and serves the next client.
        let truncated = try exchange([0, 0, 0, 50, UInt8(ascii: "{")], closeAfterSending: true)
        #expect(truncated.isEmpty, "no answer to a request that never arrived")

        // A client that sends its request and leaves at once: the agent
        // still makes the session and caches it, so the next client gets it
        // without a new MFA code.
        _ = try? exchange(frame(#"{"v":1,"op":"credentials","host":"gone","profile":"admin"}"#), closeAfterSending: true)
        let (box, environment) = try devBox(socket: agent.socket, world)
        let credentials = try box.run(["credential-process", "--agent", "--profile", "admin"], passphrase: nil, environment: environment)
        #expect(credentials.status == 0, "\(credentials)")
        let stats = try world.server.stats()
        #expect(stats.mfaChecks == 1 && stats.count("AssumeRole") == 1, "one MFA code and one AssumeRole for both: \(stats)")

        let log = agent.stop()
        #expect(log.contains("refused: a malformed message") && log.contains("refused: an empty message"), "\(log)")
        #expect(log.contains("host devbox-7: profile admin: ok"), "\(log)")
    }

    @Test("the client: no agent, a stale socket, an agent that dies mid-request, one that speaks a newer version")
    func clientFailures() throws {
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let path = sockets.file("agent.sock")
        let (box, environment) = try devBox(socket: path, world)
        func credentials() throws -> RunResult {
            try box.run(["credential-process", "--agent", "--profile", "admin"], passphrase: nil, environment: environment)
        }

        let none = try credentials()
        #expect(none.status == 25 && none.errorLine.contains("no latchkey agent at \(path)"), "\(none)")

        // A fake agent: takes the request, then answers in each bad way.
        func fakeAgent(_ answer: @escaping @Sendable (LocalSocket) -> Void) throws -> RunResult {
            // Used by the serving thread only, until the run below ends.
            nonisolated(unsafe) let listener = try LocalSocket.listen(at: path)
            let served = Thread {
                if case .connection(let connection)? = try? listener.accept(orWakeOn: -1, timeoutMilliseconds: 20_000) {
                    _ = try? connection.receive(exactly: 4, until: Deadline(seconds: 5))
                    answer(connection)
                }
            }
            served.start()
            defer { listener.close() }
            return try credentials()
        }
        let died = try fakeAgent { connection in connection.close() }
        #expect(died.status == 25 && died.errorLine.contains("closed the connection without answering"), "\(died)")
        let newer = try fakeAgent { connection in
            let body = Array(#"{"v":2,"ok":true,"x":1}"#.utf8)
            try? connection.send([0, 0, 0, UInt8(body.count)] + body, timeoutSeconds: 2)
        }
        #expect(newer.status == 25 && newer.errorLine.contains("protocol version 2"), "\(newer)")
        let oversized = try fakeAgent { connection in try? connection.send([0x7F, 0, 0, 0], timeoutSeconds: 2) }
        #expect(oversized.status == 25 && oversized.errorLine.contains("a message of"), "\(oversized)")

        // A socket left behind by an agent that was killed: bound, never removed.
        let made = try runProgram("/usr/bin/python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path], timeout: 30)
        #expect(made.status == 0 && LocalSocket.state(of: path) == .stale, "\(made)")
        let stale = try credentials()
        #expect(stale.status == 25 && stale.errorLine.contains("is not running"), "\(stale)")
    }

    @Test("the agent refuses a socket path of another user, a live agent's socket, and --confirm without a terminal")
    func agentRefusals() throws {
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let live = try RunningAgent(world, socket: sockets.file("agent.sock"), ["--allow", "admin"])
        let twice = try world.home.run(["agent", "--socket", live.socket])
        #expect(twice.status == 64 && twice.errorLine.contains("another agent is listening there"), "\(twice)")
        if getuid() == 0 {
            // Another user who reaches the socket (its mode opened on purpose,
            // as a forwarded socket may be reachable) gets no answer.
            chmod(sockets.path, 0o755)
            chmod(live.socket, 0o666)
            let script = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
                body = b'{"v":1,"op":"credentials","host":"h","profile":"admin"}'
                try:
                    s.sendall(len(body).to_bytes(4, 'big') + body)
                    print(len(s.recv(100)))
                except (BrokenPipeError, ConnectionResetError):
                    print(0)
                """
            let other = try runProgram(
                "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, live.socket],
                timeout: 30)
            #expect(other.status == 0 && other.stdout == "0\n", "another user's request is closed unanswered: \(other)")
        }
        let log = live.stop()
        if getuid() == 0 { #expect(log.contains("user 65534 is not this agent's user"), "\(log)") }

        let confirm = try world.home.run(["agent", "--socket", sockets.file("other.sock"), "--confirm"])
        #expect(confirm.status == 64 && confirm.errorLine.contains("--confirm needs a terminal"), "\(confirm)")

        if getuid() == 0 {
            let foreign = sockets.file("foreign.sock")
            let listener = try LocalSocket.listen(at: foreign)
            chown(foreign, 4242, 4242)
            let refused = try world.home.run(["agent", "--socket", foreign])
            #expect(refused.status == 64 && refused.errorLine.contains("belongs to user 4242"), "\(refused)")
            #expect(FileManager.default.fileExists(atPath: foreign), "another user's socket is left alone")
            _ = listener
        }
    }

    @Test("socket activation: systemd's socket handed over (LISTEN_FDS) is served, as latchkey-agent.socket hands it")
    func socketActivation() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        try #require(FileManager.default.isExecutableFile(atPath: activate), "systemd-socket-activate (Debian's systemd) is missing")
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let path = sockets.file("activated.sock")
        var environment = ["PATH": "/usr/bin:/bin", "HOME": world.home.home, "LATCHKEY_PASSPHRASE": world.home.passphrase]
        environment.merge(world.environment) { $1 }
        // The path the agent would listen on by itself is elsewhere: only
        // the handed-over socket can answer.
        let log = sockets.file("agent.log")
        let activated = try SpawnedProgram(
            activate, ["-l", path, "-E", "LATCHKEY_PASSPHRASE", "-E", "AWS_ENDPOINT_URL", "-E", "HOME",
                       latchkeyBinary, "agent", "--socket", sockets.file("unused.sock"), "--sealed", "--allow", "admin"],
            environment: environment, log: log)
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: path), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let (box, boxEnvironment) = try devBox(socket: path, world)
        let credentials = try box.run(["credential-process", "--agent", "--profile", "admin"], passphrase: nil, environment: boxEnvironment)
        #expect(credentials.status == 0, "\(credentials)")
        #expect(!FileManager.default.fileExists(atPath: sockets.file("unused.sock")))
        #expect(activated.stop() == 0, "the agent's exit status")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.contains("listening on the socket the service manager passed"), "\(text)")
        #expect(text.contains("host devbox-7: profile admin: ok"), "\(text)")
    }

    /// `latchkey agent --socket SOCKET --sealed ARGUMENTS` on a pty of its own
    /// (script(1), whose stdin is `input`'s output), its socket live.
    func agentOnTerminal(
        _ world: AuthWorld, socket: String, log: String, input: String, _ arguments: [String], pidFile: String? = nil
    ) throws -> SpawnedProgram {
        let command = (pidFile.map { "echo $$ > '\($0)'; " } ?? "") + "exec "
            + ([latchkeyBinary, "agent", "--socket", socket, "--sealed"] + arguments).map { "'\($0)'" }.joined(separator: " ")
        var environment = ["PATH": "/usr/bin:/bin", "HOME": world.home.home, "LATCHKEY_PASSPHRASE": world.home.passphrase]
        environment.merge(world.environment) { $1 }
        let agent = try SpawnedProgram(
            "/bin/sh", ["-c", "\(input) | /usr/bin/script -qfec \"$0\" /dev/null", command], environment: environment, log: log)
        let deadline = Date().addingTimeInterval(15)
        while LocalSocket.state(of: socket) != .live, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return agent
    }

    @Test("--confirm: the person at the agent's terminal (a pty from script(1)) allows one request and refuses the next")
    func confirmOnTheTerminal() throws {
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let socket = sockets.file("agent.sock")
        let pidFile = sockets.file("agent.pid")
        // The answers wait in the pty's input until the agent asks.
        let agent = try agentOnTerminal(
            world, socket: socket, log: sockets.file("agent.log"), input: "(printf 'y\\nn\\n'; sleep 20)",
            ["--allow", "admin", "--allow", "ops", "--confirm"], pidFile: pidFile)
        let (box, boxEnvironment) = try devBox(socket: socket, world)
        let allowed = try box.run(["credential-process", "--agent", "--profile", "admin"], passphrase: nil, environment: boxEnvironment)
        #expect(allowed.status == 0, "\(allowed)")
        let refused = try box.run(["credential-process", "--agent", "--profile", "ops"], passphrase: nil, environment: boxEnvironment)
        #expect(refused.status == 24 && refused.errorLine.contains("did not allow credentials for profile 'ops'"), "\(refused)")
        // SIGTERM to latchkey itself: it removes its socket, script(1) ends.
        if let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            kill(pid, SIGTERM)
        }
        let stopDeadline = Date().addingTimeInterval(10)
        while FileManager.default.fileExists(atPath: socket), Date() < stopDeadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!FileManager.default.fileExists(atPath: socket), "the agent stopped and removed its socket")
        agent.stop(signal: SIGKILL, grace: 0)
        let log = (try? String(contentsOfFile: sockets.file("agent.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("devbox-7 asks for credentials for profile 'admin'. Allow? [y/N]"), "\(log)")
    }

    @Test("--confirm-timeout: a question nobody answers refuses the request after that long (exit 24), and the agent goes on serving")
    func confirmTimesOut() throws {
        let world = try AuthWorld()
        let sockets = try socketDirectory()
        let socket = sockets.file("agent.sock")
        // Nobody types: script(1)'s input is a pipe that stays open and empty.
        let agent = try agentOnTerminal(
            world, socket: socket, log: sockets.file("agent.log"), input: "sleep 30",
            ["--allow", "admin", "--confirm", "--confirm-timeout", "2s"])
        defer { agent.stop(signal: SIGKILL, grace: 0) }
        let (box, boxEnvironment) = try devBox(socket: socket, world)
        for _ in 0..<2 {
            let refused = try box.run(["credential-process", "--agent", "--profile", "admin"], passphrase: nil, environment: boxEnvironment)
            #expect(refused.status == 24, "\(refused)")
            #expect(refused.errorLine.contains("nobody at the agent's machine allowed credentials for profile 'admin' within 2 s"), "\(refused)")
        }
        #expect(LocalSocket.state(of: socket) == .live)
        #expect(try world.server.stats().requests == 0, "nothing reached STS")
        let log = (try? String(contentsOfFile: sockets.file("agent.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("(no answer: refused)"), "\(log)")
    }
}
