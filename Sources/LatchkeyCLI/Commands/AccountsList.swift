import LatchkeyCore
import ArgumentParser
import OATH
import SealedStore
import YKOATH
import FoundationEssentials

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

    func run(_ world: World) throws {
        let listed = try source.token(key: key, passphrase: passphrase).source(world).list().accounts
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let text = listed.isEmpty ? "[]" : String(decoding: try encoder.encode(listed), as: UTF8.self)
            world.standardOutput(text + "\n")
        } else {
            for account in listed {
                let markers = (account.type == "hotp" ? "  [HOTP]" : "") + (account.touch == true ? "  [touch]" : "")
                world.standardOutput("\(account.id)\(markers)\n")
            }
        }
    }
}

