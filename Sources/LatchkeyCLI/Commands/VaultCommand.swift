import LatchkeyCore
import ArgumentParser
import SealedStore

/// `latchkey vault …`: the sealed store itself.
struct VaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Create, inspect and re-seal the passphrase-sealed local vault.",
        discussion: """
            The vault is one file, $XDG_DATA_HOME/latchkey/vault.sealed (default
            ~/.local/share/latchkey/), mode 0600 in a 0700 directory. Its key is
            scrypt(passphrase), N=2^17, r=8, p=1 unless the file says otherwise;
            its contents are sealed with ChaCha20-Poly1305. The passphrase comes
            from --passphrase-file, LATCHKEY_PASSPHRASE, or the terminal.

            Examples:
              latchkey vault init
              latchkey vault info
              latchkey vault passwd
            """,
        subcommands: [VaultInit.self, VaultPasswd.self, VaultInfo.self])
}

/// `latchkey vault init`: an empty vault (adding the first account also creates one).
struct VaultInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty vault.",
        discussion: """
            Example:
              latchkey vault init
            """)

    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var newVault: NewVaultOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let location = try world.vaultLocation()
        let passphrases = Passphrases(world: world, passphraseFile: passphrase.passphraseFile)
        try Vault.create(at: location, passphrases: passphrases, parameters: newVault.parameters)
        world.standardError("Created \(location.file) (\(newVault.parameters))\n")
    }
}

/// `latchkey vault passwd`: re-seal under a new passphrase and a new salt.
struct VaultPasswd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Re-seal the vault under a new passphrase.",
        discussion: """
            The current passphrase comes from the usual places; the new one from
            --new-passphrase-file, LATCHKEY_NEW_PASSPHRASE, or the terminal (asked twice).
            A new salt is drawn; the file is replaced atomically.

            Examples:
              latchkey vault passwd
              LATCHKEY_PASSPHRASE=old LATCHKEY_NEW_PASSPHRASE=new latchkey vault passwd
            """)

    @OptionGroup var passphrase: PassphraseOptions

    @Option(name: .customLong("new-passphrase-file"), help: ArgumentHelp("Read the new passphrase from this file.", valueName: "path"))
    var newPassphraseFile: String?

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let location = try world.vaultLocation()
        var passphrases = Passphrases(world: world, passphraseFile: passphrase.passphraseFile)
        passphrases.isChangingPassphrase = true
        passphrases.newPassphraseFile = newPassphraseFile
        try Vault.changePassphrase(at: location, passphrases: passphrases)
        world.standardError("Re-sealed \(location.file) under the new passphrase\n")
    }
}

/// `latchkey vault info`: what the header says, without unlocking.
struct VaultInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the vault's path, format and KDF parameters (no passphrase needed).",
        discussion: """
            Example:
              latchkey vault info
            """)

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let location = try world.vaultLocation()
        guard let header = try Vault.header(at: location) else {
            throw LatchkeyError(.failure, "no vault at \(location.file)")
        }
        world.standardOutput("""
            path: \(location.file)
            format: \(header.version)
            kdf: \(header.kdf)
            cipher: ChaCha20-Poly1305

            """)
    }
}
