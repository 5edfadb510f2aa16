import Foundation
import TestSupport
import Testing

/// Yubico's own client against the virtual key, through the real stack:
/// ykman 4.0.9 → pcscd → vsmartcard's vpcd → latchkey-virtual-key. Each
/// test brings the key up with scripts/virtual-key-env (which starts pcscd
/// when it is not running); they share vpcd's port, so they run one by one.
@Suite(
    "ykman against the virtual key on pcscd", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct YkmanIntegrationTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    @Test("ykman lists an empty key, adds accounts with PUT, and lists them; listing costs 8 SELECTs and 1 LIST")
    func listAndAdd() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey {
            let empty = try await session.ykman(["oath", "accounts", "list"])
            #expect(empty.status == 0, "\(empty)")
            #expect(empty.lines.isEmpty)
            #expect(session.instructions() == Array(repeating: "SELECT", count: 8) + ["LIST"])

            let add1 = try await session.ykman(["oath", "accounts", "add", "-f", "-i", "Example", "alice", Self.secret])
            #expect(add1.status == 0, "\(add1)")
            let add2 = try await session.ykman(["oath", "accounts", "add", "-f", "-a", "SHA512", "-d", "8", "-P", "60", "slow", Self.secret])
            #expect(add2.status == 0, "\(add2)")
            #expect(session.instructions().count(of: "PUT") == 2)

            let listed = try await session.ykman(["oath", "accounts", "list", "--oath-type", "--period"])
            #expect(listed.status == 0, "\(listed)")
            #expect(listed.lines.sorted() == ["60/slow, TOTP, 60", "Example:alice, TOTP, 30"])
        }
        let accounts = try session.stateJSON()["accounts"] as? [[String: Any]]
        #expect(accounts?.compactMap { $0["name"] as? String } == ["Example:alice", "60/slow"])
        #expect(accounts?.last?["algorithm"] as? String == "SHA512")
    }

    @Test("ykman's code for an account it added equals oathtool's, also after the key restarts from its state file")
    func codesMatchOathtool() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey {
            let added = try await session.ykman(["oath", "accounts", "add", "-f", "aws", Self.secret])
            #expect(added.status == 0, "\(added)")
        }
        session.clearLog()
        try await session.withKey {
            let before = unixTime()
            let code = try await session.ykman(["oath", "accounts", "code", "--single", "aws"])
            let after = unixTime()
            #expect(code.status == 0, "\(code)")
            let expected = try await oathtoolCodes(base32: Self.secret, at: [before, after])
            #expect(expected.contains(code.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(code.stdout) vs \(expected)")
            // What ykman 4.0.9 sends for one TOTP code (30 s period): it
            // probes for other applets, selects OATH twice, and takes the
            // code from CALCULATE ALL.
            #expect(session.instructions() == Array(repeating: "SELECT", count: 8) + ["CALCULATE_ALL"])

            let long = try await session.ykman(["oath", "accounts", "add", "-f", "-a", "SHA256", "-d", "8", "-P", "60", "long", Self.secret])
            #expect(long.status == 0, "\(long)")
            session.clearLog()
            let start = unixTime()
            let longCode = try await session.ykman(["oath", "accounts", "code", "--single", "long"])
            let end = unixTime()
            #expect(longCode.status == 0, "\(longCode)")
            let expectedLong = try await oathtoolCodes(base32: Self.secret, algorithm: "sha256", digits: 8, period: 60, at: [start, end])
            #expect(expectedLong.contains(longCode.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(longCode.stdout) vs \(expectedLong)")
            // A period other than 30 s: CALCULATE ALL's value is for the
            // wrong time step, so ykman asks again with CALCULATE.
            #expect(session.instructions() == Array(repeating: "SELECT", count: 8) + ["CALCULATE_ALL", "CALCULATE"])
        }
    }

    @Test("ykman oath access change sets a password: list needs it, a wrong one fails, change and clear work")
    func password() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey {
            #expect(try await session.ykman(["oath", "accounts", "add", "-f", "locked", Self.secret]).status == 0)
            let set = try await session.ykman(["oath", "access", "change", "-n", "first secret"])
            #expect(set.status == 0, "\(set)")
            #expect(set.stdout.contains("Password updated"))
            #expect(session.instructions().count(of: "SET_CODE") == 1)

            let noPassword = try await session.ykman(["oath", "accounts", "list"])
            #expect(noPassword.status != 0)
            #expect(!noPassword.stdout.contains("locked"))
            let wrong = try await session.ykman(["oath", "accounts", "list", "-p", "not it"])
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("Authentication to the YubiKey failed"), "\(wrong)")

            session.clearLog()
            let right = try await session.ykman(["oath", "accounts", "list", "-p", "first secret"])
            #expect(right.status == 0, "\(right)")
            #expect(right.lines == ["locked"])
            #expect(session.instructions() == Array(repeating: "SELECT", count: 8) + ["VALIDATE", "LIST"])

            let change = try await session.ykman(["oath", "access", "change", "-p", "first secret", "-n", "second"])
            #expect(change.status == 0, "\(change)")
            #expect(try await session.ykman(["oath", "accounts", "list", "-p", "first secret"]).status != 0)
            #expect(try await session.ykman(["oath", "accounts", "list", "-p", "second"]).lines == ["locked"])
        }
        #expect(try session.stateJSON()["accessKey"] != nil)
        // The password is kept across restarts; then cleared.
        try await session.withKey {
            #expect(try await session.ykman(["oath", "accounts", "list"]).status != 0)
            let clear = try await session.ykman(["oath", "access", "change", "-p", "second", "--clear"])
            #expect(clear.status == 0, "\(clear)")
            #expect(try await session.ykman(["oath", "accounts", "list"]).lines == ["locked"])
        }
        #expect(try session.stateJSON()["accessKey"] == nil)
    }

    @Test("With --chunk 16 ykman reads long answers through SEND REMAINING and still gets oathtool's codes")
    func chunked() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let names = ["Some Issuer:first.account@example.com", "Some Issuer:second.account@example.com", "third"]
        try await session.withKey(["--chunk", "16"]) {
            for name in names {
                let added = try await session.ykman(["oath", "accounts", "add", "-f", name, Self.secret])
                #expect(added.status == 0, "\(added)")
            }
            session.clearLog()
            let before = unixTime()
            let codes = try await session.ykman(["oath", "accounts", "code"])
            let after = unixTime()
            #expect(codes.status == 0, "\(codes)")
            let expected = try await oathtoolCodes(base32: Self.secret, at: [before, after])
            #expect(codes.lines.count == 3)
            for (line, name) in zip(codes.lines, names) {
                #expect(line.hasPrefix(name))
                #expect(expected.contains(String(line.split(separator: " ").last ?? "")), "\(line)")
            }
            // 3 × (2 + name + 7) bytes in 16-byte pieces.
            let total = names.map { $0.utf8.count + 9 }.reduce(0, +)
            #expect(session.instructions().count(of: "SEND_REMAINING") == (total - 1) / 16)

            // Locked, even the SELECT answer (28 bytes) comes in pieces.
            #expect(try await session.ykman(["oath", "access", "change", "-n", "pieces"]).status == 0)
            let locked = try await session.ykman(["oath", "accounts", "list", "-p", "pieces"])
            #expect(locked.status == 0, "\(locked)")
            #expect(locked.lines.sorted() == names.sorted())
        }
    }

    @Test("A touch account: with --touch-delay 1 ykman waits and gets oathtool's code; never touched, it reports the timeout")
    func touch() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey(["--touch-delay", "1"]) {
            #expect(try await session.ykman(["oath", "accounts", "add", "-f", "--touch", "pressed", Self.secret]).status == 0)
            #expect(try await session.ykman(["oath", "accounts", "add", "-f", "plain", Self.secret]).status == 0)
            // Several matches: ykman shows the touch account without a code.
            let listed = try await session.ykman(["oath", "accounts", "code"])
            #expect(listed.lines.contains { $0.hasPrefix("pressed") && $0.hasSuffix("[Requires Touch]") }, "\(listed)")
            #expect(listed.seconds < 5)
            let before = unixTime()
            let code = try await session.ykman(["oath", "accounts", "code", "--single", "pressed"])
            let after = unixTime()
            #expect(code.status == 0, "\(code)")
            #expect(code.seconds >= 1)
            let expected = try await oathtoolCodes(base32: Self.secret, at: [before, after])
            #expect(expected.contains(code.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        try await session.withKey(["--touch", "never", "--touch-timeout", "1"]) {
            let code = try await session.ykman(["oath", "accounts", "code", "--single", "pressed"])
            #expect(code.status != 0)
            #expect(code.stderr.contains("Touch account timed out"), "\(code)")
            #expect(session.instructions().last == "CALCULATE")
        }
    }

    @Test("An HOTP account added by ykman gives RFC 4226's codes in order, and its counter survives a restart")
    func hotp() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        // base32 of the RFC 4226 secret "12345678901234567890".
        let rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        try await session.withKey {
            #expect(try await session.ykman(["oath", "accounts", "add", "-f", "-o", "HOTP", "counter", rfcSecret]).status == 0)
            for expected in RFCVectors.hotp.prefix(2) {
                let code = try await session.ykman(["oath", "accounts", "code", "--single", "counter"])
                #expect(code.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(code)")
            }
        }
        try await session.withKey {
            let code = try await session.ykman(["oath", "accounts", "code", "--single", "counter"])
            #expect(code.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == RFCVectors.hotp[2], "\(code)")
        }
    }

    @Test("ykman rename, delete and reset change what the key lists")
    func renameDeleteReset() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey {
            #expect(try await session.ykman(["oath", "accounts", "add", "-f", "Old:name", Self.secret]).status == 0)
            #expect(try await session.ykman(["oath", "accounts", "add", "-f", "other", Self.secret]).status == 0)
            let renamed = try await session.ykman(["oath", "accounts", "rename", "-f", "Old:name", "New:name"])
            #expect(renamed.status == 0, "\(renamed)")
            #expect(try await session.ykman(["oath", "accounts", "list"]).lines == ["New:name", "other"])
            let deleted = try await session.ykman(["oath", "accounts", "delete", "-f", "other"])
            #expect(deleted.status == 0, "\(deleted)")
            #expect(try await session.ykman(["oath", "accounts", "list"]).lines == ["New:name"])
            let salt = try session.stateJSON()["salt"] as? String
            let reset = try await session.ykman(["oath", "reset", "-f"])
            #expect(reset.status == 0, "\(reset)")
            #expect(try await session.ykman(["oath", "accounts", "list"]).lines.isEmpty)
            #expect(try session.stateJSON()["salt"] as? String != salt)
        }
    }
}
