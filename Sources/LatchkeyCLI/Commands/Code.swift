import ArgumentParser
import OATH
import SealedStore
import SystemSupport

/// `latchkey code [NAME] --sealed`: prints one code, and nothing else, on stdout.
struct Code: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the current code of one account.",
        discussion: """
            NAME is an exact account id or a unique part of one (case-insensitive). With no
            NAME and a single account, that account. Only the code goes to stdout, so
            `$(latchkey code alice --sealed)` is the code. An HOTP account's counter
            advances and is saved before the code is printed.

            Examples:
              latchkey code --sealed
              latchkey code alice --sealed
              latchkey code arn:aws:iam::123456789012:mfa/alice --sealed
            """)

    @Argument(help: "Account id, or a unique part of it.")
    var name: String?

    @OptionGroup var source: SourceOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        guard let vault = try Vault.unlock(at: location, passphrases: passphrases) else {
            throw CLIError(.accountNotFound, "no vault at \(location.file): add an account first with `latchkey accounts add NAME --sealed`")
        }
        let credential = try AccountSelection.select(name, from: SealedAccounts.all(in: vault.contents))
        let code: String
        switch credential.kind {
        case .totp:
            code = credential.code(at: context.now())
        case .hotp:
            code = try vault.update { contents in
                guard let entry = contents.entry(.oathAccount, named: credential.id.description),
                      var current = SealedAccounts.credential(from: entry),
                      case .hotp(let counter) = current.kind
                else { throw CLIError(.accountNotFound, "account '\(credential.id)' was removed meanwhile") }
                let value = current.code(at: 0)
                current.kind = .hotp(counter: counter &+ 1)
                contents.upsert(SealedAccounts.entry(for: current))
                current.secret.wipe()
                return value
            }
        }
        context.standardOutput(code + "\n")
    }
}

/// Turns a name into one account, or an error that lists the candidates.
enum AccountSelection {
    static func select(_ query: String?, from credentials: [OATHCredential]) throws -> OATHCredential {
        let ids = credentials.map(\.id.description)
        switch CredentialMatch.select(query, from: ids) {
        case .found(let id):
            guard let credential = credentials.first(where: { $0.id.description == id }) else { break }
            return credential
        case .none(let candidates):
            if candidates.isEmpty { throw CLIError(.accountNotFound, "there are no accounts yet: add one with `latchkey accounts add NAME --sealed`") }
            throw CLIError(.accountNotFound, "no account matches '\(query ?? "")'; accounts: \(candidates.joined(separator: ", "))")
        case .ambiguous(let matches):
            let what = query.map { "'\($0)' matches" } ?? "there are"
            throw CLIError(.accountNotFound, "\(what) several accounts, name one: \(matches.joined(separator: ", "))")
        }
        throw CLIError(.accountNotFound, "no account matches '\(query ?? "")'")
    }
}
