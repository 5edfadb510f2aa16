import CCID
import SmartCard
import Testing

/// Random bytes, and random messages that are nearly right, from one seed.
final class MessageFuzzer {
    var generator: Xorshift64

    init(seed: UInt64) { generator = Xorshift64(seed: seed) }

    func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &generator) }
    func byte() -> UInt8 { UInt8.random(in: 0...255, using: &generator) }
    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in byte() } }
    func pick<T>(_ choices: [T]) -> T { choices[int(0..<choices.count)] }

    /// A message with some fields right for `sequence` and some not; its
    /// dwLength usually matches its data.
    func message(sequence: UInt8) -> [UInt8] {
        var wire = frame(
            pick([0x80, 0x81, byte()]), slot: pick([0, 0, 0, byte()]),
            sequence: pick([sequence, sequence, sequence &+ byte(), byte()]),
            status: pick([0x00, 0x00, 0x01, 0x02, 0x40, 0x41, 0x42, 0x80, 0xC0, byte()]), error: byte(),
            parameter: pick([0, 0, 0, byte()]), data: bytes(int(0..<24)))
        if int(0..<8) == 0 { wire[1 + int(0..<4)] = byte() }
        if int(0..<8) == 0 { wire = Array(wire.prefix(int(0..<wire.count + 1))) }
        return wire
    }
}

@Suite("Random input never traps the CCID layer")
struct FuzzTests {
    @Test("20,000 random and nearly-right byte strings: the parsers never trap, and whatever they accept serializes back to the same bytes")
    func parsers() {
        let fuzz = MessageFuzzer(seed: 0xCC1D_0001)
        var accepted = 0, refused = 0
        for round in 0..<20_000 {
            let input: [UInt8]
            switch round % 4 {
            case 0: input = fuzz.bytes(fuzz.int(0..<40))
            case 1: input = fuzz.message(sequence: fuzz.byte())
            case 2: input = frame(fuzz.pick([0x62, 0x63, 0x65, 0x6F]), sequence: fuzz.byte(), status: fuzz.pick([0, 0, 1, fuzz.byte()]), data: fuzz.pick([[], fuzz.bytes(fuzz.int(0..<8))]))
            default: input = fuzz.message(sequence: 0) + fuzz.bytes(fuzz.int(0..<3))
            }
            do throws(CCIDError) {
                let response = try CCIDResponse(parsing: input, maxMessageLength: fuzz.pick([271, 3072, 65544]))
                if response.serialize() != input { Issue.record("response \(hex(input)) serializes to \(hex(response.serialize()))") }
                accepted += 1
            } catch {
                refused += 1
            }
            if let header = try? CCIDHeader(parsing: input[...]) {
                var out: [UInt8] = []
                header.serialize(into: &out)
                if out != Array(input.prefix(10)) { Issue.record("header \(hex(input)) serializes to \(hex(out))") }
            }
            if let command = try? CCIDCommand(parsing: input), command.serialize() != input {
                Issue.record("command \(hex(input)) serializes to \(hex(command.serialize()))")
            }
        }
        // Both paths were taken often: the generator is not all garbage.
        #expect(accepted > 2000 && refused > 2000)
    }

    @Test("3,000 commands answered with random transfers: CCIDCard never traps, ends each promptly with data or a CCIDError, and returns only a well-formed answer to that command")
    func card() throws {
        let fuzz = MessageFuzzer(seed: 0xCC1D_0002)
        let reader = SimulatedReader()
        reader.vanishWhenIdle = true
        reader.flushOnWrite = true
        var wellFormed: [[UInt8]] = []
        reader.script = { command in
            let answerType: UInt8 = command.type == 0x62 || command.type == 0x6F ? 0x80 : 0x81
            var stream: [UInt8] = []
            for _ in 0..<fuzz.int(1..<5) {
                switch fuzz.int(0..<12) {
                case 0, 1: stream += fuzz.bytes(fuzz.int(1..<30))
                case 2, 3, 4: stream += frame(0x80, sequence: command.sequence, status: 0x80, error: 1)
                case 5, 6: stream += frame(answerType, sequence: command.sequence, status: 0, data: fuzz.bytes(fuzz.int(1..<20)))
                default: stream += fuzz.message(sequence: command.sequence)
                }
            }
            // The messages a reader of this stream finds (each header's
            // dwLength says where the next begins), and of them the ones a
            // card may accept as the answer to this command.
            wellFormed = []
            var offset = 0
            while stream.count - offset >= 10 {
                let header = stream[offset..<(offset + 10)].map(Int.init)
                let end = offset + 10 + (header[1] | header[2] << 8 | header[3] << 16 | header[4] << 24)
                guard end <= stream.count else { break }
                let status = header[7]
                if header[0] == Int(answerType), header[5] == 0, header[6] == Int(command.sequence), status & 0xFC == 0,
                    status & 0x03 != 3, answerType == 0x81 || header[9] == 0
                {
                    wellFormed.append(Array(stream[(offset + 10)..<end]))
                }
                offset = end
            }
            var transfers: [SimulatedReader.Transfer] = []
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + fuzz.pick([1, 3, 10, 64, 3072]))
                transfers.append(.bytes(Array(stream[start..<end])))
                start = end
            }
            return transfers
        }
        let card = CCIDCard(
            pipe: reader, timing: CCIDTiming(readSliceMilliseconds: 1, writeMilliseconds: 1, answerMilliseconds: 50, totalMilliseconds: 100))
        var extensions = 0
        card.onTimeExtension = { extensions += 1 }
        let connection: any SmartCardConnection = card
        var successes = 0
        var errors: Set<String> = []
        let elapsed = ContinuousClock().measure {
            for _ in 0..<3000 {
                do {
                    let data: [UInt8]
                    switch fuzz.int(0..<8) {
                    case 0: data = try card.powerOn()
                    case 1: data = try card.slotStatus() == .absent ? [] : [1]
                    default: data = try connection.transmit(fuzz.bytes(fuzz.int(4..<20)))
                    }
                    successes += 1
                    if let type = reader.commands.last?.type, type == 0x62 || type == 0x6F, !wellFormed.contains(data) {
                        Issue.record("accepted \(hex(data)), which no well-formed answer carried")
                    }
                } catch let error as CCIDError {
                    errors.insert(Mirror(reflecting: error).children.first?.label ?? "\(error)")
                } catch {
                    Issue.record("an error that is no CCIDError: \(error)")
                }
            }
        }
        #expect(elapsed < .seconds(10))
        #expect(successes > 100)
        #expect(extensions > 100)
        #expect(errors.count >= 6, "error kinds seen: \(errors.sorted())")
    }
}
