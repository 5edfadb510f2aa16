import OATH
import SmartCard
import Testing
import YKOATH

@Suite("APDU and TLV encoding against the specification's bytes")
struct EncodingTests {
    @Test("SELECT of the OATH AID is 00 A4 04 00 07 A0 00 00 05 27 21 01")
    func selectBytes() {
        let select = CommandAPDU(ins: 0xA4, p1: 0x04, data: OATHSession.aid)
        #expect(select.serialize() == bytes("00 a4 04 00 07 a0 00 00 05 27 21 01"))
    }

    @Test("Header-only, short with Le, and extended encodings; parsing gives the same APDU back")
    func apduForms() throws {
        #expect(CommandAPDU(ins: 0xA5).serialize() == bytes("00 a5 00 00"))
        #expect(CommandAPDU(ins: 0xA1, le: 0).serialize() == bytes("00 a1 00 00 00"))
        let long = CommandAPDU(ins: 0x01, data: [UInt8](repeating: 0xAB, count: 300))
        let wire = long.serialize()
        #expect(Array(wire.prefix(7)) == bytes("00 01 00 00 00 01 2c"))
        #expect(wire.count == 7 + 300)
        for apdu in [long, CommandAPDU(ins: 0xA2, p2: 1, data: [1, 2, 3]), CommandAPDU(ins: 0xA5), CommandAPDU(ins: 0xA4, data: [9], le: 256)] {
            let parsed = try CommandAPDU(parsing: apdu.serialize(apdu.data.count > 255 ? .extended : .short))
            #expect(parsed.data == apdu.data && parsed.ins == apdu.ins && parsed.p2 == apdu.p2)
        }
        #expect(throws: CommandAPDU.ParseError.self) { try CommandAPDU(parsing: bytes("00 a4 04 00 05 01 02")) }
        #expect(throws: CommandAPDU.ParseError.self) { try CommandAPDU(parsing: bytes("00 a4")) }
    }

    @Test("A real key's SELECT answer parses: version 5.2.4, 8-byte salt, no password")
    func realSelect() throws {
        let answer = bytes("79 03 05 02 04 71 08 4b b7 a7 fa d7 af 40 1b")
        let select = try OATHSelectResponse(parsing: answer)
        #expect(select.versionString == "5.2.4")
        #expect(select.salt == bytes("4b b7 a7 fa d7 af 40 1b"))
        #expect(!select.isPasswordProtected)
        #expect(select.deviceID.count == 22, "16 bytes in unpadded base64")
    }

    @Test("BER lengths: one byte below 0x80, 81 xx, 82 xx xx; the property tag 78 has no length byte")
    func berLengths() throws {
        var out: [UInt8] = []
        TLV(0x71, [UInt8](repeating: 1, count: 0x7F)).serialize(into: &out)
        #expect(Array(out.prefix(2)) == [0x71, 0x7F])
        out = []
        TLV(0x73, [UInt8](repeating: 1, count: 0x80)).serialize(into: &out)
        #expect(Array(out.prefix(3)) == [0x73, 0x81, 0x80])
        out = []
        TLV(0x73, [UInt8](repeating: 1, count: 0x1234)).serialize(into: &out)
        #expect(Array(out.prefix(4)) == [0x73, 0x82, 0x12, 0x34])
        #expect(TLV.serialize([TLV(0x78, [0x02])]) == [0x78, 0x02])
        let items = try TLV.parseAll(bytes("71 03 61 62 63 78 02 73 81 02 aa bb"))
        #expect(items == [TLV(0x71, Array("abc".utf8)), TLV(0x78, [2]), TLV(0x73, [0xAA, 0xBB])])
    }

    @Test("Truncated items, lengths past the end and unknown length forms are errors")
    func malformedTLV() {
        for text in ["71", "71 05 01 02", "73 81", "73 82 01", "78", "71 83 00 00 01 00", "71 02 01"] {
            #expect(throws: TLV.ParseError.self, "\(text)") { try TLV.parseAll(bytes(text)) }
        }
    }

    @Test("20,000 random byte strings never crash the TLV or SELECT parsers")
    func fuzzParsers() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            var data = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator), !data.isEmpty { data[0] = [0x71, 0x72, 0x74, 0x75, 0x76, 0x78, 0x79, 0x7C].randomElement(using: &generator) ?? 0x71 }
            _ = try? TLV.parseAll(data)
            _ = try? OATHSelectResponse(parsing: data)
            _ = try? OATHSession.code(fromTruncated: data)
            _ = try? CommandAPDU(parsing: data)
            _ = ResponseAPDU(parsing: data)
        }
    }
}
