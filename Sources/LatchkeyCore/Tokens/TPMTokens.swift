import OATH
import SystemSupport
import TPM

#if canImport(Glibc)
import Glibc
#endif

/// OATH accounts whose secrets live inside the machine's TPM 2.0 as HMAC
/// keys: codes need no passphrase, and the seed cannot be copied off the box.
/// The TPM is reached through the TCTI `LATCHKEY_TPM_TCTI`, else
/// `TPM2TOOLS_TCTI`, else the kernel's resource manager `/dev/tpmrm0`.
public struct TPMTokens: TokenSource {
    public var world: World
    public var connection: TPMConnection

    public init(world: World) {
        self.world = world
        connection = TPMConnection.standard(in: world.environment)
    }

    public var kind: TokenKind { .tpm }
    public var needs: TokenNeeds { [] }

    private var place: String { "the TPM (\(connection.tcti))" }

    public func list() throws -> (accounts: [TokenAccount], place: String) {
        let store = try TPMAccountStore.standard(in: world)
        return (try store.accounts().map(\.listed), store.file)
    }

    public func add(_ credential: OATHCredential, options: AddOptions) throws -> String {
        let id = credential.id.description
        let store = try TPMAccountStore.standard(in: world)
        try store.update { accounts in
            if !options.replace, accounts.contains(where: { $0.id == id }) {
                throw LatchkeyError(.alreadyExists, "account '\(id)' already exists; add --force to replace it")
            }
            // A key longer than the hash's block is hashed first by HMAC
            // itself (RFC 2104), so storing the hash gives the same codes and
            // keeps the TPM's sensitive data within its 128 bytes.
            var keyBytes = credential.algorithm.deviceKey(for: credential.secret)
            let seed = SecretBytes(consuming: &keyBytes)
            let blobs = try withTPM { tpm throws(TPMError) in try tpm.createHMACKey(seed: seed, hash: credential.algorithm.tpmHash, pin: nil) }
            accounts.removeAll { $0.id == id }
            accounts.append(
                TPMAccount(
                    issuer: credential.issuer, name: credential.name, kind: credential.kind, algorithm: credential.algorithm,
                    digits: credential.digits, hasPIN: false, key: blobs))
        }
        return place
    }

    public func delete(id: String) throws -> String {
        let store = try TPMAccountStore.standard(in: world)
        try store.update { accounts in
            try AccountSelection.requireExact(id, in: accounts.map(\.id))
            accounts.removeAll { $0.id == id }
        }
        return store.file
    }

    public func rename(id: String, to newName: String) throws -> (newID: String, place: String) {
        let store = try TPMAccountStore.standard(in: world)
        let newID = try store.update { accounts in
            try AccountSelection.requireExact(id, in: accounts.map(\.id))
            guard let index = accounts.firstIndex(where: { $0.id == id }) else {
                throw LatchkeyError(.accountNotFound, "no account '\(id)'")
            }
            let renamed = CredentialID(parsing: newName, isTOTP: false)
            var account = accounts[index]
            account.issuer = renamed.issuer
            account.name = renamed.name
            let check = OATHCredential(issuer: account.issuer, name: account.name, kind: account.kind, digits: account.digits, secret: [0])
            try check.validate()
            guard !accounts.contains(where: { $0.id == account.id }) else {
                throw LatchkeyError(.alreadyExists, "an account '\(account.id)' already exists")
            }
            accounts[index] = account
            return account.id
        }
        return (newID, store.file)
    }

    public func code(query: String?) throws -> String {
        let store = try TPMAccountStore.standard(in: world)
        let accounts = try store.accounts()
        if accounts.isEmpty {
            throw LatchkeyError(.accountNotFound, "no TPM accounts in \(store.file): add one with `latchkey accounts add NAME --tpm`")
        }
        let id = try AccountSelection.select(query, from: accounts.map(\.id))
        guard let account = accounts.first(where: { $0.id == id }) else { throw LatchkeyError(.accountNotFound, "no account '\(id)'") }
        guard case .hotp = account.kind else {
            return try withTPM { tpm throws(TPMError) in try Self.code(of: account, at: world.unixTime, on: tpm) }
        }
        // The counter advances and is saved before the code is returned:
        // a code shown is never shown again.
        return try withTPM { tpm in
            try store.update { accounts in
                guard let index = accounts.firstIndex(where: { $0.id == id }), case .hotp(let counter) = accounts[index].kind else {
                    throw LatchkeyError(.accountNotFound, "account '\(id)' was removed meanwhile")
                }
                let code = try Self.code(of: accounts[index], at: 0, on: tpm)
                accounts[index].kind = .hotp(counter: counter &+ 1)
                return code
            }
        }
    }

