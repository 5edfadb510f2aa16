import Foundation
import OATH
import SystemSupport
import TestSupport
import Testing

@testable import SealedStore

/// The vault as separate processes see it: the built `latchkey` binary run
/// with a temporary HOME.
@Suite("Vault across processes")
struct VaultProcessTests {
    static let passphrase = "process-test passphrase"

    static func environment(home: String) -> [String: String] {
        ["HOME": home, "LATCHKEY_PASSPHRASE": passphrase, "LANG": "C.UTF-8"]
    }

    @Test("Eight `accounts add` processes started at once on a fresh HOME all land in one vault")
    func concurrentWriters() throws {
        try #require(binaryIsBuilt(), "latchkey binary not found at \(latchkeyBinary); build it or set LATCHKEY_BIN")
        let home = try TemporaryDirectory("concurrent")
        var random = SplitMix64(seed: 0xC0C0)
        let secrets = (0..<8).map { _ in random.bytes(20) }
        let running = try secrets.enumerated().map { index, secret in
            try startLatchkey(
                ["accounts", "add", "account\(index)", "--sealed", "--scrypt-log2n", "10"],
                environment: Self.environment(home: home.path), stdin: Array(Base32.encode(secret).utf8))
        }
        for (index, program) in running.enumerated() {
            let output = program.wait()
            #expect(output.status == 0, "writer \(index): \(output.stderr)")
        }
        let vault = try #require(try Vault.unlock(at: home.homeVault, passphrases: FixedPassphrases(Self.passphrase)))
        let accounts = SealedAccounts.all(in: vault.contents)
        #expect(accounts.map(\.name) == (0..<8).map { "account\($0)" })
        for (index, secret) in secrets.enumerated() {
            #expect(accounts.first { $0.name == "account\(index)" }?.secret == secret)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.homeVault.directory).sorted() == ["vault.lock", "vault.sealed"])
    }

    @Test("With umask 000 the vault is 0600, its lock 0600 and its directory 0700")
    func modesUnderUmaskZero() throws {
        try #require(binaryIsBuilt(), "latchkey binary not found at \(latchkeyBinary)")
        let home = try TemporaryDirectory("umask")
        let output = try runLatchkey(
            ["accounts", "add", "alice", "--sealed", "--scrypt-log2n", "10"],
            environment: Self.environment(home: home.path), stdin: Array("JBSWY3DPEHPK3PXP".utf8), umaskZero: true)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(PrivateFiles.permissions(of: home.homeVault.directory) == 0o700)
        #expect(PrivateFiles.permissions(of: home.homeVault.file) == 0o600)
        #expect(PrivateFiles.permissions(of: home.homeVault.lockFile) == 0o600)

        // A second write (rename over the old file) keeps the modes.
        let again = try runLatchkey(
            ["accounts", "add", "bob", "--sealed"], environment: Self.environment(home: home.path),
            stdin: Array("JBSWY3DPEHPK3PXP".utf8), umaskZero: true)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(PrivateFiles.permissions(of: home.homeVault.file) == 0o600)
        #expect(PrivateFiles.permissions(of: home.homeVault.directory) == 0o700)
    }

    @Test("After adding accounts no file under HOME holds a secret as raw bytes, base32 (either case) or hex, nor the passphrase")
    func noPlaintextSecrets() throws {
        try #require(binaryIsBuilt(), "latchkey binary not found at \(latchkeyBinary)")
        let home = try TemporaryDirectory("plaintext")
        var random = SplitMix64(seed: 0x5EC2E7)
        let secrets = [random.bytes(20), random.bytes(32), random.bytes(64)]
        for (index, secret) in secrets.enumerated() {
            let input = index == 1
                ? "otpauth://totp/ACME:x?secret=\(Base32.encode(secret))&algorithm=SHA256"
                : Base32.encode(secret).lowercased()
            let output = try runLatchkey(
                ["accounts", "add", "account\(index)", "--sealed", "--scrypt-log2n", "10"] + (index == 2 ? ["--hotp"] : []),
                environment: Self.environment(home: home.path), stdin: Array(input.utf8))
            #expect(output.status == 0, "\(output.stderr)")
        }
        // An HOTP code rewrites the vault with the new counter.
        let code = try runLatchkey(["code", "account2", "--sealed"], environment: Self.environment(home: home.path))
        #expect(code.status == 0, "\(code.stderr)")

        var needles: [[UInt8]] = [Array(Self.passphrase.utf8)]
        for secret in secrets {
            let b32 = Base32.encode(secret)
            let hexText = hex(secret)
            needles += [secret, Array(b32.utf8), Array(b32.lowercased().utf8), Array(hexText.utf8), Array(hexText.uppercased().utf8)]
        }
        let files = FileManager.default.enumerator(atPath: home.path)?.compactMap { $0 as? String } ?? []
        var scanned = 0
        for file in files {
            let path = home.path + "/" + file
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try readBytes(path)
            scanned += 1
            for needle in needles {
                #expect(!contains(bytes, needle), "\(file) holds a secret in plain text")
            }
        }
        #expect(scanned >= 2, "the vault and its lock should have been scanned")
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}

@Suite("UnlockedVault")
struct UnlockedVaultTests {
    @Test("UnlockedVault.update re-reads changes made by another writer after the unlock, and keeps them")
    func updateSeesOtherWriters() throws {
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: fastKDF) { contents in
            try contents.upsert(VaultEntry(kind: .oathAccount, name: "first", fields: [:]))
        }
        let unlocked = try #require(try Vault.unlock(at: dir.vault, passphrases: passphrases))
        #expect(unlocked.contents.entries.map(\.name) == ["first"])

        // Another writer adds an entry after the unlock.
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
            try contents.upsert(VaultEntry(kind: .awsAccessKey, name: "second", fields: ["k": secret("v")]))
        }
        let seen = try unlocked.update { contents in
            try contents.upsert(VaultEntry(kind: .oathAccount, name: "third", fields: [:]))
            return contents.entries.map(\.name).sorted()
        }
        #expect(seen == ["first", "second", "third"])
        #expect(unlocked.contents.entries.map(\.name).sorted() == ["first", "second", "third"])

        let reopened = try #require(try Vault.unlock(at: dir.vault, passphrases: passphrases))
        #expect(reopened.contents.entries.map(\.name).sorted() == ["first", "second", "third"])
        #expect(reopened.contents.entry(.awsAccessKey, named: "second")?.text("k") == "v")
    }

