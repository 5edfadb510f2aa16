import SmartCard
import Testing
import YKOATH

/// Answers a misbehaving key gave latchkey (see the virtual key's
/// `--misbehave`), which it once took for something else.
@Suite("Malformed key answers are errors, not something else")
struct MalformedAnswerTests {
    @Test("A LIST item that is not a 72 entry, or a 72 entry without its type byte, is malformed: never an empty or shorter list")
    func listWithForeignItems() throws {
        for answer in ["62 06 21 61 6c 69 63 65", "72 06 21 61 6c 69 63 65 66 01 00", "72 00"] {
            let card = ScriptedCard([
                .init(command: SessionTests.selectCommand, response: SessionTests.selectAnswer),
                .init(command: bytes("00 a1 00 00"), response: bytes(answer + " 90 00")),
            ])
            let session = try OATHSession(connection: card)
            #expect(throws: OATHSessionError.self, "\(answer)") { try session.list() }
        }
        let card = ScriptedCard([
            .init(command: SessionTests.selectCommand, response: SessionTests.selectAnswer),
            .init(command: bytes("00 a1 00 00"), response: bytes("62 01 21 90 00")),
        ])
        #expect(throws: OATHSessionError.malformedResponse("LIST: an item that is not a name-list entry (tag 62)")) {
            try OATHSession(connection: card).list()
        }
    }

    @Test("Two last bytes whose SW1 is neither 61–6F nor 90–9F are no status word: the card's answer is malformed, not a refusal")
    func statusWordsISODoesNotDefine() {
        for sw1 in 0...0xFF {
            let parsed = ResponseAPDU(parsing: [0x01, UInt8(sw1), 0x00])
            let defined = (0x61...0x6F).contains(sw1) || (0x90...0x9F).contains(sw1)
            #expect((parsed != nil) == defined, "SW1 \(sw1)")
            #expect(StatusWord(sw1: UInt8(sw1), sw2: 0).isWellFormed == defined)
        }
        let card = ScriptedCard([.init(command: SessionTests.selectCommand, response: bytes("79 03 25 15"))])
        #expect(throws: SmartCardError.malformedResponse) { try OATHSession(connection: card) }
    }
}
