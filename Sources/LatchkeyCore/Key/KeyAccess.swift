import OATH
import SealedStore
import SystemSupport
import YKOATH
import YubiKey

/// How to reach the key and unlock its OATH applet, as the person chose
/// (flags; the environment fills in what they leave out).
public struct KeySettings: Sendable, Equatable {
    public static let passwordVariable = "LATCHKEY_OATH_PASSWORD"
    public static let readerVariable = "LATCHKEY_READER"
    public static let transportVariable = "LATCHKEY_TRANSPORT"

    /// Part of the reader's name.
    public var reader: String?
    public var transport: KeyTransport?
    /// A file holding the applet's password.
    public var oathPasswordFile: String?
    /// Keep the derived access key in the sealed vault.
    public var remember: Bool

    public init(reader: String? = nil, transport: KeyTransport? = nil, oathPasswordFile: String? = nil, remember: Bool = false) {
        self.reader = reader
        self.transport = transport
        self.oathPasswordFile = oathPasswordFile
        self.remember = remember
    }

    /// The request: `--reader`, else LATCHKEY_READER, else `profileReader`
    /// (a profile's `latchkey_reader`); `--transport`, else
    /// LATCHKEY_TRANSPORT, else auto.
    public func request(environment: Environment, profileReader: String? = nil) throws -> KeyRequest {
        var transport = self.transport ?? .auto
        if self.transport == nil, let value = environment.nonEmpty(Self.transportVariable) {
            guard let chosen = KeyTransport(rawValue: value) else {
                throw LatchkeyError(.usage, "\(Self.transportVariable) must be auto, pcsc or ccid, not '\(value)'")
            }
            transport = chosen
        }
        return KeyRequest(reader: reader ?? environment.nonEmpty(Self.readerVariable) ?? profileReader, transport: transport)
    }
}

/// Opens the key for one command: finds it through the world's
/// ``KeyConnector``, holds it exclusively (a PC/SC transaction, or the
/// claimed USB interface), and unlocks a password-protected applet from the
/// first source that has the password: LATCHKEY_OATH_PASSWORD,
/// `--oath-password-file`, an access key remembered in the sealed vault,
/// then the person.
public struct KeyAccess {
    public var world: World
    public var settings: KeySettings
    public var vault: VaultSession
    /// A profile's `latchkey_reader`, used when neither flag nor environment names one.
    public var profileReader: String?

    public init(world: World, settings: KeySettings, vault: VaultSession, profileReader: String? = nil) {
        self.world = world
        self.settings = settings
        self.vault = vault
        self.profileReader = profileReader
    }

    /// Runs `body` with an open (and, when `needsAuthentication`, unlocked)
    /// session. Over direct CCID, Ctrl-C while the key is open ends the
    /// exchange cleanly (see ``Interruption``).
    public func withSession<T>(needsAuthentication: Bool = true, _ body: (OATHSession, FoundKey) throws -> T) throws -> T {
        let request = try settings.request(environment: world.environment, profileReader: profileReader)
        let key = try world.keys.connect(request, isCancelled: { Interruption.happened })
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

    /// One CALCULATE for the account with exactly this id, with the touch
    /// prompt armed.
    ///
    /// A 6982 answer means "not authenticated" in YKOATH, and a key gives
    /// it both when its password was not given and when nobody touched it.
    /// The session tells which: from an applet without a password, or after
    /// a successful VALIDATE, it can only be the touch.
    public func calculate(_ session: OATHSession, id: String, at unixTime: UInt64) throws -> String {
        do {
            return try TouchPrompt(world: world).around { try session.code(forExactID: id, at: unixTime) }
        } catch OATHSessionError.authenticationRequired where !session.select.isPasswordProtected || session.isValidated {
            throw LatchkeyError(.touchTimeout, "touch timed out: the key waited for a touch that did not come")
        }
    }

    private func unlock(_ key: FoundKey) throws {
        let select = key.session.select
        var remembered = false
        var accessKey: [UInt8]
        if let password = try givenPassword() {
            accessKey = try derive(password, select)
        } else if let stored = try rememberedAccessKey(deviceID: select.deviceID) {
            accessKey = stored
            remembered = true
        } else if let password = try world.prompter.ask("OATH password for the key in \(key.reader): ", secret: true) {
            accessKey = try derive(password, select)
        } else {
            throw LatchkeyError(.oathPassword, "the key in \(key.reader) has an OATH password and there is no terminal to ask on: set \(KeySettings.passwordVariable) or pass --oath-password-file PATH")
        }
        defer { accessKey.wipe() }
        do {
            try key.session.validate(accessKey: accessKey)
        } catch OATHSessionError.wrongPassword where remembered {
            throw LatchkeyError(.oathPassword, "the access key remembered for this key no longer works (its password changed): run again with the password and --remember")
        }
        key.connection.relockWhenDone()
        if settings.remember && !remembered {
            try RememberedKeys(vault: vault).remember(accessKey, deviceID: select.deviceID)
            world.standardError("Remembered the access key for this key (device \(select.deviceID)) in the sealed vault\n")
        }
    }

    private func derive(_ password: SecretBytes, _ select: OATHSelectResponse) throws -> [UInt8] {
        try password.withUnsafeBytes { try OATHSession.deriveAccessKey(password: Array($0), salt: select.salt) }
    }

    private func givenPassword() throws -> SecretBytes? {
        if let file = settings.oathPasswordFile { return try Passphrases.read(file) }
        if let value = world.environment.nonEmpty(KeySettings.passwordVariable) { return SecretBytes(Array(value.utf8)) }
        return nil
    }

    /// The access key kept by `--remember`, if the index of remembered keys
    /// names this device. The vault is unlocked only then (and at most once
    /// per run, shared with sealed AWS keys), so a user who never asked
    /// latchkey to remember is never asked for the vault passphrase here.
    private func rememberedAccessKey(deviceID: String) throws -> [UInt8]? {
        let remembered = RememberedKeys(vault: vault)
        guard remembered.lists(deviceID) else { return nil }
        return try vault.open()?.contents.entry(.oathAccessKey, named: deviceID)?.fields["key"]?.bytes
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
public struct RememberedKeys {
    public var vault: VaultSession

    public init(vault: VaultSession) { self.vault = vault }

    var path: String { vault.location.directory + "/remembered-keys" }

    public func lists(_ deviceID: String) -> Bool {
        guard let bytes = try? PrivateFiles.read(path, limit: 1 << 20) else { return false }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { $0 == deviceID }
    }

    /// Seals `accessKey` in the vault under `deviceID` and lists the device
    /// in the index, both under the vault's lock, so concurrent callers
    /// cannot lose each other's index lines.
    public func remember(_ accessKey: [UInt8], deviceID: String) throws {
        try vault.update(creatingWith: .standard) { contents in
            try contents.upsert(VaultEntry(kind: .oathAccessKey, name: deviceID, fields: ["key": SecretBytes(accessKey)]))
            guard !lists(deviceID) else { return }
            let existing = (try PrivateFiles.read(path, limit: 1 << 20)) ?? []
            try PrivateFiles.writeAtomically(path, existing + Array((deviceID + "\n").utf8))
        }
    }
}
