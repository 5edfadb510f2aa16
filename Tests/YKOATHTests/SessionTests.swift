import OATH
import SmartCard
import Testing
import YKOATH

@Suite("OATHSession over a scripted card")
struct SessionTests {
    static let selectCommand = bytes("00 a4 04 00 07 a0 00 00 05 27 21 01")
    static let selectAnswer = bytes("79 03 05 04 03 71 08 01 02 03 04 05 06 07 08 90 00")

    @Test("One code is SELECT then CALCULATE with the time step as challenge; the truncated answer gives RFC 4226's 287082")
    func calculate() throws {
        // 287082 is the HOTP value at counter 1 for "12345678901234567890":
        // its dynamic truncation bytes, masked, are 0x1b_f5_8d_ea… — here we
        // hand the session the 4 truncated bytes of that HMAC.
        let mac = OATHAlgorithm.sha1.hmac(key: Array("12345678901234567890".utf8), message: [0, 0, 0, 0, 0, 0, 0, 1])
        let offset = Int(mac[19] & 0x0F)
        let truncated = Array(mac[offset..<(offset + 4)])
        let challenge = OATHSession.challenge(at: 59, period: 30)
        #expect(challenge == [0, 0, 0, 0, 0, 0, 0, 1])
        let card = ScriptedCard([
            .init(command: Self.selectCommand, response: Self.selectAnswer),
            .init(command: bytes("00 a2 00 01 0f 71 03 61 77 73 74 08 00 00 00 00 00 00 00 01"), response: [0x76, 0x05, 0x06] + truncated + [0x90, 0x00]),
        ])
        let session = try OATHSession(connection: card)
        #expect(try session.calculate(idBytes: Array("aws".utf8), challenge: challenge) == "287082")
        #expect(card.isFinished && card.sent.count == 2)
    }

    @Test("61xx answers are followed by SEND REMAINING until 9000 and reassembled")
    func chaining() throws {
        let list = bytes("72 04 21 61 62 63 72 03 11 78 79")
        let card = ScriptedCard([
            .init(command: Self.selectCommand, response: bytes("79 03 05 04 03 61 0b")),
            .init(command: bytes("00 a5 00 00"), response: bytes("71 08 01 02 03 04 05 06 07 08 90 00")),
            .init(command: bytes("00 a1 00 00"), response: Array(list.prefix(4)) + [0x61, 0x07]),
            .init(command: bytes("00 a5 00 00"), response: Array(list[4..<8]) + [0x61, 0x03]),
            .init(command: bytes("00 a5 00 00"), response: Array(list[8...]) + [0x90, 0x00]),
        ])
        let session = try OATHSession(connection: card)
        let listed = try session.list()
        #expect(listed.map(\.id) == ["abc", "xy"])
        #expect(listed[0].isTOTP && listed[0].algorithm == .sha1)
        #expect(listed[1].isHOTP)
    }

    @Test("VALIDATE answers the SELECT challenge and checks the key's answer to ours; a wrong answer is refused")
    func validate() throws {
        let key = try OATHSession.deriveAccessKey(password: Array("password".utf8), salt: bytes("01 02 03 04 05 06 07 08"))
        #expect(key.count == 16)
        let locked = bytes("79 03 05 04 03 71 08 01 02 03 04 05 06 07 08 74 08 aa aa aa aa aa aa aa aa 7b 01 01 90 00")
        let expectedResponse = OATHAlgorithm.sha1.hmac(key: key, message: [UInt8](repeating: 0xAA, count: 8))
        final class Answering: SmartCardConnection {
            let key: [UInt8]
            let lie: Bool
            let select: [UInt8]
            var validateData: [UInt8] = []
            init(key: [UInt8], lie: Bool, select: [UInt8]) { self.key = key; self.lie = lie; self.select = select }
            func transmit(_ command: [UInt8]) throws -> [UInt8] {
                if command[1] == 0xA4 { return select }
                validateData = Array(command.dropFirst(5))
                let items = (try? TLV.parseAll(validateData)) ?? []
                let host = items.first(OATHTag.challenge) ?? []
                var proof = OATHAlgorithm.sha1.hmac(key: key, message: host)
                if lie { proof[0] ^= 1 }
                return TLV.serialize([TLV(OATHTag.fullResponse, proof)]) + [0x90, 0x00]
            }
        }
        let honest = Answering(key: key, lie: false, select: locked)
        let session = try OATHSession(connection: honest)
        #expect(session.select.isPasswordProtected)
        try session.validate(accessKey: key)
        #expect(session.isValidated)
        #expect(try TLV.parseAll(honest.validateData).first(OATHTag.fullResponse) == expectedResponse)

        let liar = try OATHSession(connection: Answering(key: key, lie: true, select: locked))
        #expect(throws: OATHSessionError.keyAuthenticationFailed) { try liar.validate(accessKey: key) }
    }

