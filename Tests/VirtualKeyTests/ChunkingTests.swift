import OATH
import SmartCard
import Testing
import VirtualKey
import YKOATH

/// The applet as a `SmartCardConnection`, so the SmartCard layer's own
/// 61xx loop can read from it.
final class AppletConnection: SmartCardConnection {
    let applet: OATHApplet
    var statuses: [StatusWord] = []
    init(_ applet: OATHApplet) { self.applet = applet }
    func transmit(_ command: [UInt8]) throws -> [UInt8] {
        let response = applet.process(command)
        if let parsed = ResponseAPDU(parsing: response) { statuses.append(parsed.status) }
        return response
    }
}

@Suite("Chunked responses: 61xx and SEND REMAINING")
struct ChunkingTests {
    static func fill(_ fixture: AppletFixture, accounts: Int) {
        fixture.select()
        for i in 0..<accounts {
            let name = "Issuer number \(i):account-\(String(repeating: "x", count: 20))"
            #expect(fixture.put(name, secret: RFCVectors.sha1Seed + [UInt8(i)]) == .success)
        }
    }

    @Test("Pieces of N bytes with 61xx (00 while 256 or more wait) join to the unchunked response", arguments: [1, 16, 100, 255])
    func reassembles(chunk: Int) {
        let whole = AppletFixture()
        let pieces = AppletFixture(chunkSize: chunk)
        Self.fill(whole, accounts: 12)
        Self.fill(pieces, accounts: 12)
        let command = CommandAPDU(ins: 0xA4, p1: 0, p2: 1, data: TLV.serialize([TLV(0x74, AppletFixture.timeChallenge(59))])).serialize()
        let expected = whole.send(command)
        #expect(expected.status == .success)
        #expect(expected.data.count > 500)

        var joined: [UInt8] = []
        var response = pieces.send(command)
        var rounds = 0
        while response.status.isMoreDataAvailable, rounds < 2000 {
            #expect(response.data.count == chunk)
            joined += response.data
            let remaining = expected.data.count - joined.count
            #expect(Int(response.status.sw2) == (remaining > 255 ? 0 : remaining))
            response = pieces.send([0x00, 0xA5, 0x00, 0x00])
            rounds += 1
        }
        #expect(response.status == .success)
        #expect(response.data.count <= chunk)
        joined += response.data
        #expect(joined == expected.data)
        #expect(rounds == (expected.data.count - 1) / chunk)
    }

    @Test("The SmartCard layer's continuation loop reads a chunked LIST whole")
    func smartCardLayer() throws {
        let fixture = AppletFixture(chunkSize: 50)
        Self.fill(fixture, accounts: 5)
        let connection = AppletConnection(fixture.applet)
        let response = try connection.send(
            CommandAPDU(ins: 0xA1), continuation: CommandAPDU(ins: 0xA5))
        #expect(response.status == .success)
        let items = try TLV.parseAll(response.data)
        #expect(items.count == 5)
        #expect(connection.statuses.filter(\.isMoreDataAvailable).count == (response.data.count - 1) / 50)
    }

    @Test("A short response is not chunked; any other command drops waiting data")
    func dropsPending() {
        let fixture = AppletFixture(chunkSize: 8)
        Self.fill(fixture, accounts: 2)
        #expect(fixture.send(ins: 0xA1).status.isMoreDataAvailable)
        #expect(fixture.send(ins: 0x02, [TLV(0x71, [0x7A])]).status == .noSuchObject)
        let after = fixture.send([0x00, 0xA5, 0x00, 0x00])
        #expect(after.status == .success)
        #expect(after.data.isEmpty)
        let select = fixture.send(AppletFixture.selectOATH)
        #expect(select.status.isMoreDataAvailable)  // 15 bytes > 8
        #expect(fixture.send([0x00, 0xA5, 0x00, 0x00]).data.count == 7)
    }
}
