import Crypto
import _CryptoExtras
import SystemSupport
import FoundationEssentials

/// Where the vault lives: `$XDG_DATA_HOME/latchkey/` (default
/// `~/.local/share/latchkey/`), holding `vault.sealed` and its lock file.
public struct VaultLocation: Sendable, Equatable {
    public var directory: String
    /// How long a change waits for another process's to finish before it
    /// gives up, naming the holder. Passphrases are asked for outside the
    /// lock, so a holder only reads, seals and writes.
    public var lockTimeoutSeconds: Double = 30
    public var file: String { directory + "/vault.sealed" }
    public var lockFile: String { directory + "/vault.lock" }

    public init(directory: String) { self.directory = directory }

    public static func standard(in environment: Environment) -> VaultLocation? {
        environment.xdgDirectory("XDG_DATA_HOME", fallback: ".local/share").map {
            VaultLocation(directory: $0 + "/latchkey")
        }
    }
}

/// Supplies passphrases when the vault needs one, and only then.
public protocol PassphraseSource {
    /// The passphrase that unlocks an existing vault.
    func passphrase(for location: VaultLocation) throws -> SecretBytes
    /// A passphrase for a vault being created or re-sealed (confirmed twice
    /// when typed).
    func newPassphrase(for location: VaultLocation) throws -> SecretBytes
}

/// A vault operation that failed, naming the file it concerns.
public struct VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case format(VaultFormatError)
        case system(SystemError)
        case alreadyExists
        case notFound
        case emptyPassphrase
    }

    public var reason: Reason
    public var path: String

    public init(_ reason: Reason, path: String) {
        self.reason = reason
        self.path = path
    }

    public var description: String {
        switch reason {
        case .format(.wrongPassphrase): "wrong passphrase for \(path)"
        case .format(.notAVault): "\(path) is not a latchkey vault"
        case .format(.truncated): "\(path) is truncated"
        case .format(.unsupportedVersion(let v)): "\(path) uses vault format \(v), which this latchkey does not know (upgrade latchkey)"
        case .format(.headerDamaged): "\(path) is damaged: its header fails its checksum or holds impossible values"
        case .format(.payloadDamaged): "\(path) is damaged or was modified: its sealed contents fail authentication"
        case .system(let error): "\(error)"
        case .alreadyExists: "\(path) already exists"
        case .notFound: "no vault at \(path): add an account with `latchkey accounts add NAME --sealed` or run `latchkey vault init`"
        case .emptyPassphrase: "the passphrase for \(path) is empty"
        }
    }
}

/// The sealed local store.
///
/// Reads need no lock: the file is only ever replaced by `rename`, so a reader
/// sees a whole file. Every change runs under an exclusive `flock` on
/// `vault.lock`, re-reads the file inside the lock, and re-seals it with a
/// fresh nonce, so concurrent writers each see the others' changes.
public enum Vault {
    /// The header of the vault at `location`, read without unlocking it.
    public static func header(at location: VaultLocation) throws(VaultError) -> VaultHeader? {
        guard let bytes = try readFile(location) else { return nil }
        do { return try VaultHeader(parsing: bytes) } catch { throw VaultError(.format(error), path: location.file) }
    }

    /// Unlocks the vault for reading, or returns `nil` when there is none.
    /// The unlocked vault can then ``UnlockedVault/update(_:)`` without
    /// deriving the key a second time.
    public static func unlock(at location: VaultLocation, passphrases: some PassphraseSource) throws -> UnlockedVault? {
        guard let bytes = try readFile(location) else { return nil }
        let opened = try unseal(bytes, at: location) { try passphrases.passphrase(for: location) }
        return UnlockedVault(location: location, opened: opened)
    }

    /// Runs `body` on the contents under the lock and seals the result if
    /// `body` changed anything.
    ///
    /// When there is no vault, one is created with `creatingWith` and a new
    /// passphrase; with `creatingWith: nil` a missing vault is an error. If
    /// `body` throws, nothing is written.
    ///
    /// The passphrase is asked for, and the key derived, before the lock is
    /// taken (a person typing must not hold up every other writer); under
    /// the lock the file is read again and must open with that same key.
    /// Only when another process created the vault in between is its
    /// passphrase asked for under the lock.
    @discardableResult
    public static func update<T>(
        at location: VaultLocation, passphrases: some PassphraseSource,
        creatingWith newVaultParameters: KDFParameters? = .standard,
        _ body: (inout VaultContents) throws -> T
    ) throws -> T {
        if let bytes = try readFile(location) {
            let opened = try unseal(bytes, at: location) { try passphrases.passphrase(for: location) }
            return try update(location, key: opened.key, header: opened.header, body).0
        }
        guard let newVaultParameters else { throw VaultError(.notFound, path: location.file) }
        let fresh = try newVault(at: location, passphrase: passphrases.newPassphrase(for: location), parameters: newVaultParameters)
        return try withLock(location) {
            var opened = fresh
            var isNew = true
            if let bytes = try readFile(location) {
                opened = try unseal(bytes, at: location) { try passphrases.passphrase(for: location) }
                isNew = false
            }
            let result = try body(&opened.contents)
            if isNew || opened.contents.isModified {
                try write(opened.contents, key: opened.key, kdf: opened.header.kdf, salt: opened.header.salt, to: location)
            }
            return result
        }
    }