    public func codes(anyOf ids: [String], at times: [UInt64]) throws -> Result<[String], NoSuchAccount> {
        let accounts = try TPMAccountStore.standard(in: world).accounts()
        let existing = accounts.map(\.id)
        guard let id = ids.first(where: existing.contains), let account = accounts.first(where: { $0.id == id }) else {
            return .failure(NoSuchAccount(existing: existing, place: "the TPM"))
        }
        guard account.kind.isTOTP else { throw LatchkeyError(.invalidInput, "the TPM account '\(id)' is HOTP; AWS MFA needs TOTP") }
        return .success(try withTPM { tpm throws(TPMError) in try times.map { time throws(TPMError) in try Self.code(of: account, at: time, on: tpm) } })
    }

    /// The code of `account` at `unixTime` (TOTP) or at its stored counter
    /// (HOTP): one TPM2_HMAC, then RFC 4226 truncation.
    private static func code(of account: TPMAccount, at unixTime: UInt64, on tpm: TPMDevice) throws(TPMError) -> String {
        let counter: UInt64 = switch account.kind {
        case .totp(let period): OTP.timeStep(at: unixTime, period: period)
        case .hotp(let counter): counter
        }
        var message = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { message[index] = UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * index)) }
        var mac = try tpm.hmac(message, key: account.key, pin: nil)
        defer { mac.wipe() }
        return OTP.code(fromHMAC: mac, digits: account.digits)
    }

    /// Opens the TPM for `body`, turning tpm2-tss's failures into one line
    /// a person can act on.
    private func withTPM<T>(_ body: (TPMDevice) throws -> T) throws -> T {
        do {
            let tpm = try TPMDevice(connection)
            return try body(tpm)
        } catch let error as TPMError {
            throw TPMFailure.explain(error, connection: connection)
        }
    }
}

extension OATHAlgorithm {
    /// The TPM's algorithm id for this hash.
    var tpmHash: TPMHash {
        switch self {
        case .sha1: .sha1
        case .sha256: .sha256
        case .sha512: .sha512
        }
    }
}

/// tpm2-tss's failures as one line each, with the fix where there is one.
enum TPMFailure {
    static func explain(_ error: TPMError, connection: TPMConnection) -> LatchkeyError {
        switch error.kind {
        case .noLibrary:
            return LatchkeyError(.tpm, "\(error.text) (Debian: sudo apt-get install libtss2-esys-3.0.2-0 libtss2-tctildr0)")
        case .unreachable:
            if let device = connection.devicePath {
                if access(device, F_OK) != 0 {
                    return LatchkeyError(.tpm, "no TPM: \(device) does not exist (enable the TPM in the firmware or VM settings, or set LATCHKEY_TPM_TCTI)")
                }
                if access(device, R_OK | W_OK) != 0 {
                    return LatchkeyError(
                        .tpm, "no permission to use \(device): add yourself to the tss group (sudo usermod -aG tss $USER) and log in again")
                }
            }
            return LatchkeyError(.tpm, "cannot reach the TPM through '\(connection.tcti)': \(error)")
        case .wrongAuth:
            return LatchkeyError(.tpmPIN, "wrong TPM PIN")
        case .lockout:
            return LatchkeyError(.tpmPIN, "the TPM is locked out after too many wrong PINs; wait, or reset it with tpm2_dictionarylockout --clear-lockout")
        case .foreignKey:
            return LatchkeyError(
                .tpmForeignKey,
                "the account's key was made by another TPM, or this TPM was cleared since: it cannot be loaded here; add the account again (\(error))")
        case .unsupportedAlgorithm:
            return LatchkeyError(.tpm, "this TPM does not offer that HMAC hash (\(error)); use SHA1 or SHA256")
        case .damagedBlob:
            return LatchkeyError(.vaultDamaged, "the account's TPM key blobs are damaged (\(error)); add the account again")
        case .other:
            return LatchkeyError(.tpm, "the TPM failed: \(error)")
        }
    }
}
