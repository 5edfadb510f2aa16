import SystemSupport
import TestSupport
import Testing

@testable import SealedStore

/// The decrypted payload's parser sees only authenticated bytes in practice,
/// but it must still never trap, and it must refuse anything that is not
/// exactly one well-formed payload.
@Suite("Vault payload parser")
struct VaultContentsFuzzTests {
    static func randomContents(_ random: inout SplitMix64) -> VaultContents {
        let kinds = ["oath-account", "aws-access-key", "oath-access-key", "x-new", "", "é✓"]
        var contents = VaultContents()
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            var fields: [String: SecretBytes] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                let key = String(decoding: random.bytes(Int.random(in: 0...6, using: &random)).map { $0 % 26 + 97 }, as: UTF8.self)
                fields[key] = SecretBytes(random.bytes(Int.random(in: 0...40, using: &random)))
            }
            let name = String((0..<Int.random(in: 0...12, using: &random)).map { _ in "ab:/ ✓名".randomElement(using: &random)! })
            // Entries the format refuses (empty kind, name or key) are skipped.
            try? contents.upsert(VaultEntry(kind: VaultEntry.Kind(rawValue: kinds.randomElement(using: &random)!), name: name, fields: fields))
        }
        return contents
    }

    static func canonical(_ contents: VaultContents) -> [UInt8] { contents.serialize() }

    @Test("500 random payloads serialize and parse back to the same entries")
    func roundTrip() throws {
        var random = SplitMix64(seed: 0xC0DE)
        for _ in 0..<500 {
            let contents = Self.randomContents(&random)
            let bytes = contents.serialize()
            let parsed = try VaultContents(parsing: bytes)
            #expect(parsed.serialize() == bytes)
            #expect(parsed.entries.count == contents.entries.count)
        }
    }

    @Test("Every strict prefix of a payload, and a payload with a byte appended, is refused as damaged")
    func prefixesAndTrailingBytes() throws {
        var random = SplitMix64(seed: 0xC0DF)
        for _ in 0..<30 {
            let bytes = Self.randomContents(&random).serialize()
            for length in 0..<bytes.count {
                #expect(throws: VaultFormatError.payloadDamaged) { try VaultContents(parsing: Array(bytes.prefix(length))) }
            }
            #expect(throws: VaultFormatError.payloadDamaged) { try VaultContents(parsing: bytes + [0]) }
        }
    }

    @Test("Hand-made bad payloads are refused: other version, too many entries, duplicate field, invalid UTF-8, lengths past the end")
    func handMade() {
        let bad: [[UInt8]] = [
            [],
            [2, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [1, 0, 0, 0],
            [1, 0, 1, 0x86, 0xA1],  // 100,001 entries claimed
            [1, 0xFF, 0xFF, 0xFF, 0xFF],
            // one entry: kind "k", name "n", two fields both "f"
            [1, 0, 0, 0, 1, 0, 1, 107, 0, 1, 110, 0, 2, 0, 1, 102, 0, 0, 0, 0, 0, 1, 102, 0, 0, 0, 0],
            // kind that is not UTF-8
            [1, 0, 0, 0, 1, 0, 1, 0xFF, 0, 0, 0, 0],
            // name length past the end
            [1, 0, 0, 0, 1, 0, 1, 107, 0xFF, 0xFF],
            // field value length 4 GiB - 1
            [1, 0, 0, 0, 1, 0, 1, 107, 0, 0, 0, 1, 0, 1, 102, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2],
            // field count larger than the fields present
            [1, 0, 0, 0, 1, 0, 1, 107, 0, 0, 0xFF, 0xFF],
        ]
        for bytes in bad {
            #expect(throws: VaultFormatError.payloadDamaged, "\(bytes)") { try VaultContents(parsing: bytes) }
        }
        // The smallest valid payloads.
        #expect(throws: Never.self) { try VaultContents(parsing: [1, 0, 0, 0, 0]) }
        #expect(throws: Never.self) { try VaultContents(parsing: [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]) }
    }

    @Test("5,000 mutated and random payloads never crash the parser, and whatever parses re-serializes canonically")
    func mutationFuzz() {
        var random = SplitMix64(seed: 0xF0221)
        var accepted = 0
        for i in 0..<5_000 {
            var bytes: [UInt8]
            if i.isMultiple(of: 10) {
                bytes = random.bytes(Int.random(in: 0...64, using: &random))
                if !bytes.isEmpty, Bool.random(using: &random) { bytes[0] = 1 }
            } else {
                bytes = Self.randomContents(&random).serialize()
                for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
                    case 1: bytes[at] = [0, 0xFF, 0x7F, 0x80, 1].randomElement(using: &random)!
                    case 2: bytes.remove(at: at)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
                    }
                }
            }
            guard let parsed = try? VaultContents(parsing: bytes) else { continue }
            accepted += 1
            // Re-serializing what parsed must parse again to the same thing.
            let again = parsed.serialize()
            #expect((try? VaultContents(parsing: again))?.serialize() == again)
        }
        #expect(accepted > 0)
    }
}
