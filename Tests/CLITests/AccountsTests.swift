import Foundation
import OATH
import Testing

@Suite("latchkey accounts and code (sealed)")
struct AccountsTests {
    @Test("accounts add reads a base32 secret from stdin (any case, spaces, newline) and code prints oathtool's code")
    func addBase32ThenCode() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        home.forbid(secret: secret)
        let spaced = Base32.encode(secret).lowercased().enumerated().map { $0.offset % 4 == 3 ? "\($0.element) " : "\($0.element)" }.joined()
        let added = try home.run(["accounts", "add", "alice", "--sealed", "--scrypt-log2n", "10"], stdin: spaced + "\n")
        #expect(added.status == 0, "\(added)")
        #expect(added.stdout.isEmpty)
        #expect(added.stderr == "Added 'alice' to \(home.vaultFile)\n")
        try expectTOTP(secret) { try home.code("alice") }
        try expectTOTP(secret) { try home.code(nil) }  // the only account
        #expect(try home.list() == ["alice"])
    }

    @Test("accounts add reads an otpauth URI from stdin and takes its issuer, algorithm, digits and period; NAME replaces the label's name")
    func addFromURI() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret(32)
        home.forbid(secret: secret)
        let uri = "otpauth://totp/ACME%20Co:label-name?secret=\(Base32.encode(secret))&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"
        let added = try home.run(["accounts", "add", "bob", "--sealed", "--scrypt-log2n", "10"], stdin: uri)
        #expect(added.status == 0, "\(added)")
        #expect(try home.list() == ["60/ACME Co:bob"])
        try expectTOTP(secret, algorithm: .sha256, digits: 8, period: 60) { try home.code("bob") }
        try expectTOTP(secret, algorithm: .sha256, digits: 8, period: 60) { try home.code("60/ACME Co:bob") }
    }

    @Test("Flags override the URI's issuer, algorithm, digits and period")
    func flagsOverrideURI() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        home.forbid(secret: secret)
        let uri = "otpauth://totp/Old:x?secret=\(Base32.encode(secret))&issuer=Old&algorithm=SHA1&digits=6&period=30"
        let added = try home.run(
            ["accounts", "add", "carol", "--sealed", "--scrypt-log2n", "10", "--issuer", "New", "--algorithm", "sha512",
             "--digits", "7", "--period", "45"],
            stdin: uri)
        #expect(added.status == 0, "\(added)")
        let json = try home.run(["accounts", "list", "--sealed", "--json"])
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(accounts.count == 1)
        #expect(accounts.first?["id"] as? String == "45/New:carol")
        #expect(accounts.first?["issuer"] as? String == "New")
        #expect(accounts.first?["algorithm"] as? String == "SHA512")
        #expect(accounts.first?["digits"] as? Int == 7)
        #expect(accounts.first?["period"] as? Int == 45)
        try expectTOTP(secret, algorithm: .sha512, digits: 7, period: 45) { try home.code("carol") }
    }

    @Test("An HOTP account's code advances and persists its counter: three runs give oathtool's counters 0, 1, 2")
    func hotpAdvances() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        try home.add("door", secret: secret, flags: ["--hotp"])
        for counter: UInt64 in 0..<3 {
            let result = try home.code("door")
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == (try oathtool(secret, counter: counter)) + "\n", "counter \(counter)")
        }
        #expect(try home.list() == ["door  [HOTP]"])
    }

    @Test("Four `code` runs at once on one HOTP account each get a different counter: together oathtool's counters 0 to 3")
    func concurrentHOTP() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        try home.add("door", secret: secret, flags: ["--hotp"])
        let running = try (0..<4).map { _ in try home.start(["code", "door", "--sealed"]) }
        let codes = try running.map { try $0.wait() }.map { $0.stdout.trimmingCharacters(in: .newlines) }
        let expected = try (0..<4).map { try oathtool(secret, counter: UInt64($0)) }
        #expect(codes.sorted() == expected.sorted())
        #expect(try home.code("door").stdout == (try oathtool(secret, counter: 4)) + "\n")
    }

    @Test("An account name with a control character cannot break the one-line error rule (refused at add, or escaped later)",
          arguments: ["bad\nname", "esc\u{1B}[31mred", "tab\there", "del\u{7F}"])
    func controlCharactersInNames(name: String) throws {
        try requireBinary()
        let home = try TestHome()
        try home.add("alice", secret: randomSecret())
        let added = try home.run(["accounts", "add", name, "--sealed"], stdin: Base32.encode(randomSecret()))
        #expect(added.status == 0 || added.status == Exit.invalidInput, "\(added)")
        // The run helper checks that this error is exactly one line.
        let result = try home.code("no-such-account")
        #expect(result.status == Exit.accountNotFound, "\(result)")
        #expect(!result.stderr.contains("\u{1B}"), "a terminal escape reached stderr: \(result)")
    }

    @Test("HOTP starts at --counter, or at the URI's counter")
    func hotpStartingCounter() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        try home.add("five", secret: secret, flags: ["--hotp", "--counter", "5", "--digits", "8"])
        #expect(try home.code("five").stdout == (try oathtool(secret, digits: 8, counter: 5)) + "\n")
        #expect(try home.code("five").stdout == (try oathtool(secret, digits: 8, counter: 6)) + "\n")

        let uri = "otpauth://hotp/Door:x?secret=\(Base32.encode(secret))&counter=3"
        let added = try home.run(["accounts", "add", "uri", "--sealed"], stdin: uri)
        #expect(added.status == 0, "\(added)")
        #expect(try home.code("Door:uri").stdout == (try oathtool(secret, counter: 3)) + "\n")
    }

    @Test("An AWS MFA ARN is an account name: listed unchanged, found exactly and by a unique part")
    func arnNames() throws {
        try requireBinary()
        let home = try TestHome()
        let arn = "arn:aws:iam::123456789012:mfa/alice"
        let secret = randomSecret()
        try home.add(arn, secret: secret)
        try home.add("arn:aws:iam::123456789012:mfa/bob", secret: randomSecret())
        #expect(try home.list() == [arn, "arn:aws:iam::123456789012:mfa/bob"])
        try expectTOTP(secret) { try home.code(arn) }
        try expectTOTP(secret) { try home.code("MFA/ALICE") }
    }

    @Test("accounts list prints ids sorted and --json prints each account's fields, never a secret")
    func listAndJSON() throws {
        try requireBinary()
        let home = try TestHome()
        try home.add("zed", secret: randomSecret())
        try home.add("alice", secret: randomSecret(), flags: ["--issuer", "AWS"])
        try home.add("door", secret: randomSecret(), flags: ["--hotp", "--algorithm", "SHA256"])
        try home.add("slow", secret: randomSecret(64), flags: ["--period", "60", "--digits", "8"])
        #expect(try home.list() == ["60/slow", "AWS:alice", "door  [HOTP]", "zed"])

        let json = try home.run(["accounts", "list", "--sealed", "--json"])
        #expect(json.status == 0)
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(accounts.compactMap { $0["id"] as? String } == ["60/slow", "AWS:alice", "door", "zed"])
        let byID = Dictionary(uniqueKeysWithValues: accounts.map { ($0["id"] as? String ?? "", $0) })
        let alice = try #require(byID["AWS:alice"])
        #expect(alice["issuer"] as? String == "AWS")
        #expect(alice["name"] as? String == "alice")
        #expect(alice["type"] as? String == "totp")
        #expect(alice["algorithm"] as? String == "SHA1")
        #expect(alice["digits"] as? Int == 6)
        #expect(alice["period"] as? Int == 30)
        #expect(alice["source"] as? String == "sealed")
        let door = try #require(byID["door"])
        #expect(door["type"] as? String == "hotp")
        #expect(door["algorithm"] as? String == "SHA256")
        #expect(door["period"] == nil)
        #expect(door["issuer"] == nil)
        #expect(byID["60/slow"]?["digits"] as? Int == 8)
        for account in accounts {
            #expect(account["secret"] == nil)
            #expect(Set(account.keys).isSubset(of: ["id", "issuer", "name", "type", "algorithm", "digits", "period", "touch", "source"]))
        }
    }

    @Test("accounts list with no vault prints nothing (or [] with --json) and asks for no passphrase")
    func listWithoutVault() throws {
        try requireBinary()
        let home = try TestHome()
        let plain = try home.run(["accounts", "list", "--sealed"], passphrase: .some(nil))
        #expect(plain.status == 0 && plain.stdout.isEmpty, "\(plain)")
        let json = try home.run(["accounts", "list", "--sealed", "--json"], passphrase: .some(nil))
        #expect(json.status == 0 && json.stdout == "[]\n", "\(json)")
        #expect(!FileManager.default.fileExists(atPath: home.vaultFile))
    }

    @Test("accounts delete removes an exact id; a partial id is refused with exit 2, naming the match, and nothing is deleted")
    func delete() throws {
        try requireBinary()
        let home = try TestHome()
        try home.add("alice", secret: randomSecret(), flags: ["--issuer", "AWS"])
        try home.add("bob", secret: randomSecret(), flags: ["--issuer", "AWS"])
        let before = home.vaultBytes

        let partial = try home.run(["accounts", "delete", "alice", "--sealed"])
        #expect(partial.status == Exit.accountNotFound, "\(partial)")
        #expect(partial.stderr.contains("AWS:alice"))
        #expect(home.vaultBytes == before)

        let missing = try home.run(["accounts", "delete", "carol", "--sealed"])
        #expect(missing.status == Exit.accountNotFound, "\(missing)")
        #expect(missing.stderr.contains("AWS:alice") && missing.stderr.contains("AWS:bob"), "the candidates are listed")
        let ambiguous = try home.run(["accounts", "delete", "aws", "--sealed"])
        #expect(ambiguous.status == Exit.accountNotFound, "\(ambiguous)")
        #expect(ambiguous.stderr.contains("AWS:alice") && ambiguous.stderr.contains("AWS:bob"))
        #expect(home.vaultBytes == before)

        let deleted = try home.run(["accounts", "delete", "AWS:alice", "--sealed"])
        #expect(deleted.status == 0, "\(deleted)")
        #expect(deleted.stdout.isEmpty)
        #expect(try home.list() == ["AWS:bob"])
    }

    @Test("accounts delete with no vault is exit 2 and creates nothing")
    func deleteWithoutVault() throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["accounts", "delete", "x", "--sealed"])
        #expect(result.status == Exit.accountNotFound, "\(result)")
        #expect(result.stderr.contains(home.vaultFile))
        #expect(!FileManager.default.fileExists(atPath: home.vaultFile))
    }

    @Test("code with an ambiguous, unknown or missing name is exit 2 and lists the candidates")
    func codeSelectionErrors() throws {
        try requireBinary()
        let home = try TestHome()
        let none = try home.code("alice")
        #expect(none.status == Exit.accountNotFound, "no vault: \(none)")

        let empty = try home.run(["vault", "init", "--scrypt-log2n", "10"])
        #expect(empty.status == 0, "\(empty)")
        let noAccounts = try home.code(nil)
        #expect(noAccounts.status == Exit.accountNotFound, "\(noAccounts)")

        try home.add("alice", secret: randomSecret(), flags: ["--issuer", "AWS"])
        try home.add("alice", secret: randomSecret(), flags: ["--issuer", "GitHub"])
        try home.add("bob", secret: randomSecret())

        let ambiguous = try home.code("ALICE")
        #expect(ambiguous.status == Exit.accountNotFound, "\(ambiguous)")
        #expect(ambiguous.stderr.contains("AWS:alice") && ambiguous.stderr.contains("GitHub:alice"))
        #expect(!ambiguous.stderr.contains("bob"), "only the matching ids are listed")

        let unknown = try home.code("carol")
        #expect(unknown.status == Exit.accountNotFound, "\(unknown)")
        for id in ["AWS:alice", "GitHub:alice", "bob"] { #expect(unknown.stderr.contains(id)) }

        let unnamed = try home.code(nil)
        #expect(unnamed.status == Exit.accountNotFound, "\(unnamed)")
        for id in ["AWS:alice", "GitHub:alice", "bob"] { #expect(unnamed.stderr.contains(id)) }

        #expect(try home.code("github").status == 0)
    }

    @Test("Adding an existing id is exit 7 and changes nothing; --force replaces the secret")
    func duplicateAdd() throws {
        try requireBinary()
        let home = try TestHome()
        let first = randomSecret()
        let second = randomSecret()
        try home.add("alice", secret: first)
        let before = home.vaultBytes
        home.forbid(secret: second)
        let again = try home.run(["accounts", "add", "alice", "--sealed"], stdin: Base32.encode(second))
        #expect(again.status == Exit.alreadyExists, "\(again)")
        #expect(again.stderr.contains("--force"))
        #expect(home.vaultBytes == before)
        try expectTOTP(first) { try home.code("alice") }

        let forced = try home.run(["accounts", "add", "alice", "--sealed", "--force"], stdin: Base32.encode(second))
        #expect(forced.status == 0, "\(forced)")
        try expectTOTP(second) { try home.code("alice") }
        #expect(try home.list() == ["alice"])
    }

    @Test("Bad secrets and URIs on stdin are exit 6, echo nothing of the input, and create no vault", arguments: [
        "JBSWY3DP1HPK3PXP", "", "   \n", "JBS", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
        "otpauth://motp/x?secret=JBSWY3DPEHPK3PXP", "otpauth://totp/x?issuer=A", "otpauth://totp/x?secret=JBSWY3DP%ZZ",
    ])
    func invalidInput(input: String) throws {
        try requireBinary()
        let home = try TestHome()
        home.forbid("JBSWY3DP")
        let result = try home.run(["accounts", "add", "x", "--sealed", "--scrypt-log2n", "10"], stdin: input)
        #expect(result.status == Exit.invalidInput, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: home.vaultFile))
    }

    @Test("A secret on stdin that is not UTF-8 is exit 6")
    func nonUTF8Input() throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["accounts", "add", "x", "--sealed", "--scrypt-log2n", "10"], stdinBytes: [0x4A, 0xFF, 0xFE, 0x42])
        #expect(result.status == Exit.invalidInput, "\(result)")
    }

    @Test("Bad flags are usage errors (exit 64) with nothing on stdout")
    func usageErrors() throws {
        try requireBinary()
        let home = try TestHome()
        for arguments in [
            ["code", "alice"],  // no --sealed
            ["accounts", "add", "x", "--sealed", "--digits", "9"],
            ["accounts", "add", "x", "--sealed", "--algorithm", "MD5"],
            ["accounts", "add", "x", "--sealed", "--hotp", "--period", "60"],
            ["accounts", "add", "x", "--sealed", "--counter", "3"],
            ["accounts", "add", "x", "--sealed", "--scrypt-log2n", "9"],
            ["vault", "init", "--scrypt-log2n", "21"],
            ["code", "--sealed", "--no-such-flag"],
        ] {
            let result = try home.run(arguments, stdin: "JBSWY3DPEHPK3PXP")
            #expect(result.status == Exit.usage, "\(result)")
            #expect(!result.stderr.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: home.vaultFile))
    }
}
