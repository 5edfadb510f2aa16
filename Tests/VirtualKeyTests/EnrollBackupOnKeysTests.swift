import Foundation
import TestSupport
import Testing

/// `latchkey mfa enroll --yubikey --also-reader` with two virtual keys on
/// pcscd ("Virtual PCD 00 00" the main key, "Virtual PCD 00 01" the
/// backup) against the MFA-checking STS server: the seed on both keys
/// before EnableMFADevice, and a backup that fails leaves nothing behind.
@Suite(
    "mfa enroll --also-reader with two virtual keys", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct EnrollBackupOnKeysTests {
    static let serial = "arn:aws:iam::123456789012:mfa/alice-key"
    static let enroll = ["mfa", "enroll", "--profile", "dev", "--yubikey", "--device-name", "alice-key"]

    /// Runs `body` with the MFA-checking server, profile `dev` (alice's
    /// keys) and both keys in their readers; `body` gets the session and
    /// the environment that points latchkey at the server.
    static func withServerAndKeys(_ body: (MFASTSServer, VirtualKeySession, [String: String]) async throws -> Void) async throws {
        let server = try MFASTSServer.start(.standard())
        defer { server.stop() }
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory(), twoKeys: true)
        try EnrollOnKeyTests.writeProfile(home: session.home, server: server)
        try await session.withKey { try await body(server, session, ["AWS_ENDPOINT_URL": server.endpoint]) }
    }

    /// ykman's code for `serial` on each key, read within one 30 s step.
    static func codesOnBothKeys(_ session: VirtualKeySession) async throws -> [String] {
        for _ in 0..<3 {
            let step = unixTime() / 30
            var codes: [String] = []
            for reader in [VirtualKeySession.reader, VirtualKeySession.secondReader] {
                let code = try await session.ykman(["oath", "accounts", "code", "--single", serial], reader: reader)
                #expect(code.status == 0, "\(reader): \(code)")
                codes.append(code.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if unixTime() / 30 == step { return codes }
        }
        Issue.record("three tries each straddled a 30 s step")
        return []
    }

    @Test("enroll --touch --also-reader: the account with touch on both keys (ykman), the same codes, one enable; auth works with the backup key alone")
    func backupKey() async throws {
        try await Self.withServerAndKeys { server, session, environment in
            for reader in [VirtualKeySession.reader, VirtualKeySession.secondReader] {
                let added = try await session.ykman(["oath", "accounts", "add", "-f", "plain", "JBSWY3DPEHPK3PXP"], reader: reader)
                #expect(added.status == 0, "\(added)")
            }
            let enrolled = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, Self.enroll + ["--touch", "--also-reader", "PCD 00 01"], environment: environment)
            #expect(enrolled.status == 0, "\(enrolled)")
            #expect(enrolled.stdout == Self.serial + "\n", "\(enrolled)")
            #expect(enrolled.stderr.contains("(codes from the YubiKey, and from the backup key in \(VirtualKeySession.secondReader))"), "\(enrolled)")
            let stats = try server.stats()
            #expect(stats.count("EnableMFADevice") == 1 && stats.virtualDevices == 1 && stats.mfaRejected == 0, "\(stats)")

            // Several accounts: ykman shows the touch account without a code, on both keys.
            for reader in [VirtualKeySession.reader, VirtualKeySession.secondReader] {
                let listed = try await session.ykman(["oath", "accounts", "code"], reader: reader)
                #expect(listed.status == 0, "\(listed)")
                #expect(listed.lines.contains { $0.hasPrefix(Self.serial) && $0.hasSuffix("[Requires Touch]") }, "\(reader): \(listed)")
                #expect(listed.lines.contains { $0.hasPrefix("plain") && !$0.hasSuffix("[Requires Touch]") }, "\(reader): \(listed)")
            }
            let codes = try await Self.codesOnBothKeys(session)
            #expect(codes.count == 2 && codes[0] == codes[1] && codes[0].count == 6, "\(codes)")

            // The main key is lost: the backup alone makes a code the server accepts.
            let deleted = try await session.ykman(["oath", "accounts", "delete", "-f", Self.serial])
            #expect(deleted.status == 0, "\(deleted)")
            let auth = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["auth", "--profile", "dev"],
                environment: environment.merging(["LATCHKEY_READER": VirtualKeySession.secondReader]) { $1 }, timeout: 120)
            #expect(auth.status == 0 && auth.stdout.hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"), "\(auth)")
            let after = try server.stats()
            #expect(after.mfaAccepted == 1 && after.mfaRejected == 0, "\(after)")
        }
    }

    @Test("A backup reader that does not exist, the main key again, or a backup holding the ARN already: one line, exit 11 / 64 / 7, nothing created; a backup key whose OATH password is not to be had: exit 12, the account gone from both keys, the device deleted")
    func backupFailures() async throws {
        try await Self.withServerAndKeys { server, session, environment in
            let missing = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, Self.enroll + ["--also-reader", "No Such Reader"], environment: environment)
            #expect(missing.status == 11, "\(missing)")
            #expect(missing.stderr.hasPrefix("latchkey: the backup key (--also-reader): no reader name contains 'No Such Reader'"), "\(missing)")
            #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing)")

            let same = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, Self.enroll + ["--also-reader", "pcd 00 00"], environment: environment)
            #expect(same.status == 64, "\(same)")
            #expect(same.stderr == "latchkey: --also-reader found the same key as the main one (\(VirtualKeySession.reader)): name the backup key's reader, and the main key's with --reader\n", "\(same)")
            // The device's ARN is known in advance: a backup key that has it already is refused before it exists.
            let planted = try await session.ykman(["oath", "accounts", "add", "-f", Self.serial, "JBSWY3DPEHPK3PXP"], reader: VirtualKeySession.secondReader)
            #expect(planted.status == 0, "\(planted)")
            let taken = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, Self.enroll + ["--also-reader", "PCD 00 01"], environment: environment)
            #expect(taken.status == 7, "\(taken)")
            #expect(taken.stderr == "latchkey: account '\(Self.serial)' already exists on the key in \(VirtualKeySession.secondReader)\n", "\(taken)")
            #expect(try await session.ykman(["oath", "accounts", "delete", "-f", Self.serial], reader: VirtualKeySession.secondReader).status == 0)
            var stats = try server.stats()
            #expect(stats.count("CreateVirtualMFADevice") == 0 && stats.virtualDevices == 0, "\(stats)")

            let password = try await session.ykman(["oath", "access", "change", "-n", "backup-pw"], reader: VirtualKeySession.secondReader)
            #expect(password.status == 0, "\(password)")
            let locked = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, Self.enroll + ["--also-reader", "PCD 00 01"], environment: environment)
            #expect(locked.status == 12, "\(locked)")
            #expect(locked.stderr.hasPrefix("latchkey: the backup key in \(VirtualKeySession.secondReader): "), "\(locked)")
            #expect(locked.stderr.hasSuffix("; the new device was removed\n") && locked.stderr.split(separator: "\n").count == 1, "\(locked)")
            stats = try server.stats()
            #expect(stats.count("CreateVirtualMFADevice") == 1 && stats.count("DeleteVirtualMFADevice") == 1, "\(stats)")
            #expect(stats.count("EnableMFADevice") == 0 && stats.virtualDevices == 0, "\(stats)")
            let main = try await session.ykman(["oath", "accounts", "list"])
            let backup = try await session.ykman(["oath", "accounts", "list", "-p", "backup-pw"], reader: VirtualKeySession.secondReader)
            #expect(main.status == 0 && main.stdout.isEmpty, "\(main)")
            #expect(backup.status == 0 && backup.stdout.isEmpty, "\(backup)")
            let config = String(decoding: try readBytes(session.home + "/.aws/config"), as: UTF8.self)
            #expect(config == "[profile dev]\nregion = eu-west-1\n", "\(config)")
        }
    }
}
