import Foundation
import TestSupport
import Testing

/// `latchkey auth --yubikey` end to end: the MFA code comes from the virtual
/// key through pcscd, goes to latchkey's MFA-checking STS server, and many
/// callers on a cold cache cost the key exactly one CALCULATE.
@Suite(
    "auth with the virtual key", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct AuthOnKeyTests {
    /// alice's keys in the credentials file; `dev` opens an MFA session with
    /// the key, `admin` assumes a role through it.
    func writeProfiles(home: String, server: MFASTSServer) throws {
        let user = try #require(server.config.user(named: "alice"))
        let serial = try #require(user.mfaDevices.first).serial
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(home + "/.aws/credentials", Array("""
            [dev]
            aws_access_key_id = \(user.accessKeyID)
            aws_secret_access_key = \(user.secretAccessKey)

            """.utf8))
        try writeBytes(home + "/.aws/config", Array("""
            [profile dev]
            mfa_serial = \(serial)
            latchkey_mfa = yubikey
            region = eu-west-1

            [profile admin]
            source_profile = dev
            role_arn = arn:aws:iam::123456789012:role/admin
            mfa_serial = \(serial)
            latchkey_mfa = yubikey

            """.utf8))
    }

    @Test("auth --yubikey: SELECT + CALCULATE on the key, the code accepted by STS; 16 cold callers cost one CALCULATE")
    func authWithTheKey() async throws {
        let server = try MFASTSServer.start(.standard())
        defer { server.stop() }
        let device = try #require(server.config.user(named: "alice")?.mfaDevices.first)
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try writeProfiles(home: session.home, server: server)
        let environment = ["AWS_ENDPOINT_URL": server.endpoint]
        try await session.withKey {
            let added = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["accounts", "add", device.serial, "--yubikey"], input: device.seedBase32)
            #expect(added.status == 0, "\(added)")

            session.clearLog()
            let auth = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["auth", "--profile", "dev"], environment: environment)
            #expect(auth.status == 0, "\(auth)")
            #expect(auth.stdout.hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"), "\(auth)")
            #expect(session.instructions() == ["SELECT", "CALCULATE"], "one code costs two APDUs: \(session.instructions())")
            var stats = try server.stats()
            #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "\(stats)")
            // GetCallerIdentity with the result (the cached session).
            let whoami = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["whoami", "--profile", "dev"], environment: environment)
            #expect(whoami.status == 0 && whoami.stdout.contains("\"Arn\":\"arn:aws:iam::123456789012:user/alice\""), "\(whoami)")
            #expect(session.instructions() == ["SELECT", "CALCULATE"], "whoami must not touch the key again")

            // A cold cache and 16 callers at once (Terraform, parallel aws calls).
            let logout = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["logout", "--all"])
            #expect(logout.status == 0)
            try server.reset()
            session.clearLog()
            let home = session.home
            let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await LatchkeyOnKeyTests.latchkey(
                            home: home, ["credential-process", "--profile", "admin"], environment: environment, timeout: 90)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results { #expect(result.status == 0, "\(result)") }
            let keys = Set(results.map { $0.stdout })
            #expect(keys.count == 1, "all callers print the one session")
            #expect(session.instructions().count(of: "CALCULATE") == 1, "CALCULATEs: \(session.instructions())")
            stats = try server.stats()
            #expect(stats.mfaChecks == 1 && stats.count("GetSessionToken") == 1 && stats.count("AssumeRole") == 1, "\(stats)")
        }
    }

    @Test("exec --server with the key: the AWS CLI and boto3 fetch the role session from latchkey's server; one CALCULATE for all of it")
    func credentialServerWithTheKey() async throws {
        let server = try MFASTSServer.start(.standard())
        defer { server.stop() }
        let device = try #require(server.config.user(named: "alice")?.mfaDevices.first)
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try writeProfiles(home: session.home, server: server)
        func tool(_ name: String) -> String {
            let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/\(name)"
        }
        let script = """
            echo "static ${AWS_ACCESS_KEY_ID-unset} ${AWS_SESSION_TOKEN-unset}"
            echo "cli $('\(tool("aws"))' sts get-caller-identity --region eu-west-1 --output text --query Arn)"
            '\(tool("python3"))' -c 'import boto3; s = boto3.Session(); print("boto3", s.client("sts", region_name="eu-west-1").get_caller_identity()["Arn"], s.get_credentials().method)'
            """
        try await session.withKey {
            let added = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["accounts", "add", device.serial, "--yubikey"], input: device.seedBase32)
            #expect(added.status == 0, "\(added)")
            session.clearLog()
            let result = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["exec", "--profile", "admin", "--server", "--", "/bin/bash", "-c", script],
                environment: ["AWS_ENDPOINT_URL": server.endpoint], timeout: 90)
            #expect(result.status == 0, "\(result)")
            let role = "arn:aws:sts::123456789012:assumed-role/admin/alice"
            #expect(result.stdout == "static unset unset\ncli \(role)\nboto3 \(role) container-role\n", "\(result)")
            #expect(session.instructions() == ["SELECT", "CALCULATE"], "\(session.instructions())")
            let stats = try server.stats()
            #expect(stats.mfaAccepted == 1 && stats.count("AssumeRole") == 1, "\(stats)")
        }
    }

    @Test("two MFA devices for one user, one on the virtual key: without mfa_serial the key's device is used; mfa list says the key makes its codes")
    func twoDevicesOneOnTheKey() async throws {
        var config = MFASTSServer.Config.standard()
        let other = MFASTSServer.MFADevice(serial: "arn:aws:iam::123456789012:mfa/alice-phone", seedBase32: LatchkeyOnKeyTests.randomBase32())
        config.users[0].mfaDevices.insert(other, at: 0)
        let server = try MFASTSServer.start(config)
        defer { server.stop() }
        let user = try #require(server.config.user(named: "alice"))
        let onKey = user.mfaDevices[1]
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try FileManager.default.createDirectory(atPath: session.home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(session.home + "/.aws/credentials", Array("""
            [pick]
            aws_access_key_id = \(user.accessKeyID)
            aws_secret_access_key = \(user.secretAccessKey)

            """.utf8))
        try writeBytes(session.home + "/.aws/config", Array("[profile pick]\nlatchkey_mfa = yubikey\nregion = eu-west-1\n".utf8))
        let environment = ["AWS_ENDPOINT_URL": server.endpoint]
        try await session.withKey {
            let added = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["accounts", "add", onKey.serial, "--yubikey"], input: onKey.seedBase32)
            #expect(added.status == 0, "\(added)")
            let auth = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["auth", "--profile", "pick"], environment: environment)
            #expect(auth.status == 0 && auth.stdout.hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"), "\(auth)")
            #expect(auth.stderr.contains("Using the MFA device \(onKey.serial), the one of the 2 IAM lists"), "\(auth)")
            let stats = try server.stats()
            #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "\(stats)")
            let list = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["mfa", "list", "--profile", "pick", "--json"], environment: environment)
            #expect(list.status == 0, "\(list)")
            #expect(list.stdout.contains("{\"serial\":\"\(other.serial)\",\"enabled\"") && list.stdout.contains("\"yubikey\":\"no\",\"tpm\":\"no\",\"codes\":\"none\"}"), "\(list)")
            #expect(list.stdout.contains("\"yubikey\":\"yes\",\"tpm\":\"no\",\"codes\":\"yubikey\"}"), "\(list)")
        }
    }
}
