import ArgumentParser
import SealedStore
import SystemSupport
import YKOATH

/// `latchkey key …`: the YubiKey's OATH applet itself.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage the YubiKey's OATH applet: its password, or a reset.",
        subcommands: [KeyPassword.self, KeyReset.self])
}

struct KeyPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password",
        abstract: "Set or clear the OATH applet's password.",
        subcommands: [KeyPasswordSet.self, KeyPasswordClear.self])
}

/// `latchkey key password set`: the new password comes from
/// LATCHKEY_NEW_OATH_PASSWORD, --new-password-file, or the terminal (twice).
struct KeyPasswordSet: ParsableCommand {
    static let variable = "LATCHKEY_NEW_OATH_PASSWORD"

    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set or change the OATH password.",
        discussion: """
            The current password (if any) comes from the usual places; the new one from
            --new-password-file, LATCHKEY_NEW_OATH_PASSWORD, or the terminal (asked twice).
            With --remember the new access key is kept in the sealed vault.

            Examples:
              latchkey key password set
              LATCHKEY_NEW_OATH_PASSWORD=… latchkey key password set --remember
            """)

    @Option(name: .customLong("new-password-file"), help: ArgumentHelp("Read the new password from this file.", valueName: "path"))
    var newPasswordFile: String?

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let newPassword = try readNewPassword(context)
        var current = key
        let rememberNew = current.remember
        current.remember = false
        let access = KeyAccess(options: current, context: context, passphraseFile: passphrase.passphraseFile)
        try access.withSession { session, found in
            var accessKey = try newPassword.withUnsafeBytes {
                try OATHSession.deriveAccessKey(password: Array($0), salt: session.select.salt)
            }
            defer { accessKey.wipe() }
            try session.setAccessKey(accessKey)
            context.standardError("Set the OATH password of the key in \(found.reader)\n")
            if rememberNew {
                try RememberedKeys.remember(accessKey, deviceID: session.select.deviceID, context: context, passphraseFile: passphrase.passphraseFile)
            }
        }
    }

    private func readNewPassword(_ context: CommandContext) throws -> SecretBytes {
        if let newPasswordFile { return try CLIPassphrases.read(newPasswordFile) }
        if let value = context.environment.nonEmpty(Self.variable) { return SecretBytes(Array(value.utf8)) }
        guard let tty = Terminal.open() else {
            throw CLIError(.oathPassword, "no new OATH password and no terminal to ask on: set \(Self.variable) or pass --new-password-file PATH")
        }
        return try CLIPassphrases.ask(tty, prompt: "New OATH password: ", confirm: true, what: "password")
    }
}

/// `latchkey key password clear`.
struct KeyPasswordClear: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Remove the OATH password.",
        discussion: """
            Example:
              LATCHKEY_OATH_PASSWORD=… latchkey key password clear
            """)

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let access = KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile)
        try access.withSession { session, found in
            guard session.select.isPasswordProtected else {
                context.standardError("The key in \(found.reader) has no OATH password\n")
                return
            }
            try session.setAccessKey(nil)
            context.standardError("Cleared the OATH password of the key in \(found.reader)\n")
        }
    }
}

/// `latchkey key reset`: wipes every OATH account and the password.
struct KeyReset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Erase every OATH account and the password on the key.",
        discussion: """
            This cannot be undone. latchkey asks for confirmation on the terminal; --force
            skips the question (for scripts).

            Example:
              latchkey key reset --reader Yubico
            """)

    @Flag(help: "Do not ask for confirmation.")
    var force = false

    @OptionGroup var key: KeyOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let access = KeyAccess(options: key, context: context, passphraseFile: nil)
        try access.withSession(needsAuthentication: false) { session, found in
            if !force {
                guard let tty = Terminal.open() else {
                    throw CLIError(.usage, "refusing to reset without confirmation: there is no terminal; pass --force")
                }
                tty.write("Erase every OATH account on the key in \(found.reader)? Type 'reset' to confirm: ")
                guard let answer = try tty.readLine(), answer.withUnsafeBytes({ Array($0) }) == Array("reset".utf8) else {
                    throw CLIError(.failure, "not confirmed; nothing was erased")
                }
            }
            try session.reset()
            context.standardError("Reset the OATH applet of the key in \(found.reader)\n")
        }
    }
}
