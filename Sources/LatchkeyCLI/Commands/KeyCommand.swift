import LatchkeyCore
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

    func run(_ world: World) throws {
        let newPassword = try readNewPassword(world)
        var current = key.settings
        let rememberNew = current.remember
        current.remember = false
        let vault = try VaultSession(world: world, passphraseFile: passphrase.passphraseFile)
        let access = KeyAccess(world: world, settings: current, vault: vault)
        try access.withSession { session, found in
            var accessKey = try newPassword.withUnsafeBytes {
                try OATHSession.deriveAccessKey(password: Array($0), salt: session.select.salt)
            }
            defer { accessKey.wipe() }
            try session.setAccessKey(accessKey)
            world.standardError("Set the OATH password of the key in \(found.reader)\n")
            if rememberNew {
                try RememberedKeys(vault: vault).remember(accessKey, deviceID: session.select.deviceID)
                world.standardError("Remembered the access key for this key (device \(session.select.deviceID)) in the sealed vault\n")
            }
        }
    }

    private func readNewPassword(_ world: World) throws -> SecretBytes {
        if let newPasswordFile { return try Passphrases.read(newPasswordFile) }
        if let value = world.environment.nonEmpty(Self.variable) { return SecretBytes(Array(value.utf8)) }
        guard let password = try world.prompter.askSecret("New OATH password: ", confirm: true, what: "password") else {
            throw LatchkeyError(.oathPassword, "no new OATH password and no terminal to ask on: set \(Self.variable) or pass --new-password-file PATH")
        }
        return password
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

    func run(_ world: World) throws {
        let access = KeyAccess(world: world, settings: key.settings, vault: try VaultSession(world: world, passphraseFile: passphrase.passphraseFile))
        try access.withSession { session, found in
            guard session.select.isPasswordProtected else {
                world.standardError("The key in \(found.reader) has no OATH password\n")
                return
            }
            try session.setAccessKey(nil)
            world.standardError("Cleared the OATH password of the key in \(found.reader)\n")
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

    func run(_ world: World) throws {
        let access = KeyAccess(world: world, settings: key.settings, vault: try VaultSession(world: world, passphraseFile: nil))
        try access.withSession(needsAuthentication: false) { session, found in
            if !force {
                guard world.prompter.canAsk else {
                    throw LatchkeyError(.usage, "refusing to reset without confirmation: there is no terminal; pass --force")
                }
                let question = "Erase every OATH account on the key in \(found.reader)? Type 'reset' to confirm: "
                guard let answer = try world.prompter.ask(question, secret: false), answer.withUnsafeBytes({ Array($0) }) == Array("reset".utf8) else {
                    throw LatchkeyError(.failure, "not confirmed; nothing was erased")
                }
            }
            try session.reset()
            world.standardError("Reset the OATH applet of the key in \(found.reader)\n")
        }
    }
}
