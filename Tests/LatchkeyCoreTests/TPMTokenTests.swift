import OATH
import TestSupport
import TestWorld
import Testing

@testable import LatchkeyCore

/// The TPM token source in-process, against a fresh swtpm: PINs asked of the
/// World's person (what `--tpm-pin` does on /dev/tty), codes at the World's clock.
@Suite("TPM token source in-process: PIN prompts, codes at the world's clock")
struct TPMTokenTests {
    static let secret = Array("12345678901234567890".utf8)

    static func world(_ tpm: SoftwareTPM) throws -> TestWorld {
        let world = try TestWorld()
        world.environment["LATCHKEY_TPM_TCTI"] = tpm.tcti
        world.person.present = true
        return world
    }

    @Test("--tpm-pin: the new key's PIN is asked twice, then each code asks for it once; codes are RFC 6238's at the world's clock")
    func pinAskedOfThePerson() throws {
        let tpm = try SoftwareTPM()
        let world = try Self.world(tpm)
        world.person.answers = ["4321", "4321"]
        let credential = OATHCredential(name: "alice", secret: Self.secret)
        _ = try TPMTokens(world: world.world, settings: TPMSettings(askPIN: true)).add(credential, options: AddOptions())
        #expect(world.person.questions == ["New TPM PIN for 'alice': ", "Repeat it: "])

        world.person.answers = ["4321"]
        let tokens = TPMTokens(world: world.world)
        #expect(try tokens.code(query: "alice") == credential.code(at: world.clock.unixTime))
        #expect(world.person.questions.last == "TPM PIN for 'alice': ")

        // The enrolment's two consecutive steps, with one PIN.
        world.person.answers = ["4321"]
        let times = [world.clock.unixTime, world.clock.unixTime + 30]
        #expect(try tokens.codes(anyOf: ["bob", "alice"], at: times).get() == times.map(credential.code(at:)))

        world.person.answers = ["0000"]
        #expect { try tokens.code(query: "alice") } throws: { ($0 as? LatchkeyError)?.category == .tpmPIN }
    }

    @Test("Two different PINs when adding: invalid input, and no account is stored")
    func pinsDiffer() throws {
        let tpm = try SoftwareTPM()
        let world = try Self.world(tpm)
        world.person.answers = ["4321", "1234"]
        let tokens = TPMTokens(world: world.world, settings: TPMSettings(askPIN: true))
        #expect { try tokens.add(OATHCredential(name: "alice", secret: Self.secret), options: AddOptions()) } throws: {
            ($0 as? LatchkeyError)?.category == .invalidInput
        }
        #expect(try tokens.list().accounts.isEmpty)
    }

    @Test("A PIN longer than a SHA-256 name hash (32 bytes) is refused before the TPM sees it")
    func pinTooLong() throws {
        let tpm = try SoftwareTPM()
        let world = try Self.world(tpm)
        world.environment["LATCHKEY_TPM_PIN"] = String(repeating: "7", count: 33)
        let tokens = TPMTokens(world: world.world)
        #expect { try tokens.add(OATHCredential(name: "alice", secret: Self.secret), options: AddOptions()) } throws: {
            ($0 as? LatchkeyError)?.message == "the TPM PIN is longer than 32 bytes"
        }
    }
}
