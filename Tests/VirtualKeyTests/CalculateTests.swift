import OATH
import SmartCard
import Testing
import VirtualKey
import YKOATH

@Suite("CALCULATE")
struct CalculateTests {
    @Test("PUT then CALCULATE gives RFC 6238's 8-digit codes", arguments: RFCVectors.totp)
    func rfc6238(vector: RFCVectors.TOTP) {
        let fixture = AppletFixture()
        fixture.select()
        let seed = RFCVectors.seed(vector.algorithm)
        #expect(fixture.put("rfc", secret: seed, algorithm: vector.algorithm, digits: 8) == .success)
        let (status, code) = fixture.code("rfc", challenge: AppletFixture.timeChallenge(vector.time))
        #expect(status == .success)
        #expect(code == vector.code)
    }

    @Test("6-digit codes for each hash equal the OATH engine's, at several times", arguments: OATHAlgorithm.allCases)
    func sixDigitsMatchEngine(algorithm: OATHAlgorithm) {
        let fixture = AppletFixture()
        fixture.select()
        let seed = RFCVectors.seed(algorithm)
        #expect(fixture.put("six", secret: seed, algorithm: algorithm) == .success)
        for time: UInt64 in [0, 59, 1_700_000_000, 1_700_000_029, 1_700_000_030, 4_000_000_000] {
            let expected = OTP.totp(secret: seed, at: time, period: 30, algorithm: algorithm, digits: 6)
            #expect(fixture.code("six", challenge: AppletFixture.timeChallenge(time)).1 == expected, "t=\(time)")
        }
    }

    @Test("P2=00 answers 75 L digits followed by the whole HMAC of the challenge")
    func fullResponse() throws {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("full", secret: RFCVectors.sha256Seed, algorithm: .sha256, digits: 7) == .success)
        let challenge = AppletFixture.timeChallenge(1_111_111_109)
        let response = fixture.send(ins: 0xA2, p2: 0x00, [TLV(0x71, Array("full".utf8)), TLV(0x74, challenge)])
        #expect(response.status == .success)
        let expected = OATHAlgorithm.sha256.hmac(key: RFCVectors.sha256Seed, message: challenge)
        #expect(response.data == [0x75, 0x21, 0x07] + expected)
    }

    @Test("The truncated response is 76 05 digits and the four RFC 4226 truncation bytes, top bit clear")
    func truncatedLayout() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("t", secret: RFCVectors.sha1Seed) == .success)
        let challenge = AppletFixture.timeChallenge(59)
        let response = fixture.send(ins: 0xA2, p2: 0x01, [TLV(0x71, [0x74]), TLV(0x74, challenge)])
        let mac = OATHAlgorithm.sha1.hmac(key: RFCVectors.sha1Seed, message: challenge)
        let offset = Int(mac[19] & 0x0F)
        #expect(response.data == [0x76, 0x05, 0x06, mac[offset] & 0x7F, mac[offset + 1], mac[offset + 2], mac[offset + 3]])
    }

    @Test("HOTP codes follow RFC 4226 from the IMF on, the counter is saved, the challenge ignored")
    func hotp() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("h", secret: RFCVectors.sha1Seed, type: 0x10, imf: 3) == .success)
        for expected in RFCVectors.hotp[3...] {
            #expect(fixture.code("h", challenge: []).1 == expected)
        }
        #expect(fixture.applet.state.accounts.first?.counter == 10)
        #expect(fixture.store.saved.last?.accounts.first?.counter == 10)
    }

    @Test("A secret longer than the hash block is stored hashed and still gives the engine's codes")
    func longSecret() {
        let fixture = AppletFixture()
        fixture.select()
        let secret = (0..<100).map { UInt8($0) }
        // Sent raw, not pre-hashed by the client.
        let status = fixture.send(ins: 0x01, [TLV(0x71, [0x6C]), TLV(0x73, [0x21, 0x06] + secret)]).status
        #expect(status == .success)
        #expect(fixture.applet.state.accounts.first?.secret.count == 20)
        let expected = OTP.totp(secret: secret, at: 1_234_567_890, period: 30, algorithm: .sha1, digits: 6)
        #expect(fixture.code("l", challenge: AppletFixture.timeChallenge(1_234_567_890)).1 == expected)
    }

    @Test("A touch account waits for the button: touched gives the code, never touched gives 6982")
    func touch() {
        for touched in [true, false] {
            let fixture = AppletFixture(touched: touched)
            fixture.select()
            #expect(fixture.put("t", secret: RFCVectors.sha1Seed, properties: 0x02) == .success)
            #expect(fixture.applet.state.accounts.first?.requiresTouch == true)
            let (status, code) = fixture.code("t", challenge: AppletFixture.timeChallenge(59))
            #expect(fixture.touch.asked == 1)
            if touched {
                #expect(code == "287082")
            } else {
                #expect(status == .securityStatusNotSatisfied)
            }
        }
    }

    @Test("Accounts without the touch property never wait for the button")
    func noTouch() {
        let fixture = AppletFixture(touched: false)
        fixture.select()
        #expect(fixture.put("n", secret: RFCVectors.sha1Seed) == .success)
        #expect(fixture.code("n", challenge: AppletFixture.timeChallenge(59)).1 == "287082")
        #expect(fixture.touch.asked == 0)
    }

    @Test("CALCULATE of an unknown name answers 6984; bad P1/P2 6B00; a missing challenge 6A80")
    func errors() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("x", secret: [1, 2, 3]) == .success)
        #expect(fixture.code("nope", challenge: [0]).0 == .noSuchObject)
        #expect(fixture.send(ins: 0xA2, p2: 0x02, [TLV(0x71, [0x78]), TLV(0x74, [0])]).status == .wrongParameters)
        #expect(fixture.send(ins: 0xA2, p2: 0x01, [TLV(0x71, [0x78])]).status == .wrongData)
    }
}

