import Foundation
import OATH
import SystemSupport
import TestSupport
import Testing

@testable import SealedStore

@Suite("Damaged, truncated, foreign and wrongly unlocked vaults")
struct VaultDamageTests {
    static let passphrase = "tr0ub4dor&3"

    /// A vault with two accounts; returns its directory and file image.
    static func makeVault() throws -> (TemporaryDirectory, [UInt8]) {
        let dir = try TemporaryDirectory("damage")
        try Vault.update(at: dir.vault, passphrases: FixedPassphrases(passphrase), creatingWith: fastKDF) { contents in
            try contents.upsert(SealedAccounts.entry(for: OATHCredential(issuer: "AWS", name: "alice", secret: Array("secret-one".utf8))))
            try contents.upsert(SealedAccounts.entry(for: OATHCredential(name: "door", kind: .hotp(counter: 3), secret: Array("secret-two".utf8))))
        }
        return (dir, try readBytes(dir.vault.file))
    }

    /// Opens `image` as the vault at `dir` with the right passphrase and
    /// returns the error; the file must be unchanged afterwards.
    static func openError(_ image: [UInt8], in dir: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) throws -> VaultError? {
        try writeBytes(dir.vault.file, image)
        let error = vaultError({ _ = try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases(passphrase)) }, sourceLocation: sourceLocation)
        #expect(try readBytes(dir.vault.file) == image, "opening must not change the file", sourceLocation: sourceLocation)
        if let error {
            #expect(error.description.contains(dir.vault.file), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        }
        return error
    }

