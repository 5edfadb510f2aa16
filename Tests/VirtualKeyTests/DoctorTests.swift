import Foundation
import TestSupport
import Testing

/// `latchkey doctor` against the real stack: pcscd with vsmartcard's vpcd
/// and the virtual key. Takes turns on vpcd's port with the other suites here
/// through scripts/virtual-key-env's lock, like LatchkeyOnKeyTests.
@Suite(
    "latchkey doctor against the virtual key on pcscd", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct DoctorOnKeyTests {
    /// A root with the rules installed for group latchkey (which exists) and
    /// no /proc, so what the checks find comes from pcscd and this test.
    static func preparedRoot(home: String) async throws -> URL {
        let root = URL(fileURLWithPath: home).appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try writeBytes(root.appendingPathComponent("etc/group").path, Array("latchkey:x:990:\n".utf8))
        let setup = try await LatchkeyOnKeyTests.latchkey(home: home, ["setup", "--root", root.path])
        #expect(setup.status == 0, "\(setup)")
        return root
    }

    /// `latchkey doctor --root ROOT` with STS out of reach (a warning only).
    static func doctor(home: String, root: URL, _ arguments: [String] = []) async throws -> ProcessResult {
        try await LatchkeyOnKeyTests.latchkey(
            home: home, ["doctor", "--root", root.path] + arguments,
            environment: ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1"])
    }

    /// The text line for `title`, e.g. "✓ readers found: …".
    static func line(_ result: ProcessResult, _ title: String) -> String? {
        result.lines.first { $0.dropFirst(2).hasPrefix(title + ":") }
    }

    @Test("With the virtual key in: ✓ pcscd, ✓ polkit, ✓ readers, ✓ OATH applet with version and no password; exit 0 when nothing fails")
    func keyPresent() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let root = try await Self.preparedRoot(home: session.home)
        try await session.withKey {
            let result = try await Self.doctor(home: session.home, root: root)
            #expect(result.status == 0, "every check passes or only warns: \(result)")
            #expect(result.stderr.isEmpty, "\(result)")
            #expect(Self.line(result, "pcscd reachable") == "✓ pcscd reachable: pcscd answered SCardEstablishContext", "\(result)")
            #expect(Self.line(result, "polkit allows this user")?.hasPrefix("✓ polkit allows this user: access_pcsc allowed; access_card allowed for \(VirtualKeySession.reader)") == true, "\(result)")
            let readers = Self.line(result, "readers found") ?? ""
            #expect(readers.hasPrefix("✓ ") && readers.contains(VirtualKeySession.reader), "\(result)")
            let oath = Self.line(result, "OATH applets found") ?? ""
            #expect(oath.hasPrefix("✓ OATH applets found: \(VirtualKeySession.reader): OATH "), "\(result)")
            #expect(oath.contains(", no password"), "\(result)")
            #expect(Self.line(result, "no other program holding the key")?.hasPrefix("✓ ") == true, "\(result)")
            #expect(Self.line(result, "clock in step with STS")?.hasPrefix("⚠ ") == true, "\(result)")

            // The version doctor shows is the one `latchkey devices` reads.
            let devices = try await LatchkeyOnKeyTests.latchkey(home: session.home, ["devices", "--json"])
            let listing = try JSONSerialization.jsonObject(with: Data(devices.stdoutBytes)) as? [String: Any]
            let reports = listing?["readers"] as? [[String: Any]] ?? []
            let version = try #require(reports.first { $0["reader"] as? String == VirtualKeySession.reader }?["oathVersion"] as? String, "\(devices)")
            #expect(oath.contains("OATH \(version), no password"), "\(oath) vs \(version)")

            let json = try await Self.doctor(home: session.home, root: root, ["--json"])
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdoutBytes)) as? [String: Any]
            let checks = parsed?["checks"] as? [[String: Any]] ?? []
            let statuses = Dictionary(uniqueKeysWithValues: checks.map { ($0["name"] as? String ?? "", $0["status"] as? String ?? "") })
            #expect(statuses["pcscd"] == "ok" && statuses["readers"] == "ok" && statuses["oath"] == "ok", "\(json)")
            #expect(!statuses.values.contains("fail"), "\(json)")
        }
    }

    @Test("A password-protected applet is reported as such")
    func passwordProtected() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let root = try await Self.preparedRoot(home: session.home)
        try await session.withKey {
            let set = try await LatchkeyOnKeyTests.latchkey(
                home: session.home, ["key", "password", "set"], environment: ["LATCHKEY_NEW_OATH_PASSWORD": "doctor's orders"])
            #expect(set.status == 0, "\(set)")
            let result = try await Self.doctor(home: session.home, root: root)
            let oath = Self.line(result, "OATH applets found") ?? ""
            #expect(oath.hasPrefix("✓ ") && oath.hasSuffix(", password-protected"), "\(result)")
        }
    }

    @Test("Backup keys: a profile's account on one key only is ⚠ with --also-reader in the fix (LIST, no CALCULATE); on both keys ✓; a key with an OATH password makes it – not checked")
    func backupKeys() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory(), twoKeys: true)
        let root = try await Self.preparedRoot(home: session.home)
        let serial = "arn:aws:iam::123456789012:mfa/alice"
        try FileManager.default.createDirectory(atPath: session.home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(session.home + "/.aws/config", Array(
            "[profile dev]\nmfa_serial = \(serial)\nlatchkey_mfa = yubikey\n\n[profile plain]\nregion = eu-west-1\n".utf8))
        let title = "MFA accounts on more than one key"
        try await session.withKey {
            let added = try await session.ykman(["oath", "accounts", "add", "-f", "--touch", serial, "JBSWY3DPEHPK3PXP"])
            #expect(added.status == 0, "\(added)")
            session.clearLog()
            let single = try await Self.doctor(home: session.home, root: root)
            #expect(single.status == 0, "a warning is not a failure: \(single)")
            #expect(Self.line(single, title) == "⚠ \(title): dev: only on \(VirtualKeySession.reader)", "\(single)")
            #expect(session.instructions().contains("LIST") && !session.instructions().contains("CALCULATE"), "\(session.instructions())")
            let json = try await Self.doctor(home: session.home, root: root, ["--json"])
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdoutBytes)) as? [String: Any]
            let check = (parsed?["checks"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "mfa-backup" }
            #expect(check?["status"] as? String == "warn" && (check?["fix"] as? String)?.contains("--also-reader BACKUP") == true, "\(json)")

            let copied = try await session.ykman(["oath", "accounts", "add", "-f", "--touch", serial, "JBSWY3DPEHPK3PXP"], reader: VirtualKeySession.secondReader)
            #expect(copied.status == 0, "\(copied)")
            let both = try await Self.doctor(home: session.home, root: root)
            #expect(Self.line(both, title) == "✓ \(title): dev: on \(VirtualKeySession.reader), \(VirtualKeySession.secondReader)", "\(both)")

            #expect(try await session.ykman(["oath", "accounts", "delete", "-f", serial]).status == 0)
            #expect(try await session.ykman(["oath", "access", "change", "-n", "doctor's orders"]).status == 0)
            let locked = try await Self.doctor(home: session.home, root: root)
            #expect(
                Self.line(locked, title) == "– \(title): not checked: OATH password on \(VirtualKeySession.reader), whose accounts are not listed without it: dev: on \(VirtualKeySession.secondReader)",
                "\(locked)")
        }
    }
}
