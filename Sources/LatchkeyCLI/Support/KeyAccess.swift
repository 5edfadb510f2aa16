import OATH
import PCSC
import SealedStore
import SmartCard
import SystemSupport
import YKOATH
import YubiKey

/// Opens the key for a command: finds the reader, starts a PC/SC transaction,
/// and unlocks a password-protected applet from the first source that has
/// the password: LATCHKEY_OATH_PASSWORD, --oath-password-file, an access key
/// remembered in the sealed vault, then a prompt on /dev/tty.
struct KeyAccess {
    static let passwordVariable = "LATCHKEY_OATH_PASSWORD"
    static let readerVariable = "LATCHKEY_READER"
    static let transportVariable = "LATCHKEY_TRANSPORT"

    var options: KeyOptions
    var context: CommandContext
    var passphraseFile: String?

    /// Runs `body` with an unlocked session inside one PC/SC transaction
    /// (over direct CCID: with the interface claimed). Over CCID, Ctrl-C
    /// while the key is open ends the exchange cleanly (see
    /// ``Interruption``).
    func withSession<T>(needsAuthentication: Bool = true, _ body: (OATHSession, FoundKey) throws -> T) throws -> T {
        let key = try locate()
        guard key.connection.stopsOnInterrupt else { return try use(key, needsAuthentication: needsAuthentication, body) }
        return try Interruption.armed { try use(key, needsAuthentication: needsAuthentication, body) }
    }

    private func use<T>(_ key: FoundKey, needsAuthentication: Bool, _ body: (OATHSession, FoundKey) throws -> T) throws -> T {
        try key.connection.withExclusiveAccess {
            if needsAuthentication, key.session.select.isPasswordProtected {
                try unlock(key)
            }
            return try body(key.session, key)
        }
    }

    /// `--transport`, else LATCHKEY_TRANSPORT, else auto.
    func transport() throws -> KeyTransport {
        if let transport = options.transport { return transport }
        guard let value = context.environment.nonEmpty(Self.transportVariable) else { return .auto }
        guard let transport = KeyTransport(rawValue: value) else {
            throw CLIError(.usage, "\(Self.transportVariable) must be auto, pcsc or ccid, not '\(value)'")
        }
        return transport
    }

    /// The key, over the transport asked for. With `auto`: through pcscd,
    /// unless pcscd is not running or sees no reader (pcscd without the
    /// CCID driver, or a key it has not claimed); then directly over USB.
    /// When USB has no key either, pcscd's error is the one reported.
    func locate() throws -> FoundKey {
        let filter = options.reader ?? context.environment.nonEmpty(Self.readerVariable)
        switch try transport() {
        case .pcsc:
            return try locateOverPCSC(filter: filter)
        case .ccid:
            return try locateOverUSB(filter: filter)
        case .auto:
            let pcscError: KeyAccessError
            do {
                return try locateOverPCSC(filter: filter)
            } catch {
                guard error.letsUSBTry else { throw error }
                pcscError = error
            }
            do {
                return try locateOverUSB(filter: filter)
            } catch {
                throw error == .noUSBKey ? pcscError : error
            }
        }
    }

    private func locateOverPCSC(filter: String?) throws(KeyAccessError) -> FoundKey {
        let pcsc: PCSCContext
        do { pcsc = try PCSCContext() } catch { throw KeyAccessError.pcsc(error) }
        return try KeyFinder.find(filter: filter, context: pcsc)
    }

    /// Ctrl-C (or SIGTERM) while the key waits for a touch ends the CCID
    /// exchange between two reads: the card is powered off and the interface
    /// released before latchkey exits (130).
    private func locateOverUSB(filter: String?) throws(KeyAccessError) -> FoundKey {
        try CCIDKeyFinder.find(filter: filter, isCancelled: { Interruption.happened })
    }

