import TestSupport
import Testing

@testable import OATH

@Suite("Base32")
struct Base32Tests {
    @Test("Encoding gives RFC 4648's vectors with padding, and the same without it", arguments: Vectors.rfc4648)
    func encodesRFC4648(row: Vectors.Base32Row) {
        #expect(Base32.encode(Array(row.plain.utf8), padding: true) == row.encoded)
        #expect(Base32.encode(Array(row.plain.utf8)) == row.encoded.filter { $0 != "=" })
    }

    @Test("Decoding accepts RFC 4648's vectors in either case, with or without padding", arguments: Vectors.rfc4648)
    func decodesRFC4648(row: Vectors.Base32Row) throws {
        let plain = Array(row.plain.utf8)
        let unpadded = row.encoded.filter { $0 != "=" }
        #expect(try Base32.decode(row.encoded) == plain)
        #expect(try Base32.decode(unpadded) == plain)
        #expect(try Base32.decode(row.encoded.lowercased()) == plain)
        #expect(try Base32.decode(unpadded.lowercased()) == plain)
    }

    @Test("Spaces, tabs and hyphens between groups are ignored")
    func separatorsIgnored() throws {
        let foobar = Array("foobar".utf8)
        #expect(try Base32.decode("MZXW 6YTB OI") == foobar)
        #expect(try Base32.decode("mzxw-6ytb-oi") == foobar)
        #expect(try Base32.decode(" \tMZXW6YTBOI====== ") == foobar)
        #expect(try Base32.decode("jbsw y3dp ehpk 3pxp") == Vectors.googleSecret)
        #expect(try Base32.decode("MZXW6YTBOI== ====") == foobar, "spaces inside the padding")
    }

    @Test("Mixed case decodes to the same bytes")
    func mixedCase() throws {
        #expect(try Base32.decode("JbSwY3dPeHpK3pXp") == Vectors.googleSecret)
    }

    @Test("A character outside the alphabet is rejected, with its position but not the character")
    func invalidCharacters() {
        let cases: [(String, Int)] = [
            ("MZXW1YTB", 4), ("0ZXW6YTB", 0), ("MZXW8YTB", 4), ("MZ!W6YTB", 2), ("MZXW6YT_", 7),
            ("MZXW6YT.", 7), ("MZXW6YT/", 7), ("MZXW\n6YTB", 4), ("MZXWéYTB", 4), ("MZXW6YTB\u{0}", 8),
        ]
        for (text, position) in cases {
            #expect(throws: Base32.DecodingError.invalidCharacter(position: position), "\(text.debugDescription)") {
                try Base32.decode(text)
            }
        }
        let error = Base32.DecodingError.invalidCharacter(position: 4)
        #expect(error.description.contains("position 5"))
        #expect(!error.description.contains("1"), "the description must not echo the secret")
    }

    @Test("Letters after padding are rejected")
    func dataAfterPadding() {
        #expect(throws: Base32.DecodingError.invalidCharacter(position: 8)) { try Base32.decode("MY======MY") }
        #expect(throws: Base32.DecodingError.invalidCharacter(position: 3)) { try Base32.decode("MY=A") }
    }

    @Test("Lengths no encoder produces (1, 3 or 6 symbols past a multiple of 8) are rejected")
    func invalidLengths() {
        for text in ["M", "MZX", "MZXW6Y", "MZXW6YTBM", "MZXW6YTBOIZ", "MZXW6YTBOI2345", "M=======", "mzx====="] {
            #expect(throws: Base32.DecodingError.invalidLength, "\(text)") { try Base32.decode(text) }
        }
    }

    @Test("Empty input, only separators or only padding is an empty secret")
    func emptyInput() {
        for text in ["", "   ", "\t", "========", " - "] {
            #expect(throws: Base32.DecodingError.empty, "\(text.debugDescription)") { try Base32.decode(text) }
        }
    }

    @Test("Random bytes of 1 to 300 bytes survive encode → decode, padded or not, upper or lower case")
    func randomRoundTrip() throws {
        var random = SplitMix64(seed: 0xB32)
        for length in 1...300 {
            let bytes = random.bytes(length)
            let plain = Base32.encode(bytes)
            let padded = Base32.encode(bytes, padding: true)
            #expect(padded.count % 8 == 0)
            #expect(plain.count == (length * 8 + 4) / 5)
            #expect(plain.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
            #expect(try Base32.decode(plain) == bytes)
            #expect(try Base32.decode(padded) == bytes)
            #expect(try Base32.decode(plain.lowercased()) == bytes)
        }
    }

    @Test("Encoding nothing gives nothing")
    func encodeEmpty() {
        #expect(Base32.encode([]) == "")
        #expect(Base32.encode([], padding: true) == "")
    }
}
