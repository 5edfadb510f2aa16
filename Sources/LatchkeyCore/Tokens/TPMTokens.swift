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
    public var settings: TPMSettings

    public init(world: World, settings: TPMSettings = TPMSettings()) {
        self.world = world
        self.settings = settings
        connection = TPMConnection.standard(in: world.environment)
    }

    public var kind: TokenKind { .tpm }
    public var needs: TokenNeeds { [.pin] }

    private var place: String { "the TPM (\(connection.tcti))" }

    public func list() throws -> (accounts: [TokenAccount], place: String) {
        let store = try TPMAccountStore.standard(in: world)
        return (try store.accounts().map(\.listed), store.file)
    }

    public func add(_ credential: OATHCredential, options: AddOptions) throws -> String {
        let id = credential.id.description
        let store = try TPMAccountStore.standard(in: world)
        // Asked before the lock is taken: a person typing holds up no writer.
        let pin = try newPIN(for: id)
        try store.update { accounts in
            if !options.replace, accounts.contains(where: { $0.id == id }) {
                throw LatchkeyError(.alreadyExists, "account '\(id)' already exists; add --force to replace it")
            }
            // A key longer than the hash's block is hashed first by HMAC
            // itself (RFC 2104), so storing the hash gives the same codes and
            // keeps the TPM's sensitive data within its 128 bytes.
            var keyBytes = credential.algorithm.deviceKey(for: credential.secret)
            let seed = SecretBytes(consuming: &keyBytes)
            let blobs = try withTPM { tpm throws(TPMError) in try tpm.createHMACKey(seed: seed, hash: credential.algorithm.tpmHash, pin: pin) }
            accounts.removeAll { $0.id == id }
            accounts.append(
                TPMAccount(
                    issuer: credential.issuer, name: credential.name, kind: credential.kind, algorithm: credential.algorithm,
                    digits: credential.digits, hasPIN: pin != nil, key: blobs))
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
        let pin = try self.pin(for: account)
        guard case .hotp = account.kind else {
            return try withTPM { tpm throws(TPMError) in try Self.code(of: account, at: world.unixTime, pin: pin, on: tpm) }
        }
        // The counter advances and is saved before the code is returned:
        // a code shown is never shown again.
        return try withTPM { tpm in
            try store.update { accounts in
                guard let index = accounts.firstIndex(where: { $0.id == id }), case .hotp(let counter) = accounts[index].kind else {
                    throw LatchkeyError(.accountNotFound, "account '\(id)' was removed meanwhile")
                }
                let code = try Self.code(of: accounts[index], at: 0, pin: pin, on: tpm)
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
        let pin = try self.pin(for: account)
        return .success(
            try withTPM { tpm throws(TPMError) in try times.map { time throws(TPMError) in try Self.code(of: account, at: time, pin: pin, on: tpm) } })
    }

    /// The code of `account` at `unixTime` (TOTP) or at its stored counter
    /// (HOTP): one TPM2_HMAC, then RFC 4226 truncation.
    private static func code(of account: TPMAccount, at unixTime: UInt64, pin: SecretBytes?, on tpm: TPMDevice) throws(TPMError) -> String {
        let counter: UInt64 = switch account.kind {
        case .totp(let period): OTP.timeStep(at: unixTime, period: period)
        case .hotp(let counter): counter
        }
        var mac = try tpm.hmac(OTP.message(counter: counter), key: account.key, pin: pin)
        defer { mac.wipe() }
        return OTP.code(fromHMAC: mac, digits: account.digits)
    }

    // MARK: - PINs

    /// The PIN for a new key: `--tpm-pin-file`, else `LATCHKEY_TPM_PIN`,
    /// else asked twice on the terminal with `--tpm-pin`; `nil` (no PIN)
    /// when none of them is given.
    private func newPIN(for id: String) throws -> SecretBytes? {
        if let given = try givenPIN() { return given }
        guard settings.askPIN else { return nil }
        guard let typed = try world.prompter.askSecret("New TPM PIN for '\(id)': ", confirm: true, what: "PIN") else {
            throw LatchkeyError(.tpmPIN, "--tpm-pin needs a terminal to ask on: set \(TPMSettings.variable) or pass --tpm-pin-file PATH")
        }
        return try Self.checked(typed)
    }

    /// The PIN of an account's key, when it has one: `--tpm-pin-file`, else
    /// `LATCHKEY_TPM_PIN`, else asked on the terminal.
    private func pin(for account: TPMAccount) throws -> SecretBytes? {
        guard account.hasPIN else { return nil }
        if let given = try givenPIN() { return given }
        guard let typed = try world.prompter.askSecret("TPM PIN for '\(account.id)': ", confirm: false, what: "PIN") else {
            throw LatchkeyError(
                .tpmPIN, "'\(account.id)' needs its TPM PIN and there is no terminal to ask on: set \(TPMSettings.variable) or pass --tpm-pin-file PATH")
        }
        return try Self.checked(typed)
    }

    private func givenPIN() throws -> SecretBytes? {
        if let file = settings.pinFile {
            do { return try Self.checked(try Passphrases.read(file)) } catch let error as LatchkeyError where error.category == .noPassphrase {
                throw LatchkeyError(.tpmPIN, "TPM PIN file \(file) does not exist")
            }
        }
        if let value = world.environment.nonEmpty(TPMSettings.variable) { return try Self.checked(SecretBytes(Array(value.utf8))) }
        return nil
    }

    /// A key's authValue is at most its name hash's size (SHA-256: 32 bytes).
    private static func checked(_ pin: SecretBytes) throws -> SecretBytes {
        guard pin.count <= 32 else { throw LatchkeyError(.invalidInput, "the TPM PIN is longer than 32 bytes") }
        return pin
    }

    /// Opens the TPM for `body`, turning tpm2-tss's failures into one line
    /// a person can act on.
    private func withTPM<T>(_ body: (TPMDevice) throws -> T) throws -> T {
        var opened: TPMDevice?
        do {
            let tpm = try TPMDevice(connection)
            opened = tpm
            return try body(tpm)
        } catch let error as TPMError {
            throw TPMFailure.explain(error, connection: connection, lockout: opened.flatMap(TPMFailure.lockoutState))
        }
    }
}

/// How TPM keys' PINs are given (`--tpm-pin`, `--tpm-pin-file`; the
/// variable is read from the World's environment).
public struct TPMSettings: Sendable, Equatable {
    public static let variable = "LATCHKEY_TPM_PIN"
    /// `--tpm-pin`: a new key gets a PIN asked on the terminal (an
    /// existing key with a PIN is asked for it anyway, when there is one).
    public var askPIN = false
    /// `--tpm-pin-file PATH`: the PIN is this file's contents (one trailing
    /// newline ignored).
    public var pinFile: String?

    public init(askPIN: Bool = false, pinFile: String? = nil) {
        self.askPIN = askPIN
        self.pinFile = pinFile
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
    /// The dictionary-attack counters, read after a failure to say how
    /// many tries are left or how long the lockout lasts.
    struct Lockout {
        var failures: UInt32
        var maximum: UInt32
        var intervalSeconds: UInt32
    }

    static func lockoutState(_ tpm: TPMDevice) -> Lockout? {
        guard let failures = try? tpm.property(.lockoutCounter), let maximum = try? tpm.property(.maxAuthFail),
            let interval = try? tpm.property(.lockoutInterval)
        else { return nil }
        return Lockout(failures: failures, maximum: maximum, intervalSeconds: interval)
    }

    static func explain(_ error: TPMError, connection: TPMConnection, lockout: Lockout? = nil) -> LatchkeyError {
        switch error.kind {
        case .noLibrary:
            return LatchkeyError(.tpm, "\(error.text) (Debian: sudo apt-get install libtss2-esys-3.0.2-0 libtss2-tctildr0)")
        case .badArgument:
            return LatchkeyError(.invalidInput, error.text)
        case .noAnswer:
            return LatchkeyError(
                .tpm, "the TPM did not answer \(error.function) within \(TPMDevice.callLimitSeconds) s through '\(connection.tcti)': it, its resource manager or the simulator is stuck; check it with `tpm2_getcap properties-fixed`")
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
            guard let lockout else { return LatchkeyError(.tpmPIN, "wrong TPM PIN") }
            guard lockout.maximum > lockout.failures else {
                return LatchkeyError(.tpmPIN, "wrong TPM PIN; the TPM is now locked out and allows another try within \(lockout.intervalSeconds) s")
            }
            let left = lockout.maximum - lockout.failures
            return LatchkeyError(.tpmPIN, "wrong TPM PIN (\(left) more wrong \(left == 1 ? "try" : "tries") and the TPM locks out)")
        case .lockout:
            let wait = lockout.map { "; it allows another try within \($0.intervalSeconds) s" } ?? ""
            return LatchkeyError(
                .tpmPIN, "the TPM is locked out after too many wrong PINs\(wait) (the owner can reset it: tpm2_dictionarylockout --clear-lockout)")
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