    private func unlock(_ key: FoundKey) throws {
        let select = key.session.select
        var remembered = false
        var accessKey: [UInt8]
        if let password = try typedOrGivenPassword(key.reader, promptIfNeeded: false) {
            accessKey = try derive(password, select)
        } else if let stored = try rememberedAccessKey(deviceID: select.deviceID) {
            accessKey = stored
            remembered = true
        } else if let password = try typedOrGivenPassword(key.reader, promptIfNeeded: true) {
            accessKey = try derive(password, select)
        } else {
            throw CLIError(.oathPassword, "the key in \(key.reader) has an OATH password and there is no terminal to ask on: set \(Self.passwordVariable) or pass --oath-password-file PATH")
        }
        defer { accessKey.wipe() }
        do {
            try key.session.validate(accessKey: accessKey)
        } catch OATHSessionError.wrongPassword where remembered {
            throw CLIError(.oathPassword, "the access key remembered for this key no longer works (its password changed): run again with the password and --remember")
        }
        key.connection.relockWhenDone()
        if options.remember && !remembered {
            try RememberedKeys.remember(accessKey, deviceID: select.deviceID, context: context, passphraseFile: passphraseFile)
        }
    }

    private func derive(_ password: SecretBytes, _ select: OATHSelectResponse) throws -> [UInt8] {
        try password.withUnsafeBytes { try OATHSession.deriveAccessKey(password: Array($0), salt: select.salt) }
    }

    private func typedOrGivenPassword(_ reader: String, promptIfNeeded: Bool) throws -> SecretBytes? {
        if !promptIfNeeded {
            if let file = options.oathPasswordFile { return try CLIPassphrases.read(file) }
            if let value = context.environment.nonEmpty(Self.passwordVariable) { return SecretBytes(Array(value.utf8)) }
            return nil
        }
        guard let tty = Terminal.open() else { return nil }
        return try tty.readSecret(prompt: "OATH password for the key in \(reader): ")
    }

    /// The access key kept by `--remember`, if the index of remembered keys
    /// names this device. The vault is unlocked only then, so a user who never
    /// asked latchkey to remember is never asked for the vault passphrase here.
    private func rememberedAccessKey(deviceID: String) throws -> [UInt8]? {
        let location = try context.vaultLocation()
        guard RememberedKeys.contains(deviceID, at: location) else { return nil }
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphraseFile)
        guard let vault = try Vault.unlock(at: location, passphrases: passphrases) else { return nil }
        return vault.contents.entry(.oathAccessKey, named: deviceID)?.fields["key"]?.bytes
    }
}

extension OATHSession {
    /// The code for the account with exactly this id: SELECT (already sent) +
    /// CALCULATE, and nothing else. The TOTP period comes from the id's
    /// `period/` prefix; HOTP accounts ignore the challenge. Throws
    /// `noSuchCredential` when no account has this id.
    func code(forExactID id: String, at unixTime: UInt64) throws -> String {
        let period = CredentialID(parsing: id, isTOTP: true).period ?? OATHCredential.defaultPeriod
        return try calculate(idBytes: Array(id.utf8), challenge: OATHSession.challenge(at: unixTime, period: period))
    }
}

/// A plain list of the device ids whose access keys sit in the vault
/// (`remembered-keys` beside it). Device ids are derived from the applet's
/// public salt, so the list holds nothing secret; it only tells latchkey when
/// unlocking the vault is worth a passphrase prompt.
enum RememberedKeys {
    static func path(_ location: VaultLocation) -> String { location.directory + "/remembered-keys" }

    static func contains(_ deviceID: String, at location: VaultLocation) -> Bool {
        guard let bytes = try? PrivateFiles.read(path(location), limit: 1 << 20) else { return false }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { $0 == deviceID }
    }

    /// Seals `accessKey` in the vault under `deviceID` and lists the device
    /// in the index, both under the vault's lock, so concurrent callers
    /// cannot lose each other's index lines.
    static func remember(_ accessKey: [UInt8], deviceID: String, context: CommandContext, passphraseFile: String?) throws {
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphraseFile)
        try Vault.update(at: location, passphrases: passphrases) { contents in
            try contents.upsert(VaultEntry(kind: .oathAccessKey, name: deviceID, fields: ["key": SecretBytes(accessKey)]))
            guard !contains(deviceID, at: location) else { return }
            let existing = (try PrivateFiles.read(path(location), limit: 1 << 20)) ?? []
            try PrivateFiles.writeAtomically(path(location), existing + Array((deviceID + "\n").utf8))
        }
        context.standardError("Remembered the access key for this key (device \(deviceID)) in the sealed vault\n")
    }
}
