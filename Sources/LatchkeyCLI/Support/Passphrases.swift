import SealedStore
import SystemSupport

/// Where the vault passphrase comes from, in order: `--passphrase-file`,
/// `LATCHKEY_PASSPHRASE`, then a prompt on /dev/tty with echo off. With none
/// of them (no terminal: cron, CI, a service) the command fails at once
/// instead of waiting for input that never comes.
struct CLIPassphrases: PassphraseSource {
    static let variable = "LATCHKEY_PASSPHRASE"
    static let newVariable = "LATCHKEY_NEW_PASSPHRASE"

    var environment: Environment
    var passphraseFile: String?
    /// Set by `vault passwd`: the new passphrase's own file and variable, so
    /// the old one is never reused by accident.
    var isChangingPassphrase = false
    var newPassphraseFile: String?

    func passphrase(for location: VaultLocation) throws -> SecretBytes {
        if let passphraseFile { return try Self.read(passphraseFile) }
        if let value = environment.nonEmpty(Self.variable) { return SecretBytes(Array(value.utf8)) }
        return try prompt("Passphrase for \(location.file): ", location: location, confirm: false)
    }

    func newPassphrase(for location: VaultLocation) throws -> SecretBytes {
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
        guard let tty = Terminal.open() else {
            let variable = isChangingPassphrase && confirm ? Self.newVariable : Self.variable
            let flag = isChangingPassphrase && confirm ? "--new-passphrase-file" : "--passphrase-file"
            throw CLIError(.noPassphrase, "\(location.file) needs a passphrase and there is no terminal to ask on: set \(variable) or pass \(flag) PATH")
        }
        return try Self.ask(tty, prompt: text, confirm: confirm, what: "passphrase")
    }

    /// Reads a secret on the terminal with echo off, and when `confirm`,
    /// a second time: an empty answer or two different ones change nothing.
    static func ask(_ tty: Terminal, prompt: String, confirm: Bool, what: String) throws -> SecretBytes {
        guard let first = try tty.readSecret(prompt: prompt), !first.isEmpty else {
            throw CLIError(.invalidInput, "no \(what) was entered")
        }
        if confirm {
            guard let second = try tty.readSecret(prompt: "Repeat it: "),
                  second.withUnsafeBytes({ first.constantTimeEquals(Array($0)) })
            else { throw CLIError(.invalidInput, "the two \(what)s differ; nothing was changed") }
        }
        return first
    }

    /// A passphrase file's contents without one trailing line ending.
    static func read(_ path: String) throws -> SecretBytes {
        guard var bytes = try PrivateFiles.read(path, limit: 4096, followLinks: true) else {
            throw CLIError(.noPassphrase, "passphrase file \(path) does not exist")
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw CLIError(.invalidInput, "passphrase file \(path) is empty") }
        return SecretBytes(consuming: &bytes)
    }
}