    @Test("UnlockedVault.update that changes nothing writes nothing but still refreshes its contents")
    func updateWithoutChange() throws {
        let dir = try TemporaryDirectory()
        let passphrases = FixedPassphrases("pw")
        try Vault.create(at: dir.vault, passphrases: passphrases, parameters: fastKDF)
        let unlocked = try #require(try Vault.unlock(at: dir.vault, passphrases: passphrases))
        try Vault.update(at: dir.vault, passphrases: passphrases, creatingWith: nil) { contents in
            try contents.upsert(VaultEntry(kind: .oathAccount, name: "later", fields: [:]))
        }
        let before = try readBytes(dir.vault.file)
        try unlocked.update { _ in }
        #expect(try readBytes(dir.vault.file) == before)
        #expect(unlocked.contents.entries.map(\.name) == ["later"])
    }

    @Test("UnlockedVault.update after the vault was re-sealed under another passphrase fails and writes nothing")
    func updateAfterPassphraseChange() throws {
        let dir = try TemporaryDirectory()
        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("old"), parameters: fastKDF)
        let unlocked = try #require(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("old")))
        try Vault.changePassphrase(at: dir.vault, passphrases: FixedPassphrases("old", new: "new"))
        let before = try readBytes(dir.vault.file)
        let error = vaultError {
            try unlocked.update { contents in try contents.upsert(VaultEntry(kind: .oathAccount, name: "x", fields: [:])) }
        }
        #expect(error?.reason == .format(.wrongPassphrase))
        #expect(try readBytes(dir.vault.file) == before)
    }

    @Test("UnlockedVault.update on a vault deleted meanwhile is notFound")
    func updateAfterDeletion() throws {
        let dir = try TemporaryDirectory()
        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        let unlocked = try #require(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("pw")))
        try FileManager.default.removeItem(atPath: dir.vault.file)
        #expect(vaultError { try unlocked.update { _ in } }?.reason == .notFound)
    }

    @Test("Two threads updating through the library at once both land (the lock serialises them)")
    func concurrentThreads() async throws {
        let dir = try TemporaryDirectory()
        let location = dir.vault
        try Vault.create(at: location, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<5 {
                        try Vault.update(at: location, passphrases: FixedPassphrases("pw"), creatingWith: nil) { contents in
                            try contents.upsert(VaultEntry(kind: .oathAccount, name: "w\(worker)-\(i)", fields: [:]))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let vault = try #require(try Vault.unlock(at: location, passphrases: FixedPassphrases("pw")))
        #expect(vault.contents.entries.count == 20)
    }

    /// Answers with fixed passphrases and, each time it is asked, records
    /// whether the vault's lock was free (another open file can take it).
    final class LockProbingPassphrases: PassphraseSource {
        let passphrases: FixedPassphrases
        private(set) var lockFreeWhenAsked: [Bool] = []

        init(_ current: String, new: String? = nil) { passphrases = FixedPassphrases(current, new: new) }

        func probe(_ location: VaultLocation) {
            try? PrivateFiles.ensurePrivateDirectory(location.directory)
            lockFreeWhenAsked.append((try? FileLock(exclusive: location.lockFile, timeoutSeconds: 0)) != nil)
        }
        func passphrase(for location: VaultLocation) throws -> SecretBytes {
            probe(location)
            return try passphrases.passphrase(for: location)
        }
        func newPassphrase(for location: VaultLocation) throws -> SecretBytes {
            probe(location)
            return try passphrases.newPassphrase(for: location)
        }
    }

    @Test("No passphrase is asked for while the vault's lock is held: create, update (new vault and existing), changePassphrase")
    func passphraseOutsideLock() throws {
        let dir = try TemporaryDirectory()
        let creating = LockProbingPassphrases("pw")
        try Vault.create(at: dir.vault, passphrases: creating, parameters: fastKDF)
        let updating = LockProbingPassphrases("pw")
        try Vault.update(at: dir.vault, passphrases: updating) { try $0.upsert(VaultEntry(kind: .oathAccount, name: "a", fields: [:])) }
        let changing = LockProbingPassphrases("pw", new: "pw2")
        try Vault.changePassphrase(at: dir.vault, passphrases: changing)
        let other = try TemporaryDirectory()
        let first = LockProbingPassphrases("pw")
        try Vault.update(at: other.vault, passphrases: first, creatingWith: fastKDF) { try $0.upsert(VaultEntry(kind: .oathAccount, name: "b", fields: [:])) }
        #expect(creating.lockFreeWhenAsked == [true])
        #expect(updating.lockFreeWhenAsked == [true])
        #expect(changing.lockFreeWhenAsked == [true, true])
        #expect(first.lockFreeWhenAsked == [true])
        let reopened = try #require(try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("pw2")))
        #expect(reopened.contents.entries.map(\.name) == ["a"])
    }

    @Test("A change waiting on the vault's lock gives up after its bound, naming the holder's pid and what it does")
    func lockWaitBounded() throws {
        let dir = try TemporaryDirectory()
        try Vault.create(at: dir.vault, passphrases: FixedPassphrases("pw"), parameters: fastKDF)
        let holder = try FileLock(exclusive: dir.vault.lockFile, timeoutSeconds: 0, purpose: "a test holding the vault")
        var location = dir.vault
        location.lockTimeoutSeconds = 0.2
        let started = Date()
        let error = vaultError { try Vault.update(at: location, passphrases: FixedPassphrases("pw")) { _ in } }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(
            error?.description
                == "gave up after 0.2 s waiting for the lock \(dir.vault.lockFile): process \(getpid()) holds it (a test holding the vault)")
        withExtendedLifetime(holder) {}
    }
}
