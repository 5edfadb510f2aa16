import FoundationEssentials
import OATH
import SealedStore
import SystemSupport
import TPM

/// One account whose secret is an HMAC key inside the TPM: its parameters
/// and the TPM's blobs for the key. No secret: the private blob is wrapped
/// by the TPM's storage key and loads on that TPM only.
struct TPMAccount: Equatable {
    var issuer: String?
    var name: String
    var kind: OATHKind
    var algorithm: OATHAlgorithm
    var digits: Int
    /// Whether the key has a PIN (its authValue).
    var hasPIN: Bool
    var key: TPMKeyBlobs

    var id: String { CredentialID(issuer: issuer, name: name, period: kind.period).description }

    var listed: TokenAccount {
        TokenAccount(
            id: id, issuer: issuer, name: name, type: kind.isTOTP ? "totp" : "hotp", algorithm: algorithm.rawValue, digits: digits,
            period: kind.period, touch: false, source: TokenKind.tpm.rawValue)
    }
}

extension OATHKind {
    var period: Int? { if case .totp(let period) = self { period } else { nil } }
}

/// The file of TPM accounts: `$XDG_DATA_HOME/latchkey/tpm-accounts.json`,
/// 0600 in a 0700 directory, replaced atomically, changed only under an
/// exclusive lock on `tpm-accounts.lock` (re-read inside it). JSON, version 1:
///
///     {"version":1,"accounts":[{"name":"alice","issuer":"AWS","type":"totp",
///      "period":30,"algorithm":"SHA1","digits":6,"pin":false,
///      "public":"<base64 TPM2B_PUBLIC>","private":"<base64 TPM2B_PRIVATE>"}]}
///
/// HOTP accounts carry `"counter"` instead of `"period"`.
struct TPMAccountStore {
    var directory: String
    var lockTimeoutSeconds: Double = 30

    var file: String { directory + "/tpm-accounts.json" }
    var lockFile: String { directory + "/tpm-accounts.lock" }

    static func standard(in world: World) throws -> TPMAccountStore {
        TPMAccountStore(directory: try world.vaultLocation().directory)
    }

    /// Every account, sorted by id; none when the file does not exist.
    func accounts() throws -> [TPMAccount] {
        let bytes: [UInt8]?
        do { bytes = try PrivateFiles.read(file, limit: 4 << 20) } catch { throw LatchkeyError(.failure, "\(error)") }
        guard let bytes else { return [] }
        return try Self.decode(bytes, file: file)
    }

    /// Re-reads the file under the lock, runs `body`, and writes the result
    /// when `body` returns without throwing (nothing is written otherwise).
    func update<T>(_ body: (inout [TPMAccount]) throws -> T) throws -> T {
        let lock: FileLock
        do {
            try PrivateFiles.ensurePrivateDirectory(directory)
            lock = try FileLock(exclusive: lockFile, timeoutSeconds: lockTimeoutSeconds, purpose: "latchkey changing the TPM accounts")
        } catch {
            throw LatchkeyError(.failure, "\(error)")
        }
        return try withExtendedLifetime(lock) {
            var accounts = try self.accounts()
            let result = try body(&accounts)
            accounts.sort { $0.id < $1.id }
            do { try PrivateFiles.writeAtomically(file, try Self.encode(accounts)) } catch let error as SystemError {
                throw LatchkeyError(.failure, "\(error)")
            }
            return result
        }
    }

    // MARK: - The file format

    private struct FileImage: Codable {
        var version: Int
        var accounts: [Record]
    }

    private struct Record: Codable {
        var name: String
        var issuer: String?
        var type: String
        var period: Int?
        var counter: UInt64?
        var algorithm: String
        var digits: Int
        var pin: Bool
        var `public`: String
        var `private`: String
    }

    static func encode(_ accounts: [TPMAccount]) throws -> [UInt8] {
        let records = accounts.map { account in
            Record(
                name: account.name, issuer: account.issuer, type: account.kind.isTOTP ? "totp" : "hotp", period: account.kind.period,
                counter: { if case .hotp(let counter) = account.kind { counter } else { nil } }(), algorithm: account.algorithm.rawValue,
                digits: account.digits, pin: account.hasPIN, public: Data(account.key.publicArea).base64EncodedString(),
                private: Data(account.key.privateArea).base64EncodedString())
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(FileImage(version: 1, accounts: records))) + [0x0A]
    }

    /// The accounts in a file's bytes; a damaged or foreign file is one
    /// error naming it, never a crash.
    static func decode(_ bytes: [UInt8], file: String) throws -> [TPMAccount] {
        func damaged(_ why: String) -> LatchkeyError {
            LatchkeyError(.vaultDamaged, "\(file) is damaged (\(why)); restore it from a backup or delete it and add the accounts again")
        }
        let image: FileImage
        do { image = try JSONDecoder().decode(FileImage.self, from: Data(bytes)) } catch { throw damaged("not latchkey's TPM account list") }
        guard image.version == 1 else {
            throw LatchkeyError(.vaultDamaged, "\(file) uses format \(image.version), which this latchkey does not know (upgrade latchkey)")
        }
        return try image.accounts.map { record in
            guard let algorithm = OATHAlgorithm(name: record.algorithm) else { throw damaged("unknown algorithm '\(record.algorithm)'") }
            let kind: OATHKind
            switch (record.type, record.period, record.counter) {
            case ("totp", let period?, nil) where period > 0: kind = .totp(period: period)
            case ("hotp", nil, let counter?): kind = .hotp(counter: counter)
            default: throw damaged("account '\(record.name)' has no valid type, period or counter")
            }
            guard OTP.validDigits.contains(record.digits) else { throw damaged("account '\(record.name)' has \(record.digits) digits") }
            guard let publicArea = Data(base64Encoded: record.public), let privateArea = Data(base64Encoded: record.private),
                !publicArea.isEmpty, !privateArea.isEmpty
            else { throw damaged("account '\(record.name)' has no valid key blobs") }
            let account = TPMAccount(
                issuer: record.issuer, name: record.name, kind: kind, algorithm: algorithm, digits: record.digits, hasPIN: record.pin,
                key: TPMKeyBlobs(publicArea: Array(publicArea), privateArea: Array(privateArea)))
            let credential = OATHCredential(issuer: account.issuer, name: account.name, kind: kind, algorithm: algorithm, digits: account.digits, secret: [0])
            do { try credential.validate() } catch { throw damaged("account '\(record.name)': \(error)") }
            return account
        }.sorted { $0.id < $1.id }
    }
}
