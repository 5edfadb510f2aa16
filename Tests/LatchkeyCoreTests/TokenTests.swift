import OATH
import SealedStore
import SystemSupport
import TestWorld
import VirtualKey
import Testing
import YKOATH

@testable import LatchkeyCore

/// Codes, touch and password outcomes from the key and the vault, through
/// the token sources, in-process: the virtual key's applet in memory, no
/// pcscd, no subprocess.
@Suite("Token sources in-process: key and vault codes, touch timeouts, passwords")
struct TokenTests {
    static let secret = Array("12345678901234567890".utf8)
    static let serial = "arn:aws:iam::123456789012:mfa/alice"

    /// A world whose key holds `serial` as a TOTP account (touch required when asked).
    static func worldWithKey(touch: any TouchSensor = AlwaysTouched(), requireTouch: Bool = false) throws -> TestWorld {
        let world = try TestWorld(touch: touch)
        try world.key.session().put(OATHCredential(name: serial, secret: secret), requireTouch: requireTouch)
        return world
    }

    static func keyTokens(_ world: TestWorld) throws -> YubiKeyTokens {
        YubiKeyTokens(
            access: KeyAccess(world: world.world, settings: KeySettings(), vault: try VaultSession(world: world.world, passphraseFile: nil)))
    }

    @Test("A code for an exact id costs SELECT and CALCULATE only, and is RFC 6238's code at the world's clock")
    func keyCodeExact() throws {
        let world = try Self.worldWithKey()
        let code = try Self.keyTokens(world).code(query: Self.serial)
        #expect(code == OATHCredential(name: Self.serial, secret: Self.secret).code(at: world.clock.unixTime))
        // The test's own session sent SELECT (A4) and PUT (01); latchkey's: A4, A2.
        #expect(world.key.instructions == [0xA4, 0x01, 0xA4, 0xA2])
    }

    @Test("A partial name costs a LIST as well, and a name matching nothing lists the accounts")
    func keyCodePartial() throws {
        let world = try Self.worldWithKey()
        let tokens = try Self.keyTokens(world)
        #expect(try tokens.code(query: "alice") == OATHCredential(name: Self.serial, secret: Self.secret).code(at: world.clock.unixTime))
        #expect(world.key.instructions.suffix(4) == [0xA4, 0xA2, 0xA1, 0xA2])
        let error = #expect(throws: LatchkeyError.self) { try tokens.code(query: "bob") }
        #expect(error?.category == .accountNotFound)
        #expect(error?.message.contains(Self.serial) == true)
    }

    @Test("A key that gives up on a touch after 2 s is a touch timeout, not a password problem")
    func touchTimeoutShort() throws {
        let world = try Self.worldWithKey(touch: NeverTouched(givingUpAfter: 2), requireTouch: true)
        let error = #expect(throws: LatchkeyError.self) { try Self.keyTokens(world).code(query: Self.serial) }
        #expect(error?.category == .touchTimeout)
        #expect(world.standardError == "Touch your YubiKey…\n")
    }

    @Test("A key that gives up on a touch after 15 s is a touch timeout too")
    func touchTimeoutLong() throws {
        let world = try Self.worldWithKey(touch: NeverTouched(givingUpAfter: 15), requireTouch: true)
        let error = #expect(throws: LatchkeyError.self) { try Self.keyTokens(world).code(query: Self.serial) }
        #expect(error?.category == .touchTimeout)
    }

    @Test("A touch timeout after a successful VALIDATE is a touch timeout; the password was right")
    func touchTimeoutWithPassword() throws {
        let world = try Self.worldWithKey(touch: NeverTouched(givingUpAfter: 2), requireTouch: true)
        try Self.setPassword("hunter2", on: world)
        world.environment[KeySettings.passwordVariable] = "hunter2"
        let error = #expect(throws: LatchkeyError.self) { try Self.keyTokens(world).code(query: Self.serial) }
        #expect(error?.category == .touchTimeout)
    }

    @Test("6982 from a password-protected applet that was not validated is a password problem")
    func unvalidatedIsPassword() throws {
        let world = try Self.worldWithKey()
        try Self.setPassword("hunter2", on: world)
        let tokens = try Self.keyTokens(world)
        let error = #expect(throws: (any Error).self) {
            try tokens.access.withSession(needsAuthentication: false) { session, _ in
                try tokens.access.calculate(session, id: Self.serial, at: world.clock.unixTime)
            }
        }
        #expect(error.flatMap(LatchkeyError.init(mapping:))?.category == .oathPassword)
    }

    @Test("A wrong OATH password is exit category oathPassword; with no password and nobody to ask, it says how to give one")
    func wrongPassword() throws {
        let world = try Self.worldWithKey()
        try Self.setPassword("hunter2", on: world)
        world.environment[KeySettings.passwordVariable] = "wrong"
        let wrong = #expect(throws: (any Error).self) { try Self.keyTokens(world).code(query: Self.serial) }
        #expect(wrong.flatMap(LatchkeyError.init(mapping:))?.category == .oathPassword)
        world.environment[KeySettings.passwordVariable] = nil
        let missing = #expect(throws: LatchkeyError.self) { try Self.keyTokens(world).code(query: Self.serial) }
        #expect(missing?.category == .oathPassword)
        #expect(missing?.message.contains(KeySettings.passwordVariable) == true)
        // A person at the terminal is asked, and the right answer opens it.
        world.person.present = true
        world.person.answers = ["hunter2"]
        #expect(try Self.keyTokens(world).code(query: Self.serial).count == 6)
        #expect(world.person.questions == ["OATH password for the key in Memory Key 00 00: "])
    }

    @Test("The vault: add, list, code (against RFC 6238), rename and delete, with one passphrase question per run")
    func vaultRoundTrip() throws {
        let world = try TestWorld()
        world.person.present = true
        world.person.answers = ["pass phrase", "pass phrase"]
        let cheap = KDFParameters(log2N: 10, r: 8, p: 1)
        let sealed = SealedTokens(vault: try VaultSession(world: world.world, passphraseFile: nil), world: world.world, newVaultParameters: cheap)
        _ = try sealed.add(OATHCredential(name: "alice", secret: Self.secret), options: AddOptions())
        #expect(world.person.questions.count == 2)  // a new passphrase, asked twice
        world.environment[Passphrases.variable] = "pass phrase"
        let again = SealedTokens(vault: try VaultSession(world: world.world, passphraseFile: nil), world: world.world)
        #expect(try again.list().accounts.map(\.id) == ["alice"])
        #expect(try again.code(query: "ali") == OATHCredential(name: "alice", secret: Self.secret).code(at: world.clock.unixTime))
        #expect(try again.rename(id: "alice", to: "AWS:alice").newID == "AWS:alice")
        _ = try again.delete(id: "AWS:alice")
        #expect(try again.list().accounts.isEmpty)
        let duplicate = try again.add(OATHCredential(name: "x", secret: Self.secret), options: AddOptions())
        #expect(duplicate == again.vault.location.file)
        #expect(throws: LatchkeyError.self) { try again.add(OATHCredential(name: "x", secret: Self.secret), options: AddOptions()) }
    }

    static func setPassword(_ password: String, on world: TestWorld) throws {
        let session = try world.key.session()
        try session.setAccessKey(try OATHSession.deriveAccessKey(password: Array(password.utf8), salt: session.select.salt))
    }
}
