import AWSConfig
import AWSSigning
import CredentialFlow
import OATH
import SealedStore
import SessionCache
import STS
import SystemSupport
import YKOATH
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Everything a credentials command needs: the loaded config, the plan for
/// the chosen profile, and a broker wired to the key, the vault, the
/// terminal and STS.
struct CredentialSupply {
    var context: CommandContext
    var config: SharedConfig
    var plan: CredentialPlan
    var cache: SessionCache

    init(options: CredentialOptions, context: CommandContext) throws {
        try self.init(profile: options.profile, durationSeconds: options.durationSeconds, context: context)
    }

    init(profile: String?, durationSeconds: Int?, context: CommandContext) throws {
        self.context = context
        config = try SharedConfig.load(environment: context.environment)
        let location = try context.vaultLocation()
        let resolver = ProfileResolver(
            config: config, environment: context.environment, sealedKeys: SealedKeyIndex.read(at: location),
            durationSeconds: durationSeconds)
        plan = try resolver.plan(profile: SharedConfig.selectedProfileName(explicit: profile, environment: context.environment))
        guard let cache = SessionCache.standard(in: context.environment) else {
            throw CLIError(.failure, "cannot find the home directory: set HOME or XDG_CACHE_HOME")
        }
        self.cache = cache
    }

    /// The profile's credentials: cached while more than 15 minutes remain,
    /// else new ones (with an MFA code where the plan needs one).
    func credentials(_ options: CredentialOptions) throws -> CachedSession {
        let vault = SharedVault(context: context, passphraseFile: options.passphrase.passphraseFile)
        var broker = CredentialBroker(
            cache: cache, transport: CurlTransport(userAgent: "latchkey"),
            codes: CLIMFACodes(options: options, context: context, vault: vault),
            keys: CLIKeyStore(config: config, environment: context.environment, vault: vault),
            environment: context.environment, now: context.now)
        broker.refresh = options.refresh
        broker.note = context.standardError
        return try broker.credentials(for: plan)
    }
}

/// The vault, unlocked at most once per run however many secrets are taken
/// from it (sealed keys and a sealed MFA account cost one passphrase).
final class SharedVault {
    let context: CommandContext
    let passphraseFile: String?
    private var unlocked: UnlockedVault??

    init(context: CommandContext, passphraseFile: String?) {
        self.context = context
        self.passphraseFile = passphraseFile
    }

    func contents() throws -> VaultContents {
        if unlocked == nil {
            let location = try context.vaultLocation()
            let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphraseFile)
            unlocked = .some(try Vault.unlock(at: location, passphrases: passphrases))
        }
        guard let vault = unlocked ?? nil else {
            throw CLIError(.accountNotFound, "there is no sealed vault yet (see `latchkey vault init`)")
        }
        return vault.contents
    }
}

/// Long-term keys from the vault, the shared files or the environment.
struct CLIKeyStore: LongTermKeyStore {
    var config: SharedConfig
    var environment: Environment
    var vault: SharedVault

    func credentials(for source: LongTermKeySource) throws -> AWSCredentials {
        switch source {
        case .sealed(let profile, _):
            guard let entry = try vault.contents().entry(.awsAccessKey, named: profile), let key = SealedAWSKey(entry) else {
                throw CLIError(.noCredentials, "the keys sealed for profile '\(profile)' are gone from the vault (run `latchkey keys list`)")
            }
            return AWSCredentials(
                accessKeyID: key.accessKeyID, secretAccessKey: String(decoding: key.secretAccessKey.bytes, as: UTF8.self))
        case .sharedFile(let profile, _):
            guard let section = config.profile(named: profile), let id = section.nonEmpty("aws_access_key_id"),
                let secret = section.nonEmpty("aws_secret_access_key")
            else { throw CLIError(.noCredentials, "profile '\(profile)' lost its keys") }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret)
        case .environment:
            guard let id = environment.nonEmpty("AWS_ACCESS_KEY_ID"), let secret = environment.nonEmpty("AWS_SECRET_ACCESS_KEY") else {
                throw CLIError(.noCredentials, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set")
            }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret)
        }
    }
}

/// MFA codes from the flag, the profile's `latchkey_mfa`, or the terminal.
struct CLIMFACodes: MFACodeSource {
    var options: CredentialOptions
    var context: CommandContext
    var vault: SharedVault

