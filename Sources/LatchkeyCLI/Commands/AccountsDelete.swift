import ArgumentParser
import OATH
import SealedStore

/// `latchkey accounts delete NAME --sealed`: needs the exact id.
struct AccountsDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an account (give its exact id).",
        discussion: """
            Deleting cannot be undone, so a partial name is not enough: when NAME is not an
            exact id, latchkey says which id it would match and deletes nothing.

            Example:
              latchkey accounts delete AWS:alice --sealed
            """)

    @Argument(help: "The account's exact id, as `accounts list` shows it.")
    var name: String

    @OptionGroup var source: SourceOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        try Vault.update(at: location, passphrases: passphrases, creatingWith: nil) { contents in
            if contents.remove(.oathAccount, named: name) { return }
            let ids = SealedAccounts.all(in: contents).map(\.id.description)
            if case .found(let id) = CredentialMatch.select(name, from: ids) {
                throw CLIError(.accountNotFound, "no account has the id '\(name)'; did you mean '\(id)'? (delete needs the exact id)")
            }
            _ = try AccountSelection.select(name, from: SealedAccounts.all(in: contents))
            throw CLIError(.accountNotFound, "no account has the id '\(name)'")
        }
        context.standardError("Deleted '\(name)' from \(location.file)\n")
    }
}