    @Test("PUT sends name, type|algorithm, digits, the key padded to 14 bytes, the touch property and the HOTP counter")
    func put() throws {
        let card = ScriptedCard([
            .init(command: Self.selectCommand, response: Self.selectAnswer),
            .init(command: nil, response: [0x90, 0x00]),
        ])
        let session = try OATHSession(connection: card)
        try session.put(OATHCredential(name: "door", kind: .hotp(counter: 258), algorithm: .sha256, digits: 8, secret: [1, 2, 3]), requireTouch: true)
        let data = Array(card.sent[1].dropFirst(5))
        #expect(Array(card.sent[1].prefix(4)) == bytes("00 01 00 00"))
        #expect(try TLV.parseAll(data) == [
            TLV(0x71, Array("door".utf8)),
            TLV(0x73, [0x12, 8, 1, 2, 3] + [UInt8](repeating: 0, count: 11)),
            TLV(0x78, [0x02]),
            TLV(0x7A, [0, 0, 1, 2]),
        ])
    }

    @Test("Status words map to typed errors: 6984 no such account, 6982 password needed, 6A82 on SELECT no applet")
    func statusWords() throws {
        let missing = ScriptedCard([.init(command: Self.selectCommand, response: Self.selectAnswer), .init(command: nil, response: [0x69, 0x84])])
        #expect(throws: OATHSessionError.noSuchCredential) { try OATHSession(connection: missing).calculate(idBytes: [0x61], challenge: []) }
        let locked = ScriptedCard([.init(command: Self.selectCommand, response: Self.selectAnswer), .init(command: nil, response: [0x69, 0x82])])
        #expect(throws: OATHSessionError.authenticationRequired(during: "LIST")) { try OATHSession(connection: locked).list() }
        let noApplet = ScriptedCard([.init(command: Self.selectCommand, response: [0x6A, 0x82])])
        #expect(throws: OATHSessionError.noOATHApplet) { try OATHSession(connection: noApplet) }
    }

    @Test("Random answers to every command end in a typed error or a result, never a crash; endless 61xx is cut off")
    func fuzzResponses() {
        final class Noise: SmartCardConnection {
            var generator = SystemRandomNumberGenerator()
            var calls = 0
            func transmit(_ command: [UInt8]) throws -> [UInt8] {
                calls += 1
                if calls == 1 { return SessionTests.selectAnswer }
                let count = Int.random(in: 0...24, using: &generator)
                var data = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                data += Bool.random(using: &generator) ? [0x90, 0x00] : [0x61, UInt8.random(in: 0...255, using: &generator)]
                return data
            }
        }
        for _ in 0..<2_000 {
            guard let session = try? OATHSession(connection: Noise()) else { continue }
            _ = try? session.list()
            _ = try? session.calculate(idBytes: [0x61], challenge: [1])
            _ = try? session.calculateAll(challenge: [1])
            _ = try? session.validate(accessKey: [UInt8](repeating: 1, count: 16))
        }
        final class Endless: SmartCardConnection {
            func transmit(_ command: [UInt8]) throws -> [UInt8] { command[1] == 0xA4 ? SessionTests.selectAnswer : [0x00, 0x61, 0x10] }
        }
        #expect(throws: SmartCardError.tooManyContinuations) { try OATHSession(connection: Endless()).list() }
    }
}
