import SmartCard
import TestSupport
import Testing
import VirtualKey
import YKOATH


@Suite("Malformed input")
struct FuzzTests {
    static let instructions: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5]

    /// Random bytes, or a valid header over random or TLV-shaped data.
    static func input(_ rng: inout SplitMix64) -> [UInt8] {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            return bytes(Int.random(in: 0..<300, using: &rng))
        case 1:
            let data = bytes(Int.random(in: 0..<260, using: &rng))
            let ins = instructions.randomElement(using: &rng) ?? 0
            return CommandAPDU(cla: [0, 0x10].randomElement(using: &rng) ?? 0, ins: ins,
                               p1: UInt8.random(in: 0...1, using: &rng), p2: UInt8.random(in: 0...1, using: &rng),
                               data: data).serialize()
        case 2:
            // TLV-shaped: known tags with random (possibly lying) lengths.
            var data: [UInt8] = []
            for _ in 0..<Int.random(in: 0..<5, using: &rng) {
                data.append([0x71, 0x73, 0x74, 0x75, 0x78, 0x7A].randomElement(using: &rng) ?? 0x71)
                let length = [0, 1, 8, 0x7F, 0x81, 0x82, 0xFF].randomElement(using: &rng) ?? 0
                data.append(UInt8(length))
                data += bytes(Int.random(in: 0..<40, using: &rng))
            }
            let ins = instructions.randomElement(using: &rng) ?? 0
            return CommandAPDU(ins: ins, data: data).serialize([.short, .extended].randomElement(using: &rng) ?? .short)
        default:
            // A real command with bytes flipped or cut off.
            var valid = AppletFixture.selectOATH
            if Bool.random(using: &rng) {
                valid = CommandAPDU(ins: 0x01, data: TLV.serialize([TLV(0x71, [0x61]), TLV(0x73, [0x21, 6, 1, 2, 3])])).serialize()
            }
            let index = Int.random(in: 0..<valid.count, using: &rng)
            valid[index] = UInt8.random(in: 0...255, using: &rng)
            return Array(valid.prefix(Int.random(in: 0...valid.count, using: &rng)))
        }
    }

    @Test("Five thousand random and mangled APDUs always get a response of at least SW1 SW2, and the key still works")
    func neverCrashes() {
        let fixture = AppletFixture(chunkSize: 32)
        fixture.select()
        #expect(fixture.put("keep", secret: RFCVectors.sha1Seed) == .success)
        var rng = SplitMix64(seed: 0x1A7C_4B3E)
        for iteration in 0..<5000 {
            let bytes = Self.input(&rng)
            let response = fixture.applet.process(bytes)
            #expect(response.count >= 2, "iteration \(iteration): \(Hex.encode(bytes))")
            if iteration % 97 == 0 { fixture.select() }
        }
        // Whatever the noise did (it may have reset or set a password),
        // a RESET and a fresh PUT bring back a working key.
        fixture.select()
        #expect(fixture.send(ins: 0x04, p1: 0xDE, p2: 0xAD).status == .success)
        fixture.select()
        #expect(fixture.put("after", secret: RFCVectors.sha1Seed) == .success)
        #expect(fixture.code("after", challenge: AppletFixture.timeChallenge(59)).1 == "287082")
    }

    @Test("Every INS byte in every class answers with a status word, selected or not")
    func everyInstruction() {
        let fixture = AppletFixture()
        for selected in [false, true] {
            if selected { fixture.select() }
            for ins in 0...255 {
                for cla: UInt8 in [0x00, 0x10, 0x80, 0xFF] {
                    let response = fixture.applet.process([cla, UInt8(ins), 0, 0])
                    #expect(response.count >= 2)
                    let response2 = fixture.applet.process([cla, UInt8(ins), 0, 0, 0])
                    #expect(response2.count >= 2)
                }
            }
        }
    }
}
