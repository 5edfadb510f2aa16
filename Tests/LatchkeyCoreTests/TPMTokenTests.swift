import OATH
import TPM
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

@Suite("The TPM account file's decoder on damaged bytes")
struct TPMAccountFileTests {
    static let good: [UInt8] = {
        let account = TPMAccount(
            issuer: "AWS", name: "alice", kind: .totp(period: 30), algorithm: .sha256, digits: 8, hasPIN: true,
            key: TPMKeyBlobs(publicArea: Array(0..<48), privateArea: Array(100..<190)))
        let counter = TPMAccount(
            issuer: nil, name: "door", kind: .hotp(counter: 7), algorithm: .sha1, digits: 6, hasPIN: false,
            key: TPMKeyBlobs(publicArea: [1, 2, 3], privateArea: [4, 5, 6]))
        return (try? TPMAccountStore.encode([account, counter])) ?? []
    }()

    @Test("encode then decode gives the same accounts")
    func roundTrip() throws {
        let accounts = try TPMAccountStore.decode(Self.good, file: "f")
        #expect(accounts.map(\.id) == ["AWS:alice", "door"])
        #expect(accounts[0].key.privateArea == Array(100..<190) && accounts[0].hasPIN && accounts[0].digits == 8)
        #expect(accounts[1].kind == .hotp(counter: 7))
        #expect(try TPMAccountStore.encode(accounts) == Self.good)
    }

    @Test("5,000 seeded mutations (flipped, dropped, inserted bytes; truncation): each decodes or is one vaultDamaged error, never a crash")
    func mutations() {
        var random = SplitMix64(seed: 0x7B11_2026)
        for _ in 0..<5_000 {
            var bytes = Self.good
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] ^= UInt8.random(in: 1...255, using: &random)
                case 1: bytes.remove(at: index)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                default: bytes = Array(bytes.prefix(index))
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            do {
                _ = try TPMAccountStore.decode(bytes, file: "f")
            } catch let error as LatchkeyError {
                #expect(error.category == .vaultDamaged, "\(error)")
            } catch {
                Issue.record("not a LatchkeyError: \(error)")
            }
        }
    }
}

@Suite("TPM response codes as failure kinds and lines")
struct TPMErrorKindTests {
    @Test(
        "TSS2_RC values from the TPM 2.0 spec (with handle, parameter and session numbers), the TCTI and the marshaller map to their kinds",
        arguments: [
            (UInt32(0x0000_098E), TPMError.Kind.wrongAuth),  // TPM_RC_AUTH_FAIL, session 1
            (0x0000_09A2, .wrongAuth),  // TPM_RC_BAD_AUTH, session 1
            (0x0000_0921, .lockout),  // TPM_RC_LOCKOUT
            (0x0000_01DF, .foreignKey),  // TPM_RC_INTEGRITY, parameter 1
            (0x0000_02C3, .unsupportedAlgorithm),  // TPM_RC_HASH, parameter 2
            (0x0000_02D2, .unsupportedAlgorithm),  // TPM_RC_SCHEME, parameter 2
            (0x0000_0902, .other),  // TPM_RC_OBJECT_MEMORY
            (0x000A_000A, .unreachable),  // TSS2_TCTI_RC_IO_ERROR
            (0x0009_0009, .damagedBlob),  // TSS2_MU_RC_INSUFFICIENT_BUFFER
            (0x0007_000B, .other),  // an ESAPI code
        ])
    func kinds(code: UInt32, kind: TPMError.Kind) {
        #expect(TPMError(code: code, function: "Esys_Load", text: "").kind == kind)
    }

    @Test("An algorithm the TPM lacks is exit 14's category with the hashes to use; a missing library says what to install")
    func lines() {
        let connection = TPMConnection(tcti: "swtpm:host=127.0.0.1,port=1")
        let hash = TPMFailure.explain(TPMError(code: 0x2C3, function: "Esys_Create", text: "tpm:parameter(2):hash algorithm not supported or not appropriate"), connection: connection)
        #expect(hash.category == .tpm)
        #expect(hash.message == "this TPM does not offer that HMAC hash (Esys_Create failed (0x2c3: tpm:parameter(2):hash algorithm not supported or not appropriate)); use SHA1 or SHA256")
        let library = TPMFailure.explain(
            TPMError(code: 0, function: "", text: "libtss2-esys.so.0 could not be loaded", shimStatus: -1),
            connection: connection)
        #expect(library.category == .tpm && library.message == "libtss2-esys.so.0 could not be loaded (Debian: sudo apt-get install libtss2-esys-3.0.2-0 libtss2-tctildr0)")
    }
}
