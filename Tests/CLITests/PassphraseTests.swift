import Foundation
import OATH
import Testing

@Suite("latchkey passphrases and the vault command")
struct PassphraseTests {
    @Test("--passphrase-file is read without its trailing newline (LF or CRLF) and wins over LATCHKEY_PASSPHRASE")
    func passphraseFile() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        try home.add("alice", secret: secret)
        let lf = try home.file("pass-lf", home.passphrase + "\n")
        let crlf = try home.file("pass-crlf", home.passphrase + "\r\n")
        let bare = try home.file("pass-bare", home.passphrase)
        for file in [lf, crlf, bare] {
            try expectTOTP(secret) { try home.run(["code", "alice", "--sealed", "--passphrase-file", file], passphrase: .some(nil)) }
        }
        try expectTOTP(secret) {
            try home.run(["code", "alice", "--sealed", "--passphrase-file", lf], passphrase: "not-the-passphrase-1")
        }
        // A file holding a wrong passphrase is a wrong passphrase even when the variable is right.
        let wrong = try home.file("pass-wrong", "not-the-passphrase-2\n")
        home.forbid("not-the-passphrase-2")
        #expect(try home.run(["code", "alice", "--sealed", "--passphrase-file", wrong]).status == Exit.wrongPassphrase)
    }

    @Test("A missing passphrase file is exit 5 and an empty one exit 6, each one line naming the file")
    func badPassphraseFiles() throws {
        try requireBinary()
        let home = try TestHome()
        try home.add("alice", secret: randomSecret())
        let missing = home.root + "/io/does-not-exist"
        let result = try home.run(["code", "alice", "--sealed", "--passphrase-file", missing], passphrase: .some(nil))
        #expect(result.status == Exit.noPassphrase, "\(result)")
        #expect(result.stderr.contains(missing))
        let empty = try home.file("empty", "\n")
        let emptyResult = try home.run(["code", "alice", "--sealed", "--passphrase-file", empty], passphrase: .some(nil))
        #expect(emptyResult.status == Exit.invalidInput, "\(emptyResult)")
        #expect(emptyResult.stderr.contains(empty))
    }

    @Test("With no terminal and no passphrase every command fails at once with exit 5 and one line, instead of waiting")
    func noTerminalNoPassphrase() throws {
        try requireBinary()
        let home = try TestHome()
        // Creating a vault needs a new passphrase.
        let create = try home.run(["accounts", "add", "alice", "--sealed", "--scrypt-log2n", "10"], stdin: "JBSWY3DPEHPK3PXP", passphrase: .some(nil))
        #expect(create.status == Exit.noPassphrase, "\(create)")
        #expect(create.stderr.contains("LATCHKEY_PASSPHRASE"))
        #expect(!FileManager.default.fileExists(atPath: home.vaultFile))
        let initResult = try home.run(["vault", "init", "--scrypt-log2n", "10"], passphrase: .some(nil))
        #expect(initResult.status == Exit.noPassphrase, "\(initResult)")

        try home.add("alice", secret: randomSecret())
        let before = home.vaultBytes
        for arguments in [
            ["code", "alice", "--sealed"], ["accounts", "list", "--sealed"], ["accounts", "delete", "alice", "--sealed"],
            ["vault", "passwd"],
        ] {
            let result = try home.run(arguments, passphrase: .some(nil))
            #expect(result.status == Exit.noPassphrase, "\(result)")
            #expect(result.stderr.contains(home.vaultFile))
            #expect(result.seconds < 10, "must not wait for input: \(result.seconds) s")
        }
        // An empty variable counts as unset.
        #expect(try home.run(["code", "alice", "--sealed"], passphrase: "").status == Exit.noPassphrase)
        #expect(home.vaultBytes == before)
    }

    @Test("A wrong passphrase is exit 3 for every command, and the vault stays byte for byte")
    func wrongPassphrase() throws {
        try requireBinary()
        let home = try TestHome()
        try home.add("alice", secret: randomSecret())
        try home.add("door", secret: randomSecret(), flags: ["--hotp"])
        let before = home.vaultBytes
        let wrong = "not-the-passphrase-3"
        for (arguments, stdin) in [
            (["code", "alice", "--sealed"], nil), (["code", "door", "--sealed"], nil), (["accounts", "list", "--sealed"], nil),
            (["accounts", "list", "--sealed", "--json"], nil), (["accounts", "delete", "alice", "--sealed"], nil),
            (["accounts", "add", "bob", "--sealed"], "JBSWY3DPEHPK3PXP"), (["vault", "passwd"], nil),
        ] as [([String], String?)] {
            let result = try home.run(arguments, stdin: stdin, passphrase: wrong, environment: ["LATCHKEY_NEW_PASSPHRASE": "new-passphrase-xyz"])
            #expect(result.status == Exit.wrongPassphrase, "\(result)")
            #expect(result.errorLine == "latchkey: wrong passphrase for \(home.vaultFile)")
        }
        #expect(home.vaultBytes == before)
    }

    @Test("vault passwd re-seals under LATCHKEY_NEW_PASSPHRASE: the old passphrase fails, the new one opens the same accounts")
    func passwd() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        try home.add("alice", secret: secret, flags: ["--issuer", "AWS"])
        try home.add("door", secret: randomSecret(), flags: ["--hotp"])
        let old = home.passphrase
        let new = "new-passphrase-\(UUID().uuidString.prefix(6))"
        let changed = try home.run(["vault", "passwd"], environment: ["LATCHKEY_NEW_PASSPHRASE": new])
        #expect(changed.status == 0, "\(changed)")
        #expect(changed.stdout.isEmpty)

        #expect(try home.run(["accounts", "list", "--sealed"], passphrase: old).status == Exit.wrongPassphrase)
        home.passphrase = new
        #expect(try home.list() == ["AWS:alice", "door  [HOTP]"])
        try expectTOTP(secret) { try home.code("alice") }
        let info = try home.run(["vault", "info"], passphrase: .some(nil))
        #expect(info.stdout.contains("kdf: scrypt N=2^10 r=8 p=1"), "passwd keeps the KDF cost")
    }

    @Test("vault passwd without a new passphrase and no terminal is exit 5 naming LATCHKEY_NEW_PASSPHRASE, and changes nothing")
    func passwdWithoutNewPassphrase() throws {
        try requireBinary()
        let home = try TestHome()
        try home.add("alice", secret: randomSecret())
        let before = home.vaultBytes
        let result = try home.run(["vault", "passwd"])
        #expect(result.status == Exit.noPassphrase, "\(result)")
        #expect(result.stderr.contains("LATCHKEY_NEW_PASSPHRASE"))
        #expect(home.vaultBytes == before)
        let fromFile = try home.file("new", "file-new-passphrase\n")
        home.forbid("file-new-passphrase")
        let viaFile = try home.run(["vault", "passwd", "--new-passphrase-file", fromFile])
        #expect(viaFile.status == 0, "\(viaFile)")
        #expect(try home.run(["accounts", "list", "--sealed"], passphrase: "file-new-passphrase").status == 0)
    }

    @Test("vault info shows path, format and KDF without a passphrase; without a vault it is exit 1")
    func info() throws {
        try requireBinary()
        let home = try TestHome()
        let missing = try home.run(["vault", "info"], passphrase: .some(nil))
        #expect(missing.status == Exit.failure, "\(missing)")
        #expect(missing.stderr.contains(home.vaultFile))

        let created = try home.run(["vault", "init", "--scrypt-log2n", "11"])
        #expect(created.status == 0, "\(created)")
        let info = try home.run(["vault", "info"], passphrase: .some(nil))
        #expect(info.status == 0, "\(info)")
        #expect(info.stdout == "path: \(home.vaultFile)\nformat: 1\nkdf: scrypt N=2^11 r=8 p=1\ncipher: ChaCha20-Poly1305\n")
    }

    @Test("vault init creates an empty vault that accounts can be added to, and refuses to run twice (exit 7)")
    func vaultInit() throws {
        try requireBinary()
        let home = try TestHome()
        let created = try home.run(["vault", "init", "--scrypt-log2n", "10"])
        #expect(created.status == 0, "\(created)")
        #expect(created.stdout.isEmpty)
        let before = home.vaultBytes
        let again = try home.run(["vault", "init", "--scrypt-log2n", "10"])
        #expect(again.status == Exit.alreadyExists, "\(again)")
        #expect(home.vaultBytes == before)
        #expect(try home.list() == [])
        let secret = randomSecret()
        home.forbid(secret: secret)
        #expect(try home.run(["accounts", "add", "alice", "--sealed"], stdin: Base32.encode(secret)).status == 0)
        try expectTOTP(secret) { try home.code("alice") }
    }

    @Test("Without --scrypt-log2n the vault uses scrypt N=2^17, r=8, p=1 and works")
    func defaultCost() throws {
        try requireBinary()
        let home = try TestHome()
        let secret = randomSecret()
        home.forbid(secret: secret)
        let added = try home.run(["accounts", "add", "alice", "--sealed"], stdin: Base32.encode(secret))
        #expect(added.status == 0, "\(added)")
        let info = try home.run(["vault", "info"], passphrase: .some(nil))
        #expect(info.stdout.contains("kdf: scrypt N=2^17 r=8 p=1"), "\(info)")
        try expectTOTP(secret) { try home.code("alice") }
    }

    @Test("XDG_DATA_HOME, when absolute, moves the vault")
    func xdgDataHome() throws {
        try requireBinary()
        let home = try TestHome()
        let data = home.root + "/data"
        let secret = randomSecret()
        home.forbid(secret: secret)
        let added = try home.run(
            ["accounts", "add", "alice", "--sealed", "--scrypt-log2n", "10"], stdin: Base32.encode(secret),
            environment: ["XDG_DATA_HOME": data])
        #expect(added.status == 0, "\(added)")
        #expect(FileManager.default.fileExists(atPath: data + "/latchkey/vault.sealed"))
        #expect(!FileManager.default.fileExists(atPath: home.vaultFile))
    }
}
