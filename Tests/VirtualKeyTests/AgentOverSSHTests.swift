import Foundation
import TestSupport
import Testing

/// `latchkey agent` on a "laptop" (the virtual key behind pcscd, alice's
/// keys, the MFA-checking STS server) and a "dev box" (another HOME with no
/// long-term key) that reaches it through a socket OpenSSH's server
/// forwards (`ssh -R`), with the AWS CLI as the dev box's client.
@Suite(
    "the agent over a forwarded socket", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct AgentOverSSHTests {
    final class Laptop {
        let server: MFASTSServer
        let session: VirtualKeySession
        let device: MFASTSServer.MFADevice
        let user: MFASTSServer.User
        let sockets: TemporaryDirectory
        var agentSocket: String { sockets.path + "/laptop/agent.sock" }
        var environment: [String: String] { ["AWS_ENDPOINT_URL": server.endpoint] }

        init() throws {
            server = try MFASTSServer.start(.standard())
            session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
            user = try #require(server.config.user(named: "alice"))
            device = try #require(user.mfaDevices.first)
            sockets = try TemporaryDirectory("agent")
            try FileManager.default.createDirectory(atPath: sockets.path + "/laptop", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: sockets.path + "/devbox", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try AuthOnKeyTests().writeProfiles(home: session.home, server: server)
        }

        deinit { server.stop() }

        func latchkey(_ arguments: [String], input: String = "") async throws -> ProcessResult {
            try await LatchkeyOnKeyTests.latchkey(home: session.home, arguments, input: input, environment: environment)
        }

        /// `latchkey agent ARGS…` in the background, once its socket answers.
        func startAgent(_ arguments: [String], environment extra: [String: String] = [:]) throws -> RunningProgram {
            let binary = try #require(LatchkeyOnKeyTests.latchkey)
            var inherited = ProcessInfo.processInfo.environment
            inherited["DBUS_SESSION_BUS_ADDRESS"] = nil
            let agent = try RunningProgram(binary, ["agent", "--socket", agentSocket] + arguments, environment: inherited.merging([
                "HOME": session.home, "LATCHKEY_READER": VirtualKeySession.reader, "LATCHKEY_PASSPHRASE": "",
            ]) { $1 }.merging(environment) { $1 }.merging(extra) { $1 }, inheritEnvironment: false, timeout: 300)
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: agentSocket) {
                guard agent.isRunning, Date() < deadline else {
                    Issue.record("the agent did not start: \(agent.wait())")
                    throw Tools.Missing()
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return agent
        }
    }

    /// The dev box: its own HOME, the forwarded socket, no keys.
    struct DevBox {
        let home: TemporaryDirectory
        let socket: String
        let stsEndpoint: String

        init(socket: String, stsEndpoint: String) throws {
            home = try TemporaryDirectory("devbox")
            self.socket = socket
            self.stsEndpoint = stsEndpoint
            let latchkey = try #require(LatchkeyOnKeyTests.latchkey)
            try FileManager.default.createDirectory(atPath: home.path + "/.aws", withIntermediateDirectories: true)
            try writeBytes(home.path + "/.aws/config", Array("""
                [profile admin]
                credential_process = \(latchkey) credential-process --agent --profile admin
                region = eu-west-1

                """.utf8))
        }

        var environment: [String: String] {
            ["HOME": home.path, "LATCHKEY_AGENT_SOCK": socket, "LATCHKEY_HOST_NAME": "devbox-3", "AWS_ENDPOINT_URL": stsEndpoint]
        }

        func latchkey(_ arguments: [String]) async throws -> ProcessResult {
            let binary = try #require(LatchkeyOnKeyTests.latchkey)
            return try await runProgram(binary, arguments, environment: environment, newSession: true, timeout: 90)
        }

        /// Every file under the dev box's HOME, read whole.
        func allFiles() -> [(String, [UInt8])] {
            let enumerator = FileManager.default.enumerator(atPath: home.path)
            var files: [(String, [UInt8])] = []
            while let name = enumerator?.nextObject() as? String {
                let path = home.path + "/" + name
                if let bytes = try? readBytes(path) { files.append((name, bytes)) }
            }
            return files
        }
    }

    @Test("aws sts get-caller-identity on the dev box through credential_process --agent and ssh -R; 12 cold callers cost one CALCULATE; a profile not allowed costs none; SIGTERM removes the socket")
    func awsCLIThroughForwardedAgent() async throws {
        let aws = try Tools.require("aws", package: "awscli (pip)")
        let laptop = try Laptop()
        let ssh = try SSHForward()
        let devbox = try DevBox(socket: laptop.sockets.path + "/devbox/agent.sock", stsEndpoint: laptop.server.endpoint)
        try await laptop.session.withKey {
            let added = try await laptop.latchkey(["accounts", "add", laptop.device.serial, "--yubikey"], input: laptop.device.seedBase32)
            #expect(added.status == 0, "\(added)")
            let agent = try laptop.startAgent(["--allow", "admin"])
            try ssh.forward(remote: devbox.socket, to: laptop.agentSocket)
            laptop.session.clearLog()

            // The AWS CLI on the dev box, through credential_process.
            let identity = try await runProgram(aws, ["sts", "get-caller-identity", "--profile", "admin", "--output", "json"],
                environment: devbox.environment, timeout: 120)
            #expect(identity.status == 0, "\(identity)")
            #expect(identity.stdout.contains("arn:aws:sts::123456789012:assumed-role/admin/"), "\(identity)")
            #expect(laptop.session.instructions().count(of: "CALCULATE") == 1, "\(laptop.session.instructions())")

            // Nothing of alice's long-term key or seed is on the dev box.
            let seed = laptop.device.seedBase32
            for (name, bytes) in devbox.allFiles() {
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(!text.contains(laptop.user.secretAccessKey), "\(name) holds alice's secret key")
                #expect(!text.contains(laptop.user.accessKeyID), "\(name) holds alice's access key id")
                #expect(!text.contains(seed), "\(name) holds the seed")
            }

            // Cold caches on both sides; 12 callers at once on the dev box.
            for result in [try await laptop.latchkey(["logout", "--all"]), try await devbox.latchkey(["logout", "--all"])] {
                #expect(result.status == 0, "\(result)")
            }
            laptop.session.clearLog()
            let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for _ in 0..<12 { group.addTask { try await devbox.latchkey(["credential-process", "--agent", "--profile", "admin"]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results { #expect(result.status == 0, "\(result)") }
            #expect(Set(results.map(\.stdout)).count == 1, "every caller prints the one session")
            #expect(laptop.session.instructions().count(of: "CALCULATE") == 1, "\(laptop.session.instructions())")

            // A profile the agent does not forward: refused before the key.
            laptop.session.clearLog()
            let refused = try await devbox.latchkey(["credential-process", "--agent", "--profile", "dev"])
            #expect(refused.status == 24 && refused.stdout.isEmpty, "\(refused)")
            #expect(refused.stderr.hasPrefix("latchkey: agent: this agent does not forward profile 'dev'"), "\(refused)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused)")
            #expect(laptop.session.instructions().isEmpty, "\(laptop.session.instructions())")

            // SIGTERM: the agent ends cleanly and its socket is gone; the dev
            // box then gets the "not running" error.
            let status = await stopProcess(agent.process, grace: 10)
            #expect(status == 0, "the agent's exit status")
            #expect(!FileManager.default.fileExists(atPath: laptop.agentSocket), "the agent's socket is removed")
            let log = await agent.wait().stderr
            #expect(log.contains("host devbox-3: profile admin: ok"), "\(log)")
            #expect(log.contains("host devbox-3: profile dev: refused"), "\(log)")
            let gone = try await devbox.latchkey(["credential-process", "--agent", "--profile", "admin", "--refresh"])
            #expect(gone.status == 25, "\(gone)")
            ssh.stopForwarding()
        }
    }

    @Test("no terminal: the touch prompt reaches the desktop as a notification naming the profile and the host, closed when the key answers")
    func touchNotification() async throws {
        let laptop = try Laptop()
        let bus = try TestBus()
        let devbox = try DevBox(socket: laptop.agentSocket, stsEndpoint: laptop.server.endpoint)
        try await laptop.session.withKey(["--touch-delay", "1"]) {
            let added = try await laptop.latchkey(
                ["accounts", "add", laptop.device.serial, "--yubikey", "--touch"], input: laptop.device.seedBase32)
            #expect(added.status == 0, "\(added)")
            let agent = try laptop.startAgent(["--allow", "admin"], environment: bus.environment)
            let result = try await devbox.latchkey(["credential-process", "--agent", "--profile", "admin"])
            #expect(result.status == 0, "\(result)")
            let log = await { _ = await stopProcess(agent.process, grace: 10); return await agent.wait().stderr }()
            #expect(log.contains("Touch your YubiKey for admin, asked by devbox-3…"), "the stderr line: \(log)")
            let calls = bus.calls()
            #expect(calls.first?.prefix(5) == ["Notify", "latchkey", "0", "", "Touch your YubiKey for admin, asked by devbox-3"], "\(calls)")
            #expect(calls.count == 2 && calls.last?.first == "CloseNotification", "\(calls)")
        }
    }
}
