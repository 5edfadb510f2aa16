import ArgumentParser
import CredentialFlow
import LatchkeyCore
import SealedStore
import YubiKey

extension TokenKind: EnumerableFlag {
    public static func help(for value: TokenKind) -> ArgumentHelp? {
        switch value {
        case .yubikey: "Use the YubiKey's OATH applet (through pcscd, or directly over USB)."
        case .sealed: "Use the passphrase-sealed local vault."
        case .tpm: "Use HMAC keys inside this machine's TPM 2.0 (LATCHKEY_TPM_TCTI, else /dev/tpmrm0)."
        case .agent: "Ask the latchkey agent at LATCHKEY_AGENT_SOCK (codes for an MFA device's serial ARN only)."
        }
    }
}

/// Where the accounts live: one must be chosen, so no script's meaning
/// depends on a default.
struct SourceOptions: ParsableArguments {
    @Flag var source: TokenKind?

    func validate() throws {
        guard source != nil else { throw ValidationError("choose where the account lives: --yubikey, --sealed or --tpm") }
    }

    var isYubiKey: Bool { source == .yubikey }
}

/// The scrypt cost of a vault this command creates. Hidden: lower costs are
/// for tests and slow machines, not daily use.
struct NewVaultOptions: ParsableArguments {
    @Option(name: .customLong("scrypt-log2n"), help: .hidden) var scryptLog2N: UInt8?

    func validate() throws {
        if let scryptLog2N, !KDFParameters.log2NRange.contains(scryptLog2N) {
            throw ValidationError("--scrypt-log2n must be in \(KDFParameters.log2NRange)")
        }
    }

    var parameters: KDFParameters { scryptLog2N.map { KDFParameters(log2N: $0, r: 8, p: 1) } ?? .standard }
}

struct PassphraseOptions: ParsableArguments {
    @Option(
        name: .customLong(CredentialOption.passphraseFile.name),
        help: ArgumentHelp("Read the vault passphrase from this file (one trailing newline is ignored).", valueName: "path"))
    var passphraseFile: String?
}

/// How to reach the key and unlock its OATH applet.
struct KeyOptions: ParsableArguments {
    @Option(
        name: .customLong(CredentialOption.reader.name),
        help: ArgumentHelp("Use the reader whose name contains this text (also LATCHKEY_READER).", valueName: "text"))
    var reader: String?

    @Option(
        name: .customLong(CredentialOption.transport.name),
        help: ArgumentHelp(
            "How to reach the key: auto (pcscd, else directly over USB), pcsc or ccid (also LATCHKEY_TRANSPORT).",
            valueName: "transport"))
    var transport: KeyTransport?

    @Option(
        name: .customLong(CredentialOption.oathPasswordFile.name),
        help: ArgumentHelp("Read the key's OATH password from this file (also LATCHKEY_OATH_PASSWORD).", valueName: "path"))
    var oathPasswordFile: String?

    @Flag(
        name: .customLong(CredentialOption.remember.name),
        help: "Keep the key's derived access key (not the password) in the sealed vault, so later calls need no password.")
    var remember = false

    var settings: KeySettings {
        KeySettings(reader: reader, transport: transport, oathPasswordFile: oathPasswordFile, remember: remember)
    }
}

extension KeyTransport: ExpressibleByArgument {}

/// A TPM key's PIN: never on the command line.
struct TPMOptions: ParsableArguments {
    @Flag(
        name: .customLong(CredentialOption.tpmPIN.name),
        help: "Give a new TPM key a PIN, asked on the terminal (a key with a PIN is asked for it anyway; also LATCHKEY_TPM_PIN).")
    var askPIN = false

    @Option(
        name: .customLong(CredentialOption.tpmPINFile.name),
        help: ArgumentHelp("Read the TPM key's PIN from this file (one trailing newline is ignored).", valueName: "path"))
    var pinFile: String?

    var settings: TPMSettings { TPMSettings(askPIN: askPIN, pinFile: pinFile) }
}

/// The token a command works on, opened with the run's vault session (so the
/// vault is unlocked at most once, whoever asks first).
struct TokenChoice {
    var kind: TokenKind
    var key: KeyOptions
    var passphrase: PassphraseOptions
    var newVault = KDFParameters.standard
    var tpm = TPMSettings()

    func source(_ world: World) throws -> any TokenSource {
        let vault = try VaultSession(world: world, passphraseFile: passphrase.passphraseFile)
        return kind.source(in: world, key: key.settings, vault: vault, newVaultParameters: newVault, tpm: tpm)
    }
}

extension SourceOptions {
    func token(key: KeyOptions, passphrase: PassphraseOptions, newVault: KDFParameters = .standard, tpm: TPMOptions? = nil) -> TokenChoice {
        TokenChoice(kind: source ?? .sealed, key: key, passphrase: passphrase, newVault: newVault, tpm: tpm?.settings ?? TPMSettings())
    }
}
