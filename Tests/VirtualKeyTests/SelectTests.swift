import SmartCard
import Testing
import VirtualKey
import YKOATH

@Suite("SELECT and the session")
struct SelectTests {
    @Test("SELECT without a password answers exactly 79 version and 71 salt, then 9000")
    func selectWithoutPassword() {
        let fixture = AppletFixture()
        let response = fixture.send(AppletFixture.selectOATH)
        #expect(response.status == .success)
        #expect(response.data == [0x79, 0x03, 0x05, 0x04, 0x03, 0x71, 0x08, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8])
    }

    @Test("SELECT with a password adds an 8-byte 74 challenge, new on every SELECT, and 7B algorithm 01")
    func selectWithPassword() throws {
        let fixture = AppletFixture()
        fixture.select()
        let key = [UInt8](repeating: 0x42, count: 16)
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)

        let first = fixture.select()
        #expect(first.map(\.tag) == [0x79, 0x71, 0x74, 0x7B])
        #expect(first.first(0x74)?.count == 8)
        #expect(first.first(0x7B) == [0x01])
        let second = fixture.select()
        #expect(second.first(0x74) != nil)
        #expect(second.first(0x74) != first.first(0x74))
        #expect(second.first(0x71) == [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8])
    }

    @Test("SELECT of another applet's AID answers 6A82, as ykman's probes expect")
    func otherApplets() {
        let fixture = AppletFixture()
        let probes: [[UInt8]] = [
            [0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17],  // management
            [0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01],  // OTP
            [0xA0, 0x00, 0x00, 0x03, 0x08],  // PIV
            [0xA0, 0x00, 0x00, 0x05, 0x27, 0x21],  // an OATH AID prefix too short to be unique
        ]
        for aid in probes {
            let status = fixture.send(CommandAPDU(ins: 0xA4, p1: 0x04, data: aid).serialize()).status
            #expect(status == .fileNotFound, "AID \(Hex.encode(aid))")
        }
    }

    @Test("The 8-byte instance AID also selects the applet")
    func instanceAID() {
        let fixture = AppletFixture()
        let status = fixture.send(CommandAPDU(ins: 0xA4, p1: 0x04, data: OATHApplet.aid + [0x01]).serialize()).status
        #expect(status == .success)
    }

    @Test("Before SELECT, and after a card reset, OATH instructions answer 6D00")
    func notSelected() {
        let fixture = AppletFixture()
        #expect(fixture.send(ins: 0xA1).status == .insNotSupported)
        fixture.select()
        #expect(fixture.send(ins: 0xA1).status == .success)
        fixture.applet.resetCard()
        #expect(fixture.send(ins: 0xA1).status == .insNotSupported)
    }

    @Test("Unknown instructions answer 6D00, other classes 6E00, unparsable APDUs 6700")
    func unknownInstructions() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.send(ins: 0x77).status == .insNotSupported)
        #expect(fixture.send(ins: 0xA1, cla: 0x80).status == .claNotSupported)
        #expect(fixture.send([0x00, 0xA1, 0x00]).status == .wrongLength)
        #expect(fixture.send([0x00, 0x01, 0x00, 0x00, 0x05, 0x71]).status == .wrongLength)
    }
}
