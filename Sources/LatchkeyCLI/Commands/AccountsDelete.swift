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

    func run(_ context: CommandContext) throws {
        if source.isYubiKey {
            let access = KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile)
            try access.withSession { session, found in
                try AccountSelection.requireExact(name, in: try session.list().map(\.id))
                try session.delete(idBytes: Array(name.utf8))
                context.standardError("Deleted '\(name)' from the key in \(found.reader)\n")
            }
            return
        }
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        try Vault.update(at: location, passphrases: passphrases, creatingWith: nil) { contents in
            try AccountSelection.requireExact(name, in: SealedAccounts.all(in: contents).map(\.id.description))
            contents.remove(.oathAccount, named: name)
        }
        context.standardError("Deleted '\(name)' from \(location.file)\n")
    }
}
