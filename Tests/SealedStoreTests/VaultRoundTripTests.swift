import Foundation
import OATH
import SystemSupport
import TestSupport
import Testing

@testable import SealedStore

@Suite("Vault round trips")
struct VaultRoundTripTests {
    static let futureKind = VaultEntry.Kind(rawValue: "x-future-kind/v9")

    static func sampleEntries() -> [VaultEntry] {
        let totp = OATHCredential(
            issuer: "AWS", name: "arn:aws:iam::123456789012:mfa/alice", kind: .totp(period: 30), algorithm: .sha256,
            digits: 8, secret: Array("12345678901234567890".utf8))
        let hotp = OATHCredential(name: "door", kind: .hotp(counter: 41), secret: [0, 1, 2, 0xFF])
        return [
            SealedAccounts.entry(for: totp),
            SealedAccounts.entry(for: hotp),
            VaultEntry(
                kind: .awsAccessKey, name: "default",
                fields: ["access_key_id": secret("AKIAIOSFODNN7EXAMPLE"), "secret_access_key": secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]),
            VaultEntry(kind: .oathAccessKey, name: "device-1234", fields: ["key": SecretBytes([UInt8](repeating: 0xA5, count: 16))]),
            VaultEntry(
                kind: futureKind, name: "名前 with spaces",
                fields: ["binary": SecretBytes([0, 0, 0, 255, 10, 13]), "empty": SecretBytes([]), "ünïcode": secret("✓")]),
            VaultEntry(kind: futureKind, name: "", fields: [:]),
        ]
    }

    static func expectSame(_ actual: [VaultEntry], _ expected: [VaultEntry], sourceLocation: SourceLocation = #_sourceLocation) {
        func key(_ e: VaultEntry) -> String { e.kind.rawValue + "\u{0}" + e.name }
        let a = Dictionary(uniqueKeysWithValues: actual.map { (key($0), fieldBytes($0)) })
        let b = Dictionary(uniqueKeysWithValues: expected.map { (key($0), fieldBytes($0)) })
        #expect(a == b, sourceLocation: sourceLocation)
    }

    @Test("Entries of every kind, unknown kinds included, come back byte for byte from the sealed file")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let entries = Self.sampleEntries()
        try Vault.update(at: dir.vault, passphrases: FixedPassphrases("correct horse"), creatingWith: fastKDF) { contents in
            for entry in entries { try contents.upsert(entry) }
        }
        let vault = try #require(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("correct horse")))
        Self.expectSame(vault.contents.entries, entries)
        #expect(vault.kdf == fastKDF)

