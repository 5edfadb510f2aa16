import ArgumentParser
import OATH
import SealedStore
import YKOATH
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `latchkey accounts list --sealed [--json]`: ids, never secrets.
struct AccountsList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List accounts (ids and parameters, never secrets).",
        discussion: """
            One id per line; HOTP and touch-required accounts are marked. --json prints an
            array of objects with id, issuer, name, type, algorithm, period (TOTP), touch, and
            (sealed accounts) digits. On a key this costs LIST and CALCULATE ALL (which tells
            which accounts need a touch, without waiting for one).

            Examples:
              latchkey accounts list --yubikey
              latchkey accounts list --sealed --json
            """)

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let listed: [ListedAccount]
        if source.isYubiKey {
            let access = KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile)
            listed = try access.withSession { session, _ in
                let credentials = try session.list()
                let results = try session.calculateAll(challenge: OATHSession.challenge(at: context.now(), period: 30))
                var touch: Set<[UInt8]> = []
                for (id, result) in results { if case .touchRequired = result { touch.insert(id) } }
                return credentials.map { ListedAccount($0, touch: touch.contains($0.idBytes)) }
                    .sorted { $0.id.lowercased() < $1.id.lowercased() }
            }
        } else {
            let location = try context.vaultLocation()
            let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
            let credentials = try Vault.unlock(at: location, passphrases: passphrases).map { SealedAccounts.all(in: $0.contents) } ?? []
            listed = credentials.map(ListedAccount.init)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let text = listed.isEmpty ? "[]" : String(decoding: try encoder.encode(listed), as: UTF8.self)
            context.standardOutput(text + "\n")
        } else {
            for account in listed {
                let markers = (account.type == "hotp" ? "  [HOTP]" : "") + (account.touch == true ? "  [touch]" : "")
                context.standardOutput("\(account.id)\(markers)\n")
            }
        }
    }
}

/// One account as `accounts list --json` shows it.
struct ListedAccount: Encodable {
    var id: String
    var issuer: String?
    var name: String
    var type: String
    var algorithm: String
    var digits: Int?
    var period: Int?
    var touch: Bool?
    var source: String

    init(_ credential: OATHCredential) {
        id = credential.id.description
        issuer = credential.issuer
        name = credential.name
        type = credential.kind.isTOTP ? "totp" : "hotp"
        algorithm = credential.algorithm.rawValue
        digits = credential.digits
        period = credential.period
        touch = false
        source = "sealed"
    }

    /// A key's LIST does not tell the digits; CALCULATE ALL tells touch.
    init(_ listed: OATHListedCredential, touch: Bool) {
        let parsed = CredentialID(parsing: listed.id, isTOTP: listed.isTOTP)
        id = listed.id
        issuer = parsed.issuer
        name = parsed.name
        type = listed.isTOTP ? "totp" : "hotp"
        algorithm = listed.algorithm?.rawValue ?? "unknown"
        period = parsed.period
        self.touch = touch
        source = "yubikey"
    }
}