@Suite("CALCULATE ALL")
struct CalculateAllTests {
    @Test("CALCULATE ALL lists each account: 71 name, then 76 code (TOTP), 77 01 digits (HOTP), 7C 01 digits (touch)")
    func layout() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("totp", secret: RFCVectors.sha1Seed, digits: 8) == .success)
        #expect(fixture.put("hotp", secret: RFCVectors.sha1Seed, type: 0x10, digits: 7) == .success)
        #expect(fixture.put("touch", secret: RFCVectors.sha1Seed, properties: 0x02) == .success)
        let challenge = AppletFixture.timeChallenge(59)
        let response = fixture.send(ins: 0xA4, p1: 0x00, p2: 0x01, [TLV(0x74, challenge)])
        #expect(response.status == .success)

        let totp = CalculateAllTests.truncated(RFCVectors.sha1Seed, challenge)
        let expected: [UInt8] =
            [0x71, 0x04] + Array("totp".utf8) + [0x76, 0x05, 0x08] + totp
            + [0x71, 0x04] + Array("hotp".utf8) + [0x77, 0x01, 0x07]
            + [0x71, 0x05] + Array("touch".utf8) + [0x7C, 0x01, 0x06]
        #expect(response.data == expected)
        #expect(OTP.format(OTP.truncatedValue(totp), digits: 8) == "94287082")
        #expect(fixture.touch.asked == 0)
        #expect(fixture.applet.state.accounts[1].counter == 0)
    }

    @Test("CALCULATE ALL with P2=00 gives full 75 responses; without a challenge it answers 6A80")
    func fullAndErrors() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("a", secret: RFCVectors.sha1Seed) == .success)
        let challenge = AppletFixture.timeChallenge(1_111_111_111)
        let response = fixture.send(ins: 0xA4, p1: 0x00, p2: 0x00, [TLV(0x74, challenge)])
        #expect(response.data == [0x71, 0x01, 0x61, 0x75, 0x15, 0x06] + OATHAlgorithm.sha1.hmac(key: RFCVectors.sha1Seed, message: challenge))
        #expect(fixture.send(ins: 0xA4, p1: 0x00, p2: 0x01).status == .wrongData)
        #expect(fixture.send(ins: 0xA4, p1: 0x00, p2: 0x05, [TLV(0x74, challenge)]).status == .wrongParameters)
    }

    static func truncated(_ secret: [UInt8], _ challenge: [UInt8]) -> [UInt8] {
        let mac = OATHAlgorithm.sha1.hmac(key: secret, message: challenge)
        guard let last = mac.last else { return [] }
        let offset = Int(last & 0x0F)
        var bytes = Array(mac[offset..<offset + 4])
        bytes[0] &= 0x7F
        return bytes
    }
}
