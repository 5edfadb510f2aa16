import SealedStore
import SystemSupport

/// Where the vault passphrase comes from, in order: `--passphrase-file`,
/// `LATCHKEY_PASSPHRASE`, then the person (a prompt on /dev/tty with echo
/// off). With none of them (cron, CI, a service) the command fails at once
/// instead of waiting for input that never comes.
public struct Passphrases: PassphraseSource {
    public static let variable = "LATCHKEY_PASSPHRASE"
    public static let newVariable = "LATCHKEY_NEW_PASSPHRASE"

    public var environment: Environment
    public var prompter: any Prompter
    public var passphraseFile: String?
    /// Set by `vault passwd`: the new passphrase's own file and variable, so
    /// the old one is never reused by accident.
    public var isChangingPassphrase = false
    public var newPassphraseFile: String?

    public init(world: World, passphraseFile: String?) {
        environment = world.environment
        prompter = world.prompter
        self.passphraseFile = passphraseFile
    }

    public func passphrase(for location: VaultLocation) throws -> SecretBytes {
        if let passphraseFile { return try Self.read(passphraseFile) }
        if let value = environment.nonEmpty(Self.variable) { return SecretBytes(Array(value.utf8)) }
        return try prompt("Passphrase for \(location.file): ", location: location, confirm: false)
    }

    public func newPassphrase(for location: VaultLocation) throws -> SecretBytes {
        if isChangingPassphrase {
            if let newPassphraseFile { return try Self.read(newPassphraseFile) }
            if let value = environment.nonEmpty(Self.newVariable) { return SecretBytes(Array(value.utf8)) }
            return try prompt("New passphrase for \(location.file): ", location: location, confirm: true)
        }
        if let passphraseFile { return try Self.read(passphraseFile) }
        if let value = environment.nonEmpty(Self.variable) { return SecretBytes(Array(value.utf8)) }
        return try prompt("Choose a passphrase for the new vault \(location.file): ", location: location, confirm: true)
    }

    private func prompt(_ text: String, location: VaultLocation, confirm: Bool) throws -> SecretBytes {
        guard let answer = try prompter.askSecret(text, confirm: confirm, what: "passphrase") else {
            let variable = isChangingPassphrase && confirm ? Self.newVariable : Self.variable
            let flag = isChangingPassphrase && confirm ? "--new-passphrase-file" : "--passphrase-file"
            throw LatchkeyError(.noPassphrase, "\(location.file) needs a passphrase and there is no terminal to ask on: set \(variable) or pass \(flag) PATH")
        }
        return answer
    }

    /// A passphrase (or password) file's contents without one trailing line ending.
    public static func read(_ path: String) throws -> SecretBytes {
        guard var bytes = try PrivateFiles.read(path, limit: 4096, followLinks: true) else {
            throw LatchkeyError(.noPassphrase, "passphrase file \(path) does not exist")
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw LatchkeyError(.invalidInput, "passphrase file \(path) is empty") }
        return SecretBytes(consuming: &bytes)
    }
}
