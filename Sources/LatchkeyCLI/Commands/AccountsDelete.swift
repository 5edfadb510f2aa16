import LatchkeyCore
import ArgumentParser
import OATH
import SealedStore

/// `latchkey accounts delete NAME (--yubikey | --sealed)`: needs the exact id.
struct AccountsDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an account (give its exact id).",
        discussion: """
            Deleting cannot be undone, so a partial name is not enough: when NAME is not an
            exact id, latchkey says which id it would match and deletes nothing.

            Examples:
              latchkey accounts delete AWS:alice --sealed
              latchkey accounts delete arn:aws:iam::123456789012:mfa/alice --yubikey
            """)

    @Argument(help: "The account's exact id, as `accounts list` shows it.")
    var name: String

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let place = try source.token(key: key, passphrase: passphrase).source(world).delete(id: name)
        world.standardError("Deleted '\(name)' from \(place)\n")
    }
}