    /// Creates an empty vault; fails if one exists. The new passphrase is
    /// asked for before the lock is taken.
    public static func create(at location: VaultLocation, passphrases: some PassphraseSource, parameters: KDFParameters = .standard) throws {
        guard try readFile(location) == nil else { throw VaultError(.alreadyExists, path: location.file) }
        let fresh = try newVault(at: location, passphrase: passphrases.newPassphrase(for: location), parameters: parameters)
        try withLock(location) {
            guard try readFile(location) == nil else { throw VaultError(.alreadyExists, path: location.file) }
            try write(fresh.contents, key: fresh.key, kdf: fresh.header.kdf, salt: fresh.header.salt, to: location)
        }
    }

    /// Re-seals the vault under a new passphrase, a new salt and `parameters`
    /// (the vault's own when `nil`). Both passphrases are asked for before
    /// the lock is taken; under it the file must still open with the old key.
    public static func changePassphrase(at location: VaultLocation, passphrases: some PassphraseSource, parameters: KDFParameters? = nil) throws {
        guard let bytes = try readFile(location) else { throw VaultError(.notFound, path: location.file) }
        let old = try unseal(bytes, at: location) { try passphrases.passphrase(for: location) }
        let fresh = try newVault(at: location, passphrase: passphrases.newPassphrase(for: location), parameters: parameters ?? old.header.kdf)
        try withLock(location) {
            guard let current = try readFile(location) else { throw VaultError(.notFound, path: location.file) }
            let reread = try unseal(current, at: location, key: old.key, expecting: old.header)
            try write(reread.contents, key: fresh.key, kdf: fresh.header.kdf, salt: fresh.header.salt, to: location)
        }
    }

    /// Re-reads the file under the lock with an already derived key (when the
    /// file still has the same salt and parameters), runs `body`, and writes
    /// the result if `body` changed anything.
    static func update<T>(_ location: VaultLocation, key: SymmetricKey, header: VaultHeader, _ body: (inout VaultContents) throws -> T) throws -> (T, VaultContents) {
        try withLock(location) {
            guard let bytes = try readFile(location) else { throw VaultError(.notFound, path: location.file) }
            var opened = try unseal(bytes, at: location, key: key, expecting: header)
            let result = try body(&opened.contents)
            if opened.contents.isModified {
                try write(opened.contents, key: key, kdf: header.kdf, salt: header.salt, to: location)
            }
            opened.contents.isModified = false
            return (result, opened.contents)
        }
    }

    // MARK: - Sealing

    struct Unsealed {
        var header: VaultHeader
        var key: SymmetricKey
        var contents: VaultContents
    }

    /// Derives the key for `passphrase` with the given parameters and salt.
    static func deriveKey(_ passphrase: SecretBytes, kdf: KDFParameters, salt: [UInt8]) throws -> SymmetricKey {
        try passphrase.withUnsafeBytes { bytes in
            try KDF.Scrypt.deriveKey(
                from: bytes, salt: salt, outputByteCount: 32,
                rounds: 1 << Int(kdf.log2N), blockSize: Int(kdf.r), parallelism: Int(kdf.p))
        }
    }

