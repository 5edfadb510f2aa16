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

    func run(_ context: CommandContext) throws {
        guard !newName.isEmpty else { throw ValidationError("the new name is empty") }
        if source.isYubiKey {
            let access = KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile)
            try access.withSession { session, found in
                let listed = try session.list()
                try AccountSelection.requireExact(name, in: listed.map(\.id))
                let isTOTP = listed.first { $0.id == name }?.isTOTP ?? true
                let newID = Self.newID(from: name, isTOTP: isTOTP, to: newName)
                guard newID.utf8.count <= CredentialID.maximumLength else { throw OATHCredentialError.idTooLong }
                guard !listed.contains(where: { $0.id == newID }) else {
                    throw CLIError(.alreadyExists, "an account '\(newID)' already exists")
                }
                try session.rename(idBytes: Array(name.utf8), to: Array(newID.utf8))
                context.standardError("Renamed '\(name)' to '\(newID)' on the key in \(found.reader)\n")
            }
            return
        }
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        let newID = try Vault.update(at: location, passphrases: passphrases, creatingWith: nil) { contents in
            let credentials = SealedAccounts.all(in: contents)
            try AccountSelection.requireExact(name, in: credentials.map(\.id.description))
            guard var credential = credentials.first(where: { $0.id.description == name }) else {
                throw CLIError(.accountNotFound, "no account '\(name)'")
            }
            defer { credential.secret.wipe() }
            let renamed = CredentialID(parsing: newName, isTOTP: false)
            credential.issuer = renamed.issuer
            credential.name = renamed.name
            try credential.validate()
            let newID = credential.id.description
            guard contents.entry(.oathAccount, named: newID) == nil else {
                throw CLIError(.alreadyExists, "an account '\(newID)' already exists")
            }
            contents.remove(.oathAccount, named: name)
            try contents.upsert(SealedAccounts.entry(for: credential))
            return newID
        }
        context.standardError("Renamed '\(name)' to '\(newID)' in \(location.file)\n")
    }

    /// The old id's period prefix (TOTP, not 30 s) followed by the new name.
    static func newID(from old: String, isTOTP: Bool, to newName: String) -> String {
        let period = CredentialID(parsing: old, isTOTP: isTOTP).period
        let parsed = CredentialID(parsing: newName, isTOTP: false)
        return CredentialID(issuer: parsed.issuer, name: parsed.name, period: isTOTP ? period : nil).description
    }
}
