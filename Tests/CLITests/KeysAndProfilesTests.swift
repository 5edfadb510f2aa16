import Foundation
import Testing
import TestSupport

@Suite("latchkey keys and profiles")
struct KeysAndProfilesTests {
    static let keyID = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    @Test("keys add seals a key id and secret from stdin; list shows the id, never the secret; remove needs the exact profile")
    func keysLifecycle() throws {
        try requireBinary()
        let home = try TestHome()
        home.forbid(Self.secret)
        #expect(try home.run(["vault", "init", "--scrypt-log2n", "10"]).status == 0)
        let added = try home.run(["keys", "add", "work"], stdin: "\(Self.keyID)\n\(Self.secret)\n")
        #expect(added.status == 0, "\(added)")
        #expect(try home.run(["keys", "add", "work"], stdin: "\(Self.keyID)\n\(Self.secret)\n").status == Exit.alreadyExists)
        #expect(try home.run(["keys", "add", "work", "--force"], stdin: "\(Self.keyID)\r\n\(Self.secret)\r\n").status == 0)

        let listed = try home.run(["keys", "list"])
        #expect(listed.stdout == "work\t\(Self.keyID)\n", "\(listed)")
        let json = try home.run(["keys", "list", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: String]]
        #expect(parsed == [["profile": "work", "access_key_id": Self.keyID]])

        // The secret is nowhere under HOME in plain text.
        let enumerator = FileManager.default.enumerator(atPath: home.home)
        while let relative = enumerator?.nextObject() as? String {
            let bytes = (try? readBytes(home.home + "/" + relative)) ?? []
            #expect(!String(decoding: bytes, as: UTF8.self).contains(Self.secret), "\(relative)")
        }

        let missing = try home.run(["keys", "remove", "wor"])
        #expect(missing.status == Exit.accountNotFound && missing.stderr.contains("profiles: work"), "\(missing)")
        #expect(try home.run(["keys", "remove", "work"]).status == 0)
        #expect(try home.run(["keys", "list"]).stdout.isEmpty)
    }

    @Test("keys add refuses malformed input (one line, a bad key id, a short secret) with exit 6 and seals nothing")
    func keysRejectBadInput() throws {
        try requireBinary()
        let home = try TestHome()
        home.forbid(Self.secret)
        #expect(try home.run(["vault", "init", "--scrypt-log2n", "10"]).status == 0)
        let before = home.vaultBytes
        for input in ["\(Self.keyID)\n", "akia-lower-case-id\n\(Self.secret)\n", "\(Self.keyID)\nshort\n", "\(Self.keyID)\n\(Self.secret) with spaces\n"] {
            let result = try home.run(["keys", "add", "p"], stdin: input)
            #expect(result.status == Exit.invalidInput, "\(result)")
        }
        #expect(home.vaultBytes == before, "the vault is unchanged")
    }

    @Test("profiles merges config and credentials, redacts secrets, and reports a malformed file by name and line")
    func profiles() throws {
        try requireBinary()
        let home = try TestHome()
        home.forbid(Self.secret)
        let aws = home.home + "/.aws"
        try FileManager.default.createDirectory(atPath: aws, withIntermediateDirectories: true)
        try writeBytes(aws + "/config", Array("[default]\nregion = eu-west-1\n\n[profile work]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = yubikey\n".utf8))
        try writeBytes(aws + "/credentials", Array("[default]\naws_access_key_id = \(Self.keyID)\naws_secret_access_key = \(Self.secret)\n".utf8))
        let json = try home.run(["profiles", "--json"])
        #expect(json.status == 0, "\(json)")
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let profiles = document?["profiles"] as? [String: [String: Any]]
        #expect(profiles?["default"]?["aws_secret_access_key"] as? String == "<redacted>")
        #expect(profiles?["default"]?["region"] as? String == "eu-west-1")
        #expect(profiles?["work"]?["latchkey_mfa"] as? String == "yubikey")
        #expect(document?["sso_sessions"] != nil)

        try writeBytes(aws + "/config", Array("[default]\nregion = eu-west-1\n[profile broken\n".utf8))
        let broken = try home.run(["profiles"])
        #expect(broken.status == Exit.invalidInput, "\(broken)")
        #expect(broken.stderr.contains("\(aws)/config, line 3"), "\(broken)")
    }
}
