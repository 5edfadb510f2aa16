import OATH
import SealedStore

/// Where OATH accounts live. The commands (`code`, `accounts …`, the MFA
/// codes behind `auth`) work the same on each; a later source (a TPM, a
/// remote agent) is one more conformance, not a change to the commands.
public enum TokenKind: String, CaseIterable, Sendable {
    /// The YubiKey's OATH applet (PC/SC or direct CCID).
    case yubikey
    /// The passphrase-sealed local vault.
    case sealed
    /// HMAC keys inside this machine's TPM 2.0.
    case tpm
    /// A latchkey agent's token, on another machine (codes only).
    case agent
}

/// What using a token may take from the person.
public struct TokenNeeds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// A touch, for accounts that require one.
    public static let touch = TokenNeeds(rawValue: 1)
    /// The key's OATH password, when it has one.
    public static let password = TokenNeeds(rawValue: 2)
    /// The vault passphrase (and a scrypt run) to unlock.
    public static let unlock = TokenNeeds(rawValue: 4)
    /// A TPM key's PIN, for keys that have one.
    public static let pin = TokenNeeds(rawValue: 8)
}

/// One account as a token lists it: ids and parameters, never the secret.
public struct TokenAccount: Sendable, Equatable, Encodable {
    public var id: String
    public var issuer: String?
    public var name: String
    public var type: String
    public var algorithm: String
    /// Known for sealed accounts; a key's LIST does not tell it.
    public var digits: Int?
    public var period: Int?
    public var touch: Bool?
    public var source: String
}

/// How `add` treats an existing account, and what a key asks of it.
public struct AddOptions: Sendable {
    public var replace: Bool
    /// On a key: every code needs a touch.
    public var requireTouch: Bool

    public init(replace: Bool = false, requireTouch: Bool = false) {
        self.replace = replace
        self.requireTouch = requireTouch
    }
}

/// A place that holds OATH accounts and makes their codes.
///
/// Every operation names the place it acted on (the key's reader, the
/// vault's file) in its result, for the one line the CLI prints.
public protocol TokenSource {
    var kind: TokenKind { get }
    /// What using this source may take from the person.
    var needs: TokenNeeds { get }

    /// Every account, sorted by id.
    func list() throws -> (accounts: [TokenAccount], place: String)
    /// Adds `credential` (an error when its id exists, unless `options.replace`).
    func add(_ credential: OATHCredential, options: AddOptions) throws -> String
    /// Deletes the account with exactly this id.
    func delete(id: String) throws -> String
    /// Renames the account with exactly this id to `newName` (`[issuer:]name`);
    /// returns the new id.
    func rename(id: String, to newName: String) throws -> (newID: String, place: String)
    /// The current code of the account `query` names: an exact id, or a
    /// unique part of one; with no query, the only account. HOTP counters
    /// advance (and are saved) before the code is returned.
    func code(query: String?) throws -> String
    /// The codes at each of `times` of the first of `ids` that exists
    /// (exact ids, for an MFA device: TOTP only); ``NoSuchAccount`` with the
    /// ids there are when none does.
    func codes(anyOf ids: [String], at times: [UInt64]) throws -> Result<[String], NoSuchAccount>
}

/// None of the ids asked for is on the token.
public struct NoSuchAccount: Error, Sendable {
    /// The ids the token has.
    public var existing: [String]
    /// "the YubiKey", "the sealed vault".
    public var place: String
}

extension TokenAccount {
    init(_ credential: OATHCredential) {
        id = credential.id.description
        issuer = credential.issuer
        name = credential.name
        type = credential.kind.isTOTP ? "totp" : "hotp"
        algorithm = credential.algorithm.rawValue
        digits = credential.digits
        period = credential.period
        touch = false
        source = TokenKind.sealed.rawValue
    }
}

extension TokenSource {
    /// The codes at `times` of the account an AWS virtual MFA device has on
    /// this token: named by the profile's `latchkey_oath_account`, else the
    /// serial ARN, else as the AWS console's QR code names it.
    public func mfaCodes(account: String?, serial: String, at times: [UInt64]) throws -> [String] {
        let names = AWSAccountNames.candidates(account: account, serial: serial)
        switch try codes(anyOf: names, at: times) {
        case .success(let codes):
            return codes
        case .failure(let missing):
            throw LatchkeyError(
                .accountNotFound,
                "no account named \(names.map { "'\($0)'" }.joined(separator: " or ")) on \(missing.place); set latchkey_oath_account in the profile"
                    + (missing.existing.isEmpty ? "" : " (accounts: \(missing.existing.joined(separator: ", ")))"))
        }
    }

    /// `newName` for the account `old`: the old id's period prefix (TOTP, not
    /// 30 s) followed by the new `[issuer:]name`.
    static func renamedID(from old: String, isTOTP: Bool, to newName: String) -> String {
        let period = CredentialID(parsing: old, isTOTP: isTOTP).period
        let parsed = CredentialID(parsing: newName, isTOTP: false)
        return CredentialID(issuer: parsed.issuer, name: parsed.name, period: isTOTP ? period : nil).description
    }
}

extension TokenKind {
    /// How messages name the token: "the YubiKey", "the sealed vault", "the TPM", "the latchkey agent".
    public var placeName: String {
        switch self {
        case .yubikey: "the YubiKey"
        case .sealed: "the sealed vault"
        case .tpm: "the TPM"
        case .agent: "the latchkey agent"
        }
    }

    /// The token of this kind: the one place that decides what "the key"
    /// and "the vault" are made of. Both share the run's `vault` (a key's
    /// remembered access key lives there), so it is unlocked at most once.
    public func source(
        in world: World, key: KeySettings, vault: VaultSession, profileReader: String? = nil,
        newVaultParameters: KDFParameters = .standard, tpm: TPMSettings = TPMSettings()
    ) -> any TokenSource {
        switch self {
        case .yubikey: YubiKeyTokens(access: KeyAccess(world: world, settings: key, vault: vault, profileReader: profileReader))
        case .sealed: SealedTokens(vault: vault, world: world, newVaultParameters: newVaultParameters)
        case .tpm: TPMTokens(world: world, settings: tpm)
        case .agent: AgentTokens(client: AgentClient(world: world))
        }
    }
}