    func source(for use: MFAUse) throws -> MFASource {
        if options.mfaCode != nil { return .prompt }
        if let chosen = options.mfaSource { return chosen }
        guard let preferred = use.preferredSource else { return .prompt }
        guard let source = MFASource(rawValue: preferred) else {
            throw CLIError(.invalidInput, "profile '\(use.profile)': latchkey_mfa must be yubikey, sealed or prompt, not '\(preferred)'")
        }
        return source
    }

    func makesCodes(for use: MFAUse) -> Bool {
        (try? source(for: use)).map { $0 != .prompt } ?? false
    }

    func code(for use: MFAUse, serial: String, at unixTime: UInt64) throws -> String {
        let names = AWSAccountNames.candidates(account: use.oathAccount, serial: serial)
        switch try source(for: use) {
        case .yubikey:
            var keyOptions = options.key
            if keyOptions.reader == nil, context.environment.nonEmpty(KeyAccess.readerVariable) == nil { keyOptions.reader = use.reader }
            let access = KeyAccess(options: keyOptions, context: context, passphraseFile: options.passphrase.passphraseFile)
            return try access.withSession { session, _ in
                do {
                    return try KeyCode.calculate { try session.code(forExactID: names[0], at: unixTime) }
                } catch OATHSessionError.noSuchCredential {
                    let ids = try session.list().map(\.id)
                    guard let id = names.first(where: ids.contains) else { throw Self.noAccount(names, on: "the YubiKey", ids: ids) }
                    return try KeyCode.calculate { try session.code(forExactID: id, at: unixTime) }
                }
            }
        case .sealed:
            let accounts = SealedAccounts.all(in: try vault.contents())
            let ids = accounts.map(\.id.description)
            guard let id = names.first(where: ids.contains), let account = accounts.first(where: { $0.id.description == id }) else {
                throw Self.noAccount(names, on: "the sealed vault", ids: ids)
            }
            guard account.kind.isTOTP else { throw CLIError(.invalidInput, "the sealed account '\(id)' is HOTP; AWS MFA needs TOTP") }
            return account.code(at: unixTime)
        case .prompt:
            return try typedCode(for: use, serial: serial)
        }
    }

    static func noAccount(_ names: [String], on place: String, ids: [String]) -> CLIError {
        CLIError(.accountNotFound, "no account named \(names.map { "'\($0)'" }.joined(separator: " or ")) on \(place); set latchkey_oath_account in the profile" + (ids.isEmpty ? "" : " (accounts: \(ids.joined(separator: ", ")))"))
    }

    func typedCode(for use: MFAUse, serial: String) throws -> String {
        if let code = options.mfaCode { return code }
        guard let tty = Terminal.open() else {
            throw CLIError(.noPassphrase, "an MFA code for \(serial) is needed and there is no terminal to ask on: pass --yubikey, --sealed or --mfa-code, or set latchkey_mfa in profile '\(use.profile)'")
        }
        tty.write("MFA code for \(serial): ")
        let line = try tty.readLine()?.bytes ?? []
        return String(decoding: line, as: UTF8.self).filter { !$0.isWhitespace }
    }

    /// Counts down on the terminal; without one it waits silently, since
    /// stderr is for the one error line (an SDK shows a credential process's
    /// stderr only when it fails).
    func wait(seconds: UInt64, serial: String) {
        let tty = Terminal.open()
        var left = seconds
        while left > 0 {
            tty?.write("\r\u{1B}[KThe current code was already used; next code in \(left) s…")
            sleep(1)
            left -= 1
        }
        tty?.write("\r\u{1B}[K")
    }
}

/// The names an AWS virtual MFA device may have as an OATH account: the one
/// the profile names (or the serial ARN), then what the AWS console's QR code
/// names it: `Amazon Web Services:USER@ACCOUNT`.
enum AWSAccountNames {
    static func candidates(account: String?, serial: String) -> [String] {
        var names = [account ?? serial]
        let parts = serial.split(separator: ":", omittingEmptySubsequences: false)
        if account == nil, parts.count == 6, parts[2] == "iam", parts[5].hasPrefix("mfa/"),
            let user = parts[5].split(separator: "/").last
        {
            names.append("Amazon Web Services:\(user)@\(parts[4])")
            names.append("\(user)@\(parts[4])")
        }
        return names
    }
}
