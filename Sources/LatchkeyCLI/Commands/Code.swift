import ArgumentParser
import OATH
import SealedStore
import SystemSupport
import YKOATH

/// `latchkey code [NAME] (--yubikey | --sealed)`: prints one code, and nothing
/// else, on stdout.
struct Code: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the current code of one account.",
        discussion: """
            NAME is an exact account id or a unique part of one (case-insensitive). With no
            NAME and a single account, that account. Only the code goes to stdout, so
            `$(latchkey code alice --yubikey)` is the code.

            On a YubiKey an exact id costs two APDUs (SELECT, CALCULATE; three with a
            password); a partial name costs a LIST too. For a touch-required account
            "Touch your YubiKey…" appears on the terminal (or stderr) while the key waits.
            In the sealed vault an HOTP account's counter advances and is saved first.

            Examples:
              latchkey code --sealed
              latchkey code alice --yubikey
              latchkey code arn:aws:iam::123456789012:mfa/alice --yubikey --reader Yubico
            """)

    @Argument(help: "Account id, or a unique part of it.")
    var name: String?

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let code = source.isYubiKey ? try codeFromKey(context) : try codeFromVault(context)
        context.standardOutput(code + "\n")
    }

    private func codeFromKey(_ context: CommandContext) throws -> String {
        let access = KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile)
        return try access.withSession { session, _ in
            if let name {
                do {
                    return try KeyCode.calculate { try session.code(forExactID: name, at: context.now()) }
                } catch OATHSessionError.noSuchCredential {
                    // Not an exact id: look it up below.
                }
            }
            let ids = try session.list().map(\.id)
            let id = try AccountSelection.select(name, from: ids)
            return try KeyCode.calculate { try session.code(forExactID: id, at: context.now()) }
        }
    }

    private func codeFromVault(_ context: CommandContext) throws -> String {
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        guard let vault = try Vault.unlock(at: location, passphrases: passphrases) else {
            throw CLIError(.accountNotFound, "no vault at \(location.file): add an account first with `latchkey accounts add NAME --sealed`")
        }
        let credentials = SealedAccounts.all(in: vault.contents)
        let id = try AccountSelection.select(name, from: credentials.map(\.id.description))
        guard let credential = credentials.first(where: { $0.id.description == id }) else {
            throw CLIError(.accountNotFound, "no account '\(id)'")
        }
        guard case .hotp = credential.kind else { return credential.code(at: context.now()) }
        return try vault.update { contents in
            guard let entry = contents.entry(.oathAccount, named: id),
                  var current = SealedAccounts.credential(from: entry),
                  case .hotp(let counter) = current.kind
            else { throw CLIError(.accountNotFound, "account '\(id)' was removed meanwhile") }
            defer { current.secret.wipe() }
            let value = current.code(at: 0)
            current.kind = .hotp(counter: counter &+ 1)
            try contents.upsert(SealedAccounts.entry(for: current))
            return value
        }
    }
}

/// One CALCULATE on the key, with the touch prompt armed and a touch timeout
/// told apart from a missing password by how long the key waited (a key
/// refuses an unauthenticated CALCULATE at once; it gives up on a touch after
/// about 15 s).
enum KeyCode {
    static let touchTimeoutThresholdSeconds: UInt64 = 5

    static func calculate(_ body: () throws -> String) throws -> String {
        let started = monotonicSeconds()
        do {
            return try TouchPrompt().around(body)
        } catch OATHSessionError.authenticationRequired where monotonicSeconds() - started >= touchTimeoutThresholdSeconds {
            throw CLIError(.touchTimeout, "touch timed out: the key waited for a touch that did not come")
        }
    }
}
