import OATH
import SmartCard
import Testing
import VirtualKey
import YKOATH

enum AccessHelpers {
    /// SET CODE as ykman sends it: `73 11 21 <key>`, `74 08 chal`, `75 14 HMAC`.
    static func setCode(_ fixture: AppletFixture, key: [UInt8], response: [UInt8]? = nil) -> StatusWord {
        let challenge: [UInt8] = [9, 8, 7, 6, 5, 4, 3, 2]
        return fixture.send(ins: 0x03, [
            TLV(OATHTag.key, [0x21] + key),
            TLV(OATHTag.challenge, challenge),
            TLV(OATHTag.fullResponse, response ?? OATHAlgorithm.sha1.hmac(key: key, message: challenge)),
        ]).status
    }

    /// SELECT, then VALIDATE answering its challenge with `key`.
    static func validate(_ fixture: AppletFixture, key: [UInt8], hostChallenge: [UInt8] = [1, 1, 2, 3, 5, 8, 13, 21]) -> ResponseAPDU {
        let selectChallenge = fixture.select().first(OATHTag.challenge) ?? []
        return fixture.send(ins: 0xA3, [
            TLV(OATHTag.fullResponse, OATHAlgorithm.sha1.hmac(key: key, message: selectChallenge)),
            TLV(OATHTag.challenge, hostChallenge),
        ])
    }
}

@Suite("Password: SET CODE and VALIDATE")
struct AccessTests {
    let key = [UInt8](repeating: 0x5A, count: 16)

    @Test("With a password set, commands answer 6982 until VALIDATE, and again after the next SELECT")
    func needsValidate() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("a", secret: RFCVectors.sha1Seed) == .success)
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)

        fixture.select()
        let guarded: [(UInt8, UInt8, UInt8, [TLV])] = [
            (0xA1, 0, 0, []),
            (0xA2, 0, 1, [TLV(0x71, Array("a".utf8)), TLV(0x74, AppletFixture.timeChallenge(59))]),
            (0xA4, 0, 1, [TLV(0x74, AppletFixture.timeChallenge(59))]),
            (0x01, 0, 0, [TLV(0x71, [0x62]), TLV(0x73, [0x21, 6, 1, 2])]),
            (0x02, 0, 0, [TLV(0x71, Array("a".utf8))]),
            (0x05, 0, 0, [TLV(0x71, Array("a".utf8)), TLV(0x71, Array("b".utf8))]),
            (0x03, 0, 0, [TLV(0x73, [])]),
        ]
        for (ins, p1, p2, items) in guarded {
            #expect(fixture.send(ins: ins, p1: p1, p2: p2, items).status == .securityStatusNotSatisfied, "INS \(ins)")
        }
        #expect(fixture.applet.state.accounts.map(\.name) == [Array("a".utf8)])

        let validated = AccessHelpers.validate(fixture, key: key)
        #expect(validated.status == .success)
        #expect(fixture.send(ins: 0xA1).status == .success)
        fixture.select()
        #expect(fixture.send(ins: 0xA1).status == .securityStatusNotSatisfied)
    }

    @Test("A locked key's SELECT answer, chunked small, is fetched with SEND REMAINING before VALIDATE")
    func chunkedLockedSelect() {
        let fixture = AppletFixture(chunkSize: 8)
        fixture.select()
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)
        var response = fixture.send(AppletFixture.selectOATH)
        var data = response.data
        while response.status.isMoreDataAvailable {
            response = fixture.send([0x00, 0xA5, 0x00, 0x00])
            data += response.data
        }
        #expect(response.status == .success)
        #expect(data.count == 28)
        #expect((try? TLV.parseAll(data))?.map(\.tag) == [0x79, 0x71, 0x74, 0x7B])
        // Nothing waiting: SEND REMAINING gives nothing, and LIST stays locked.
        #expect(fixture.send([0x00, 0xA5, 0x00, 0x00]).data.isEmpty)
        #expect(fixture.send(ins: 0xA1).status == .securityStatusNotSatisfied)
    }

    @Test("A right VALIDATE answers 75 14 HMAC-SHA1(key, host challenge)")
    func validateResponse() throws {
        let fixture = AppletFixture()
        fixture.select()
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)
        let hostChallenge: [UInt8] = [0xC0, 0xFF, 0xEE, 0, 1, 2, 3, 4]
        let response = AccessHelpers.validate(fixture, key: key, hostChallenge: hostChallenge)
        #expect(response.status == .success)
        let items = try TLV.parseAll(response.data)
        #expect(items == [TLV(0x75, OATHAlgorithm.sha1.hmac(key: key, message: hostChallenge))])
        #expect(items.first(0x75)?.count == 20)
    }

    @Test("A wrong VALIDATE response answers 6A80 and the session stays locked")
    func wrongValidate() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)
        let wrongKey = [UInt8](repeating: 0x11, count: 16)
        #expect(AccessHelpers.validate(fixture, key: wrongKey).status == .wrongData)
        #expect(fixture.send(ins: 0xA1).status == .securityStatusNotSatisfied)
        // A response to an old challenge does not count either.
        let old = fixture.select().first(0x74) ?? []
        fixture.select()
        let replay = fixture.send(ins: 0xA3, [
            TLV(0x75, OATHAlgorithm.sha1.hmac(key: key, message: old)), TLV(0x74, [1, 2, 3, 4, 5, 6, 7, 8]),
        ])
        #expect(replay.status == .wrongData)
    }

    @Test("VALIDATE without a password answers 6984; malformed VALIDATE answers 6A80")
    func validateWithoutPassword() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.send(ins: 0xA3, [TLV(0x75, [1]), TLV(0x74, [2])]).status == .noSuchObject)
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)
        fixture.select()
        #expect(fixture.send(ins: 0xA3, [TLV(0x74, [2])]).status == .wrongData)
        #expect(fixture.send([0x00, 0xA3, 0x00, 0x00, 0x02, 0x75, 0x05]).status == .wrongData)
    }

    @Test("SET CODE with a response that does not match the key answers 6984 and sets nothing")
    func setCodeMismatch() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(AccessHelpers.setCode(fixture, key: key, response: [UInt8](repeating: 0, count: 20)) == .noSuchObject)
        #expect(fixture.applet.state.accessKey == nil)
        #expect(fixture.select().first(0x74) == nil)
    }

    @Test("SET CODE 73 00 removes the password, and the state is saved")
    func clearPassword() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)
        #expect(fixture.store.saved.last?.accessKey == KeyState.AccessKey(algorithm: .sha1, key: key))
        #expect(AccessHelpers.validate(fixture, key: key).status == .success)
        #expect(fixture.send(ins: 0x03, [TLV(0x73, [])]).status == .success)
        #expect(fixture.store.saved.last?.accessKey == nil)
        #expect(fixture.select().map(\.tag) == [0x79, 0x71])
        #expect(fixture.send(ins: 0xA1).status == .success)
    }
}
