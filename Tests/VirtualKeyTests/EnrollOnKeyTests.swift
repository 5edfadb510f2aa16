import Foundation
import TestSupport
import Testing

/// `latchkey mfa enroll --yubikey` end to end: the seed from latchkey's
/// MFA-checking server goes onto the virtual key through pcscd, the server
/// checks that EnableMFADevice got the seed's codes for two consecutive
/// steps, and `auth --yubikey` then works with the new device.
@Suite(
    "mfa enroll with the virtual key", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct EnrollOnKeyTests {
    /// Profile `dev` under `home`: the server's alice's keys, region eu-west-1, no MFA yet.
    static func writeProfile(home: String, server: MFASTSServer) throws {
        let user = try #require(server.config.user(named: "alice"))
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(home + "/.aws/credentials", Array("""
            [dev]
            aws_access_key_id = \(user.accessKeyID)
            aws_secret_access_key = \(user.secretAccessKey)

            """.utf8))
        try writeBytes(home + "/.aws/config", Array("[profile dev]\nregion = eu-west-1\n".utf8))
    }

    @Test("enroll --yubikey: PUT + two CALCULATEs, codes accepted, profile written, auth works; a refused enable leaves nothing")
    func enrollOnTheKey() async throws {
        let server = try MFASTSServer.start(.standard())
        defer { server.stop() }
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try Self.writeProfile(home: session.home, server: server)
        let environment = ["AWS_ENDPOINT_URL": server.endpoint]
        let serial = "arn:aws:iam::123456789012:mfa/alice-key"
        try await session.withKey {
            session.clearLog()
            let enrolled = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["mfa", "enroll", "--profile", "dev", "--yubikey", "--device-name", "alice-key"],
                environment: environment)
            #expect(enrolled.status == 0, "\(enrolled)")
            #expect(enrolled.stdout == serial + "\n", "\(enrolled)")
            let instructions = session.instructions()
            #expect(instructions.filter { $0 == "PUT" }.count == 1 && instructions.filter { $0 == "CALCULATE" }.count == 2, "\(instructions)")
            var stats = try server.stats()
            #expect(stats.count("EnableMFADevice") == 1 && stats.virtualDevices == 1, "\(stats)")
            let config = String(decoding: try readBytes(session.home + "/.aws/config"), as: UTF8.self)
            #expect(config == "[profile dev]\nregion = eu-west-1\nmfa_serial = \(serial)\nlatchkey_mfa = yubikey\n", "\(config)")

            // The server spent both enable steps: auth waits for a new one, and the code is accepted.
            let auth = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["auth", "--profile", "dev"], environment: environment, timeout: 120)
            #expect(auth.status == 0 && auth.stdout.hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"), "\(auth)")
            stats = try server.stats()
            #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "\(stats)")

            let refused = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["mfa", "enroll", "--profile", "dev", "--yubikey", "--user", "nobody", "--device-name", "alice-two"],
                environment: environment)
            #expect(refused.status == 20 && refused.stderr.hasSuffix("; the new device was removed\n"), "\(refused)")
            stats = try server.stats()
            #expect(stats.virtualDevices == 1 && stats.count("DeleteVirtualMFADevice") == 1, "\(stats)")
            let accounts = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["accounts", "list", "--yubikey"])
            #expect(accounts.status == 0 && accounts.stdout.contains("alice-key") && !accounts.stdout.contains("alice-two"), "\(accounts)")
        }
    }
}