        let accounts = SealedAccounts.all(in: vault.contents)
        #expect(accounts.map(\.id.description) == ["AWS:arn:aws:iam::123456789012:mfa/alice", "door"])
        #expect(accounts[0].algorithm == .sha256 && accounts[0].digits == 8 && accounts[0].secret == Array("12345678901234567890".utf8))
        #expect(accounts[1].kind == .hotp(counter: 41) && accounts[1].secret == [0, 1, 2, 0xFF])
    }

    @Test("Entries of kinds this version does not know survive an update that changes other entries")
    func unknownKindsPreserved() throws {
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: fastKDF) { contents in
            for entry in Self.sampleEntries() { try contents.upsert(entry) }
        }
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
            let removed = contents.remove(.oathAccount, named: "door")
            #expect(removed)
            try contents.upsert(SealedAccounts.entry(for: OATHCredential(name: "new", secret: [9])))
        }
        let vault = try #require(try Vault.unlock(at: dir.vault, passphrases: passphrases))
        let future = vault.contents.entries(of: Self.futureKind)
        Self.expectSame(future, Self.sampleEntries().filter { $0.kind == Self.futureKind })
        #expect(vault.contents.entry(.awsAccessKey, named: "default")?.text("access_key_id") == "AKIAIOSFODNN7EXAMPLE")
        #expect(vault.contents.entry(.oathAccount, named: "door") == nil)
        #expect(vault.contents.entry(.oathAccount, named: "new") != nil)
    }

    @Test("upsert replaces an entry with the same kind and name, and the same name in another kind is separate")
    func upsertReplaces() throws {
        var contents = VaultContents()
        try contents.upsert(VaultEntry(kind: .oathAccount, name: "a", fields: ["v": secret("1")]))
        try contents.upsert(VaultEntry(kind: .awsAccessKey, name: "a", fields: ["v": secret("2")]))
        try contents.upsert(VaultEntry(kind: .oathAccount, name: "a", fields: ["v": secret("3")]))
        #expect(contents.entries.count == 2)
        #expect(contents.entry(.oathAccount, named: "a")?.text("v") == "3")
        #expect(contents.entry(.awsAccessKey, named: "a")?.text("v") == "2")
        let removed = contents.remove(.oathAccessKey, named: "a")
        #expect(!removed)
    }

    @Test("An update that changes nothing leaves the file untouched; one that changes something re-seals with a fresh nonce and the same salt")
    func writesOnlyChanges() throws {
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        try Vault.create(at: dir.vault, passphrases: passphrases, parameters: fastKDF)
        let before = try readBytes(dir.vault.file)
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { _ in }
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
            _ = contents.remove(.oathAccount, named: "absent")
        }
        #expect(try readBytes(dir.vault.file) == before)

        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
            try contents.upsert(VaultEntry(kind: .oathAccount, name: "x", fields: [:]))
        }
        let after = try readBytes(dir.vault.file)
        let h1 = try VaultHeader(parsing: before)
        let h2 = try VaultHeader(parsing: after)
        #expect(h1.salt == h2.salt)
        #expect(h1.nonce != h2.nonce)
        #expect(h1.kdf == h2.kdf)
    }

    @Test("A body that throws writes nothing, and creates no vault when there was none")
    func throwingBodyWritesNothing() throws {
        struct Stop: Error {}
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        #expect(throws: Stop.self) {
            try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: fastKDF) { contents in
                try contents.upsert(VaultEntry(kind: .oathAccount, name: "x", fields: [:]))
                throw Stop()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.vault.file))

        try Vault.create(at: dir.vault, passphrases: passphrases, parameters: fastKDF)
        let before = try readBytes(dir.vault.file)
        #expect(throws: Stop.self) {
            try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
                try contents.upsert(VaultEntry(kind: .oathAccount, name: "x", fields: [:]))
                throw Stop()
            }
        }
        #expect(try readBytes(dir.vault.file) == before)
    }

    @Test("A missing vault: unlock and header return nil, update without creation is notFound, and create refuses to overwrite")
    func missingAndExisting() throws {
        let dir = try TemporaryDirectory()
        #expect(try Vault.unlock(at: dir.vault, passphrases: NoPassphrases()) == nil)
        #expect(try Vault.header(at: dir.vault) == nil)
        let notFound = vaultError { try Vault.update(at: dir.vault, passphrases: NoPassphrases(), creatingWith: nil) { _ in } }
        #expect(notFound?.reason == .notFound)
        #expect(notFound?.description.contains(dir.vault.file) == true)
        #expect(vaultError { try Vault.changePassphrase(at: dir.vault, passphrases: NoPassphrases()) }?.reason == .notFound)

        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        let before = try readBytes(dir.vault.file)
        let exists = vaultError { try Vault.create(at: dir.vault, passphrases: FixedPassphrases("other"), parameters: fastKDF) }
        #expect(exists?.reason == .alreadyExists)
        #expect(try readBytes(dir.vault.file) == before)
    }

    @Test("An empty passphrase is refused when creating and when opening")
    func emptyPassphrase() throws {
        let dir = try TemporaryDirectory()
        #expect(vaultError { try Vault.create(at: dir.vault, passphrases: FixedPassphrases(""), parameters: fastKDF) }?.reason == .emptyPassphrase)
        #expect(!FileManager.default.fileExists(atPath: dir.vault.file))
        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        #expect(vaultError { _ = try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("")) }?.reason == .emptyPassphrase)
    }

    @Test("The header records format 1, the KDF parameters, a 32-byte salt and a 12-byte nonce, and is readable without a passphrase")
    func headerContents() throws {
        let dir = try TemporaryDirectory()
        let params = KDFParameters(log2N: 11, r: 4, p: 1)
        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("pw"), parameters: params)
        let header = try #require(try Vault.header(at: dir.vault))
        #expect(header.version == 1)
        #expect(header.kdf == params)
        #expect(header.salt.count == 32)
        #expect(header.nonce.count == 12)
        #expect(header.keyCheck.count == 32)
        let file = try readBytes(dir.vault.file)
        #expect(Array(file.prefix(8)) == Array("LATCHKEY".utf8))
        #expect(Array(file[8..<16]) == [1, 1, 11, 4, 1, 1, 0, 0])
        #expect(header.serialized == Array(file.prefix(VaultHeader.size)))
        #expect(file.count == VaultHeader.size + VaultContents().serialize().count + 16)
    }

    @Test("A string too long for the format's 16-bit length is refused or kept whole, never silently cut (which can make the whole vault unreadable)",
          arguments: ["70,000 ASCII bytes", "65,534 ASCII bytes and an é"])
    func overlongNames(shape: String) throws {
        let name = shape.hasPrefix("70") ? String(repeating: "a", count: 70_000) : String(repeating: "a", count: 65_534) + "é"
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: fastKDF) { contents in
            try contents.upsert(SealedAccounts.entry(for: OATHCredential(name: "keep-me", secret: [1, 2, 3])))
        }
        let refused: Bool
        do {
            try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
                try contents.upsert(VaultEntry(kind: Self.futureKind, name: name, fields: [:]))
            }
            refused = false
        } catch {
            refused = true
        }
        // Whatever happened, the vault must still open with its other entry,
        // and a long name that was accepted must come back whole.
        let vault = try #require(try Vault.unlock(at: dir.vault, passphrases: passphrases))
        #expect(vault.contents.entry(.oathAccount, named: "keep-me") != nil)
        if !refused {
            let kept = vault.contents.entries(of: Self.futureKind).map(\.name)
            let whole = kept == [name]
            #expect(whole, "the \(name.utf8.count)-byte name came back as \(kept.map(\.utf8.count)) bytes")
        }
    }

    @Test("Two vaults sealed with the same passphrase have different salts, and an unchanged vault always has the same plaintext")
    func freshSalts() throws {
        let a = try TemporaryDirectory()
        let b = try TemporaryDirectory()
        try Vault.create(at: a.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        try Vault.create(at: b.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        #expect(try Vault.header(at: a.vault)?.salt != Vault.header(at: b.vault)?.salt)
        var contents = VaultContents()
        for entry in Self.sampleEntries().reversed() { try contents.upsert(entry) }
        var other = VaultContents()
        for entry in Self.sampleEntries() { try other.upsert(entry) }
        #expect(contents.serialize() == other.serialize(), "entries are written in a canonical order")
    }

    @Test("changePassphrase: the old passphrase fails, the new one opens the same entries under a new salt")
    func changePassphrase() throws {
        let dir = try TemporaryDirectory()
        try Vault.update(at: dir.vault, passphrases: FixedPassphrases("old"), creatingWith: fastKDF) { contents in
            for entry in Self.sampleEntries() { try contents.upsert(entry) }
        }
        let oldHeader = try #require(try Vault.header(at: dir.vault))
        try Vault.changePassphrase(at: dir.vault, passphrases: FixedPassphrases("old", new: "new"))
        let newHeader = try #require(try Vault.header(at: dir.vault))
        #expect(newHeader.salt != oldHeader.salt)
        #expect(newHeader.kdf == fastKDF)
        #expect(vaultError { _ = try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("old")) }?.reason == .format(.wrongPassphrase))
        let vault = try #require(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("new")))
        Self.expectSame(vault.contents.entries, Self.sampleEntries())

        try Vault.changePassphrase(at: dir.vault, passphrases: FixedPassphrases("new", new: "newer"), parameters: KDFParameters(log2N: 12, r: 8, p: 1))
        #expect(try Vault.header(at: dir.vault)?.kdf == KDFParameters(log2N: 12, r: 8, p: 1))
        #expect(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("newer")) != nil)
    }

    @Test("The standard cost (scrypt N=2^17, r=8, p=1) seals and opens a vault")
    func standardParameters() throws {
        let dir = try TemporaryDirectory()
        try Vault.update(at: dir.vault, passphrases: FixedPassphrases("standard"), creatingWith: .standard) { contents in
            try contents.upsert(SealedAccounts.entry(for: OATHCredential(name: "alice", secret: [1, 2, 3])))
        }
        #expect(try Vault.header(at: dir.vault)?.kdf == KDFParameters(log2N: 17, r: 8, p: 1))
        let vault = try #require(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("standard")))
        #expect(SealedAccounts.all(in: vault.contents).map(\.name) == ["alice"])
    }

    @Test("Only vault.sealed and vault.lock remain in the directory after many writes (no temporary files left)")
    func noTemporaryFilesLeft() throws {
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        for i in 0..<5 {
            try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: fastKDF) { contents in
                try contents.upsert(VaultEntry(kind: .oathAccount, name: "n\(i)", fields: [:]))
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.vault.directory).sorted() == ["vault.lock", "vault.sealed"])
    }

    @Test("A vault directory that exists with wider permissions is narrowed to 0700, and files are 0600")
    func narrowsExistingDirectory() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.vault.directory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.vault.directory)
        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        #expect(PrivateFiles.permissions(of: dir.vault.directory) == 0o700)
        #expect(PrivateFiles.permissions(of: dir.vault.file) == 0o600)
        #expect(PrivateFiles.permissions(of: dir.vault.lockFile) == 0o600)
    }

    @Test("A symbolic link in place of the vault file is refused, not followed")
    func refusesSymlink() throws {
        let dir = try TemporaryDirectory()
        let real = try TemporaryDirectory()
        try Vault.create(at: real.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        try FileManager.default.createDirectory(atPath: dir.vault.directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.vault.file, withDestinationPath: real.vault.file)
        let error = vaultError { _ = try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("pw")) }
        guard case .system(let system)? = error?.reason else {
            Issue.record("expected a system error, got \(String(describing: error))")
            return
        }
        #expect(system.errno == .loop)
        #expect(error?.description.contains(dir.vault.file) == true)
    }

    @Test("VaultLocation follows XDG_DATA_HOME when it is absolute and falls back to ~/.local/share")
    func location() {
        #expect(VaultLocation.standard(in: Environment(["HOME": "/h"]))?.file == "/h/.local/share/latchkey/vault.sealed")
        #expect(VaultLocation.standard(in: Environment(["HOME": "/h", "XDG_DATA_HOME": "/d"]))?.lockFile == "/d/latchkey/vault.lock")
        #expect(VaultLocation.standard(in: Environment(["HOME": "/h", "XDG_DATA_HOME": "rel"]))?.directory == "/h/.local/share/latchkey")
        #expect(VaultLocation.standard(in: Environment(["HOME": "/h", "XDG_DATA_HOME": ""]))?.directory == "/h/.local/share/latchkey")
    }

    @Test("SealedAccounts turns credentials into entries and back, and skips malformed entries")
    func sealedAccounts() throws {
        let credentials = [
            OATHCredential(issuer: "AWS", name: "alice", kind: .totp(period: 60), algorithm: .sha512, digits: 7, secret: [1, 2]),
            OATHCredential(name: "door", kind: .hotp(counter: .max), secret: [3]),
        ]
        for credential in credentials {
            let entry = SealedAccounts.entry(for: credential)
            #expect(entry.kind == .oathAccount)
            #expect(entry.name == credential.id.description)
            #expect(SealedAccounts.credential(from: entry) == credential)
        }
        let good = SealedAccounts.entry(for: credentials[0])
        func broken(_ change: (inout VaultEntry) -> Void) -> VaultEntry {
            var entry = good
            change(&entry)
            return entry
        }
        let malformed = [
            broken { $0.fields["secret"] = nil },
            broken { $0.fields["secret"] = SecretBytes([]) },
            broken { $0.fields["digits"] = secret("x") },
            broken { $0.fields["digits"] = secret("9") },
            broken { $0.fields["type"] = secret("motp") },
            broken { $0.fields["period"] = nil },
            broken { $0.fields["algorithm"] = secret("MD5") },
            broken { $0.fields["account"] = nil },
            broken { $0.fields["issuer"] = secret("a:b") },
            broken { $0.kind = .awsAccessKey },
        ]
        for entry in malformed { #expect(SealedAccounts.credential(from: entry) == nil) }
        var contents = VaultContents()
        for entry in malformed.dropLast() + [SealedAccounts.entry(for: credentials[1])] {
            try contents.upsert(VaultEntry(kind: entry.kind, name: UUID().uuidString, fields: entry.fields))
        }
        try contents.upsert(good)
        #expect(SealedAccounts.all(in: contents).map(\.id.description) == ["60/AWS:alice", "door"])
    }
}
