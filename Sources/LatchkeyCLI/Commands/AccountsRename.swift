import LatchkeyCore
import ArgumentParser
import OATH
import SealedStore

/// `latchkey accounts rename ID NEW (--yubikey | --sealed)`.
struct AccountsRename: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename",
        abstract: "Rename an account (give its exact id).",
        discussion: """
            NEW is the new [issuer:]name; a TOTP period other than 30 s is kept as the id's
            prefix. On a YubiKey this needs firmware 5.3.1 or later.

            Examples:
              latchkey accounts rename alice AWS:alice --yubikey
              latchkey accounts rename 60/old new --sealed
            """)

    @Argument(help: "The account's exact id.")
    var name: String

    @Argument(help: "The new [issuer:]name.")
    var newName: String

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        guard !newName.isEmpty else { throw ValidationError("the new name is empty") }
        let token = try source.token(key: key, passphrase: passphrase).source(world)
        let (newID, place) = try token.rename(id: name, to: newName)
        world.standardError("Renamed '\(name)' to '\(newID)' \(token.kind == .yubikey ? "on" : "in") \(place)\n")
    }
}
