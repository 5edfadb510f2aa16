import ArgumentParser
import OATH
import SealedStore
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
            One id per line; HOTP accounts are marked. --json prints an array of objects with
            id, issuer, name, type, algorithm, digits and period (TOTP).

            Examples:
              latchkey accounts list --sealed
              latchkey accounts list --sealed --json
            """)

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var source: SourceOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        let credentials = try Vault.unlock(at: location, passphrases: passphrases).map { SealedAccounts.all(in: $0.contents) } ?? []
        if json {
            let listed = credentials.map(ListedAccount.init)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let text = listed.isEmpty ? "[]" : String(decoding: try encoder.encode(listed), as: UTF8.self)
            context.standardOutput(text + "\n")
        } else {
            for credential in credentials {
                let marker = credential.kind.isTOTP ? "" : "  [HOTP]"
                context.standardOutput("\(credential.id)\(marker)\n")
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
    var digits: Int
    var period: Int?
    var source: String

    init(_ credential: OATHCredential) {
        id = credential.id.description
        issuer = credential.issuer
        name = credential.name
        type = credential.kind.isTOTP ? "totp" : "hotp"
        algorithm = credential.algorithm.rawValue
        digits = credential.digits
        period = credential.period
        source = "sealed"
    }
}