    static func keyCheck(_ key: SymmetricKey) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: VaultHeader.keyCheckLabel, using: key))
    }

    /// Seals `contents` into a complete file image.
    static func seal(_ contents: VaultContents, key: SymmetricKey, kdf: KDFParameters, salt: [UInt8]) throws -> [UInt8] {
        let nonce = ChaChaPoly.Nonce()
        let header = VaultHeader(kdf: kdf, salt: salt, nonce: Array(nonce), keyCheck: keyCheck(key))
        let aad = header.serialized
        var plaintext = contents.serialize()
        defer { plaintext.wipe() }
        let box = try ChaChaPoly.seal(plaintext, using: key, nonce: nonce, authenticating: aad)
        return aad + Array(box.ciphertext) + Array(box.tag)
    }

    /// Opens a complete file image. The passphrase is asked for only once the
    /// header has passed its checks, so a damaged or foreign file is reported
    /// without a prompt.
    static func unseal(_ file: [UInt8], at location: VaultLocation, passphrase getPassphrase: () throws -> SecretBytes) throws -> Unsealed {
        let header = try parseHeader(file, at: location)
        let passphrase = try getPassphrase()
        guard !passphrase.isEmpty else { throw VaultError(.emptyPassphrase, path: location.file) }
        let key = try deriveKey(passphrase, kdf: header.kdf, salt: header.salt)
        return try unseal(file, at: location, key: key, header: header)
    }

    /// Opens a file image with a key derived earlier for `expected`; fails as
    /// a wrong passphrase if the file has since been re-sealed under another
    /// salt or parameters.
    static func unseal(_ file: [UInt8], at location: VaultLocation, key: SymmetricKey, expecting expected: VaultHeader) throws -> Unsealed {
        let header = try parseHeader(file, at: location)
        guard header.salt == expected.salt, header.kdf == expected.kdf else {
            throw VaultError(.format(.wrongPassphrase), path: location.file)
        }
        return try unseal(file, at: location, key: key, header: header)
    }

    private static func parseHeader(_ file: [UInt8], at location: VaultLocation) throws(VaultError) -> VaultHeader {
        let header: VaultHeader
        do { header = try VaultHeader(parsing: file) } catch { throw VaultError(.format(error), path: location.file) }
        guard file.count >= VaultHeader.size + 16 else { throw VaultError(.format(.truncated), path: location.file) }
        return header
    }

    private static func unseal(_ file: [UInt8], at location: VaultLocation, key: SymmetricKey, header: VaultHeader) throws -> Unsealed {
        func fail(_ error: VaultFormatError) -> VaultError { VaultError(.format(error), path: location.file) }
        guard constantTimeEqual(keyCheck(key), header.keyCheck) else { throw fail(.wrongPassphrase) }
        let body = file[VaultHeader.size...]
        var plaintext: [UInt8]
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: header.nonce),
                ciphertext: body.dropLast(16), tag: body.suffix(16))
            var opened = try ChaChaPoly.open(box, using: key, authenticating: file[0..<VaultHeader.size])
            plaintext = Array(opened)
            opened.resetBytes(in: 0..<opened.count)
        } catch {
            throw fail(.payloadDamaged)
        }
        defer { plaintext.wipe() }
        do {
            return Unsealed(header: header, key: key, contents: try VaultContents(parsing: plaintext))
        } catch {
            throw fail(error)
        }
    }

    // MARK: - Files

    private static func newVault(at location: VaultLocation, passphrase: SecretBytes, parameters: KDFParameters) throws -> Unsealed {
        guard !passphrase.isEmpty else { throw VaultError(.emptyPassphrase, path: location.file) }
        var salt = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = generator.next() }
        let key = try deriveKey(passphrase, kdf: parameters, salt: salt)
        let header = VaultHeader(kdf: parameters, salt: salt, nonce: [], keyCheck: keyCheck(key))
        return Unsealed(header: header, key: key, contents: VaultContents())
    }

    private static func write(_ contents: VaultContents, key: SymmetricKey, kdf: KDFParameters, salt: [UInt8], to location: VaultLocation) throws {
        let image = try seal(contents, key: key, kdf: kdf, salt: salt)
        do { try PrivateFiles.writeAtomically(location.file, image) } catch { throw VaultError(.system(error), path: location.file) }
    }

    private static func readFile(_ location: VaultLocation) throws(VaultError) -> [UInt8]? {
        do { return try PrivateFiles.read(location.file) } catch { throw VaultError(.system(error), path: location.file) }
    }

    private static func withLock<T>(_ location: VaultLocation, _ body: () throws -> T) throws -> T {
        let lock: FileLock
        do {
            try PrivateFiles.ensurePrivateDirectory(location.directory)
            lock = try FileLock(exclusive: location.lockFile, timeoutSeconds: location.lockTimeoutSeconds, purpose: "latchkey changing the sealed vault")
        } catch {
            throw VaultError(.system(error), path: location.file)
        }
        return try withExtendedLifetime(lock) { try body() }
    }
}

/// A vault whose key has been derived: its contents can be read, and changed
/// under the lock, without running the KDF again.
public final class UnlockedVault {
    public let location: VaultLocation
    public private(set) var contents: VaultContents
    private let key: SymmetricKey
    private let header: VaultHeader

    init(location: VaultLocation, opened: Vault.Unsealed) {
        self.location = location
        self.contents = opened.contents
        self.key = opened.key
        self.header = opened.header
    }

    /// The parameters the vault was sealed with.
    public var kdf: KDFParameters { header.kdf }

    /// Keeps the derived key and every secret field out of swap (`mlock`;
    /// best effort: within RLIMIT_MEMLOCK). They are wiped as before when
    /// this vault is released.
    public func lockInMemory() {
        // Best effort: a page that cannot be locked is still wiped.
        _ = key.withUnsafeBytes { lockPages($0) }
        for entry in contents.entries {
            for field in entry.fields.values { _ = field.withUnsafeBytes { lockPages($0) } }
        }
    }

    /// Re-reads the vault under the lock (another process may have changed
    /// it), runs `body`, and re-seals it if `body` changed anything.
    @discardableResult
    public func update<T>(_ body: (inout VaultContents) throws -> T) throws -> T {
        let (result, updated) = try Vault.update(location, key: key, header: header, body)
        contents = updated
        return result
    }
}