    @Test("A wrong passphrase is reported as such by unlock, update and changePassphrase, and the file stays byte for byte")
    func wrongPassphrase() throws {
        let (dir, image) = try Self.makeVault()
        let wrong = FixedPassphrases("Tr0ub4dor&3", new: "whatever")
        #expect(vaultError { _ = try Vault.unlock(at: dir.vault, passphrases: wrong) }?.reason == .format(.wrongPassphrase))
        #expect(vaultError {
            try Vault.update(at: dir.vault, passphrases: wrong, creatingWith: fastKDF) { contents in
                try contents.upsert(VaultEntry(kind: .oathAccount, name: "x", fields: [:]))
            }
        }?.reason == .format(.wrongPassphrase))
        #expect(vaultError { try Vault.changePassphrase(at: dir.vault, passphrases: wrong) }?.reason == .format(.wrongPassphrase))
        #expect(try readBytes(dir.vault.file) == image)
        let error = vaultError { _ = try Vault.unlock(at: dir.vault, passphrases: wrong) }
        #expect(error?.description == "wrong passphrase for \(dir.vault.file)")
        #expect(error?.description.contains(Self.passphrase) == false)
    }

    @Test("Flipping any one bit of any of the 124 header bytes is an error naming the file, never a success")
    func everyHeaderByteFlipped() throws {
        let (dir, image) = try Self.makeVault()
        #expect(VaultHeader.size == 124)
        for offset in 0..<VaultHeader.size {
            for bit in [offset % 8, 7 - offset % 8] {
                var damaged = image
                damaged[offset] ^= UInt8(1 << bit)
                guard let error = try Self.openError(damaged, in: dir) else { continue }
                let expected: VaultFormatError = switch offset {
                case 0..<8: .notAVault
                case 8: .unsupportedVersion(damaged[8])
                default: .headerDamaged
                }
                #expect(error.reason == .format(expected), "byte \(offset) bit \(bit): \(error)")
            }
        }
    }

    @Test("A header with a valid checksum but impossible KDF values is damaged, so a hostile file cannot demand a huge scrypt")
    func impossibleKDFValues() throws {
        let (dir, image) = try Self.makeVault()
        let header = try VaultHeader(parsing: image)
        for kdf in [
            KDFParameters(log2N: 21, r: 8, p: 1), KDFParameters(log2N: 9, r: 8, p: 1), KDFParameters(log2N: 255, r: 8, p: 1),
            KDFParameters(log2N: 10, r: 0, p: 1), KDFParameters(log2N: 10, r: 9, p: 1), KDFParameters(log2N: 10, r: 8, p: 2),
            KDFParameters(log2N: 10, r: 8, p: 0),
        ] {
            var forged = header
            forged.kdf = kdf
            let damaged = forged.serialized + image[VaultHeader.size...]
            #expect(try Self.openError(damaged, in: dir)?.reason == .format(.headerDamaged), "\(kdf)")
        }
    }

    @Test("A header re-checksummed after changing the salt or key check opens as a wrong passphrase, not as success")
    func forgedHeaderFields() throws {
        let (dir, image) = try Self.makeVault()
        let header = try VaultHeader(parsing: image)
        var salt = header
        salt.salt[0] ^= 1
        #expect(try Self.openError(salt.serialized + image[VaultHeader.size...], in: dir)?.reason == .format(.wrongPassphrase))
        var check = header
        check.keyCheck[31] ^= 0x80
        #expect(try Self.openError(check.serialized + image[VaultHeader.size...], in: dir)?.reason == .format(.wrongPassphrase))
        var nonce = header
        nonce.nonce[0] ^= 1
        #expect(try Self.openError(nonce.serialized + image[VaultHeader.size...], in: dir)?.reason == .format(.payloadDamaged))
    }

    @Test("Flipping bits in the ciphertext or the tag is reported as a damaged payload")
    func payloadBytesFlipped() throws {
        let (dir, image) = try Self.makeVault()
        let payload = Array(VaultHeader.size..<image.count)
        var random = SplitMix64(seed: 0xF11B)
        // Every tag byte, the first and last ciphertext bytes, and a sample between.
        var offsets = Set(payload.suffix(16) + [payload.first!, image.count - 17])
        while offsets.count < 40 { offsets.insert(payload.randomElement(using: &random)!) }
        for offset in offsets.sorted() {
            var damaged = image
            damaged[offset] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            #expect(try Self.openError(damaged, in: dir)?.reason == .format(.payloadDamaged), "byte \(offset)")
        }
    }

    /// (length kept, expected error); a negative length counts from the end.
    static let truncations: [(Int, VaultFormatError)] = [
        (0, .truncated),  // empty
        (4, .truncated),  // inside the magic
        (8, .truncated),  // just the magic
        (9, .truncated),  // magic and version
        (50, .truncated),  // inside the header
        (123, .truncated),  // one byte short of the header
        (124, .truncated),  // exactly the header
        (125, .truncated),  // header + 1
        (139, .truncated),  // header + 15: less than a tag
        (140, .payloadDamaged),  // header + 16: a "tag" and no ciphertext
        (144, .payloadDamaged),  // header + some ciphertext
        (-1, .payloadDamaged),  // one byte short
    ]

    @Test("Truncation at every length class is an error naming the file", arguments: truncations)
    func truncated(length: Int, expected: VaultFormatError) throws {
        let (dir, image) = try Self.makeVault()
        let cut = length < 0 ? image.count + length : length
        #expect(cut < image.count)
        let error = try Self.openError(Array(image.prefix(cut)), in: dir)
        #expect(error?.reason == .format(expected), "\(cut) of \(image.count) bytes")
        if cut < VaultHeader.size + 16 {
            #expect(error?.description == "\(dir.vault.file) is truncated")
        }
    }

    @Test("Appending bytes to a vault is a damaged payload")
    func appended() throws {
        let (dir, image) = try Self.makeVault()
        #expect(try Self.openError(image + [0], in: dir)?.reason == .format(.payloadDamaged))
        #expect(try Self.openError(image + image, in: dir)?.reason == .format(.payloadDamaged))
    }

    @Test("Foreign files are not vaults, and a newer format is reported as an unsupported version")
    func foreignFiles() throws {
        let (dir, image) = try Self.makeVault()
        var random = SplitMix64(seed: 0xF0E1)
        for length in [8, 9, 100, 124, 200, 4096] {
            var bytes = random.bytes(length)
            if bytes[0] == UInt8(ascii: "L") { bytes[0] = 0 }
            #expect(try Self.openError(bytes, in: dir)?.reason == .format(.notAVault), "\(length) random bytes")
        }
        #expect(try Self.openError(Array("# my notes\nJBSWY3DPEHPK3PXP\n".utf8), in: dir)?.reason == .format(.notAVault))
        #expect(try Self.openError(Array("XY".utf8), in: dir)?.reason == .format(.notAVault))
        #expect(try Self.openError(Array("LATCH".utf8), in: dir)?.reason == .format(.truncated))
        #expect(try Self.openError(Array("latchkey".utf8) + image.dropFirst(8), in: dir)?.reason == .format(.notAVault))

        for version: UInt8 in [0, 2, 255] {
            var newer = image
            newer[8] = version
            let error = try Self.openError(newer, in: dir)
            #expect(error?.reason == .format(.unsupportedVersion(version)))
            #expect(try Self.openError(Array(newer.prefix(9)), in: dir)?.reason == .format(.unsupportedVersion(version)),
                    "a short file of another version still names the version")
        }
        // Vault.header (used by `vault info`) reports the same without a passphrase.
        try writeBytes(dir.vault.file, Array("not a vault".utf8))
        #expect(vaultError { _ = try Vault.header(at: dir.vault) }?.reason == .format(.notAVault))
    }

    @Test("Updating a damaged vault fails the same way and writes nothing")
    func updateOfDamagedVault() throws {
        let (dir, image) = try Self.makeVault()
        var damaged = image
        damaged[image.count - 1] ^= 1
        try writeBytes(dir.vault.file, damaged)
        let error = vaultError {
            try Vault.update(at: dir.vault, passphrases: FixedPassphrases(Self.passphrase), creatingWith: fastKDF) { contents in
                try contents.upsert(VaultEntry(kind: .oathAccount, name: "x", fields: [:]))
            }
        }
        #expect(error?.reason == .format(.payloadDamaged))
        #expect(try readBytes(dir.vault.file) == damaged)
    }

    @Test("A directory where the vault file should be is a system error naming the path")
    func directoryInsteadOfFile() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.vault.file, withIntermediateDirectories: true)
        let error = vaultError { _ = try Vault.unlock(at: dir.vault, passphrases: FixedPassphrases("pw")) }
        guard case .system? = error?.reason else {
            Issue.record("expected a system error, got \(String(describing: error))")
            return
        }
        #expect(error?.description.contains(dir.vault.file) == true)
    }
}
