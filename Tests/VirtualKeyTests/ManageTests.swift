import OATH
import SmartCard
import Testing
import VirtualKey
import YKOATH

@Suite("PUT, LIST, DELETE, RENAME, RESET")
struct ManageTests {
    func names(_ fixture: AppletFixture) -> [String] {
        let items = (try? TLV.parseAll(fixture.send(ins: 0xA1).data)) ?? []
        return items.map { String(decoding: $0.value.dropFirst(), as: UTF8.self) }
    }

    @Test("LIST answers 72 L type|algo name per account, in the order they were put")
    func list() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.send(ins: 0xA1).data.isEmpty)
        #expect(fixture.put("Example:alice", secret: [1], algorithm: .sha256) == .success)
        #expect(fixture.put("ctr", secret: [1], type: 0x10, algorithm: .sha512) == .success)
        let response = fixture.send(ins: 0xA1)
        #expect(response.status == .success)
        #expect(response.data == [0x72, 0x0E, 0x22] + Array("Example:alice".utf8) + [0x72, 0x04, 0x13] + Array("ctr".utf8))
    }

    @Test("PUT with a known name overwrites it in place; the state is saved after each change")
    func overwrite() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("a", secret: [1]) == .success)
        #expect(fixture.put("b", secret: [2]) == .success)
        #expect(fixture.put("a", secret: [3], digits: 8) == .success)
        #expect(names(fixture) == ["a", "b"])
        #expect(fixture.applet.state.accounts[0].digits == 8)
        #expect(fixture.store.saved.count == 3)
        #expect(fixture.store.saved.last == fixture.applet.state)
    }

    @Test("PUT refuses bad names, digits, types, algorithms and IMF lengths with 6A80")
    func putValidation() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put(String(repeating: "n", count: 65), secret: [1]) == .wrongData)
        #expect(fixture.put(String(repeating: "n", count: 64), secret: [1]) == .success)
        #expect(fixture.put("d", secret: [1], digits: 5) == .wrongData)
        #expect(fixture.put("d", secret: [1], digits: 9) == .wrongData)
        #expect(fixture.put("t", secret: [1], type: 0x30) == .wrongData)
        #expect(fixture.send(ins: 0x01, [TLV(0x71, [0x61]), TLV(0x73, [0x24, 6, 1])]).status == .wrongData)
        #expect(fixture.send(ins: 0x01, [TLV(0x71, [0x61]), TLV(0x73, [0x21])]).status == .wrongData)
        #expect(fixture.send(ins: 0x01, [TLV(0x71, [0x61]), TLV(0x73, [0x11, 6, 1]), TLV(0x7A, [0, 1])]).status == .wrongData)
        #expect(fixture.send(ins: 0x01, [TLV(0x71, [0x61])]).status == .wrongData)
        #expect(fixture.send(ins: 0x01, [TLV(0x71, [0x61]), TLV(0x71, [0x62]), TLV(0x73, [0x21, 6, 1])]).status == .wrongData)
        #expect(fixture.send(ins: 0x01, [TLV(0x71, [0x61]), TLV(0x73, [0x21, 6, 1]), TLV(0x7F, [])]).status == .wrongData)
        #expect(fixture.send(ins: 0x01, p1: 1, [TLV(0x71, [0x61]), TLV(0x73, [0x21, 6, 1])]).status == .wrongParameters)
        #expect(names(fixture) == [String(repeating: "n", count: 64)])
    }

    @Test("PUT keeps the touch and only-increasing properties and the HOTP IMF")
    func properties() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("h", secret: [1], type: 0x10, properties: 0x03, imf: 0x0102_0304) == .success)
        let account = fixture.applet.state.accounts.first
        #expect(account?.requiresTouch == true)
        #expect(account?.onlyIncreasing == true)
        #expect(account?.counter == 0x0102_0304)
    }

    @Test("PUT beyond the capacity answers 6A84, overwriting still works")
    func capacity() {
        let fixture = AppletFixture(capacity: 2)
        fixture.select()
        #expect(fixture.put("a", secret: [1]) == .success)
        #expect(fixture.put("b", secret: [1]) == .success)
        #expect(fixture.put("c", secret: [1]) == .notEnoughSpace)
        #expect(fixture.put("b", secret: [2]) == .success)
    }

    @Test("DELETE removes an account; an unknown name answers 6984")
    func delete() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("a", secret: [1]) == .success)
        #expect(fixture.put("b", secret: [1]) == .success)
        #expect(fixture.send(ins: 0x02, [TLV(0x71, Array("a".utf8))]).status == .success)
        #expect(names(fixture) == ["b"])
        #expect(fixture.send(ins: 0x02, [TLV(0x71, Array("a".utf8))]).status == .noSuchObject)
        #expect(fixture.store.saved.last?.accounts.count == 1)
    }

    @Test("RENAME changes the name and keeps the secret; unknown old 6984, taken new 6A80")
    func rename() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("old", secret: RFCVectors.sha1Seed) == .success)
        #expect(fixture.put("other", secret: [1]) == .success)
        func rename(_ from: String, _ to: String) -> StatusWord {
            fixture.send(ins: 0x05, [TLV(0x71, Array(from.utf8)), TLV(0x71, Array(to.utf8))]).status
        }
        #expect(rename("old", "Issuer:new") == .success)
        #expect(names(fixture) == ["Issuer:new", "other"])
        #expect(fixture.code("Issuer:new", challenge: AppletFixture.timeChallenge(59)).1 == "287082")
        #expect(rename("old", "x") == .noSuchObject)
        #expect(rename("other", "Issuer:new") == .wrongData)
        #expect(fixture.send(ins: 0x05, [TLV(0x71, Array("other".utf8))]).status == .wrongData)
    }

    @Test("RESET DE AD wipes accounts and password and takes a new salt; other P1P2 answer 6B00")
    func reset() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("a", secret: [1]) == .success)
        let key = [UInt8](repeating: 7, count: 16)
        #expect(AccessHelpers.setCode(fixture, key: key) == .success)
        let oldSalt = fixture.applet.state.salt
        fixture.select()  // locked now: RESET needs no VALIDATE
        #expect(fixture.send(ins: 0x04, p1: 0xDE, p2: 0xAE).status == .wrongParameters)
        #expect(fixture.send(ins: 0x04, p1: 0xDE, p2: 0xAD).status == .success)
        #expect(fixture.applet.state.accounts.isEmpty)
        #expect(fixture.applet.state.accessKey == nil)
        #expect(fixture.applet.state.salt != oldSalt)
        let select = fixture.select()
        #expect(select.map(\.tag) == [0x79, 0x71])
        #expect(select.first(0x71) == fixture.applet.state.salt)
        #expect(fixture.store.saved.last == fixture.applet.state)
    }

    @Test("A state save that fails answers 6581 and leaves the accounts as they were")
    func saveFailure() {
        let fixture = AppletFixture()
        fixture.select()
        #expect(fixture.put("a", secret: [1]) == .success)
        fixture.store.failing = true
        #expect(fixture.put("b", secret: [1]) == .memoryFailure)
        #expect(fixture.send(ins: 0x02, [TLV(0x71, [0x61])]).status == .memoryFailure)
        #expect(names(fixture) == ["a"])
    }

    @Test("Command chaining (CLA 10) hands the joined data to the last command")
    func chaining() {
        let fixture = AppletFixture()
        fixture.select()
        let data = TLV.serialize([TLV(0x71, Array("chained".utf8)), TLV(0x73, [0x21, 0x06] + RFCVectors.sha1Seed)])
        let first = Array(data.prefix(10))
        let rest = Array(data.dropFirst(10))
        #expect(fixture.send(CommandAPDU(cla: 0x10, ins: 0x01, data: first).serialize()).status == .success)
        #expect(fixture.applet.state.accounts.isEmpty)
        #expect(fixture.send(CommandAPDU(cla: 0x00, ins: 0x01, data: rest).serialize()).status == .success)
        #expect(fixture.code("chained", challenge: AppletFixture.timeChallenge(59)).1 == "287082")
    }
}
