// Fuzz target `ccid`: what a USB device claiming to be a CCID reader sends
// on its bulk-IN endpoint.
//
// Each input is read two ways:
//
// 1. As one message, by the parsers on their own: CCIDHeader,
//    CCIDResponse (with YubiKey 4/5's and the NEO's message limits) and
//    CCIDCommand (what a device receives), each accepted message
//    serializing back to the bytes it came from.
// 2. As a device's side of a conversation with CCIDCard: the first byte
//    picks the command (power on, power off, slot status, an APDU) and the
//    size of each bulk transfer; the rest is what the device sends, in
//    transfers of that size. When it runs out, the device is unplugged. The
//    card must end in data or a CCIDError, never a trap or a hang.
import CCID
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    parseAlone(bytes)
    converse(bytes)
}

func parseAlone(_ bytes: [UInt8]) {
    if let header = try? CCIDHeader(parsing: bytes[...]) {
        var out: [UInt8] = []
        header.serialize(into: &out)
        invariant(out == Array(bytes.prefix(10)), "a CCID header does not serialize back: \(hex(bytes.prefix(10)))")
    }
    for limit in [CCIDCard.yubiKeyMaxMessageLength, CCIDCard.neoMaxMessageLength] {
        guard let response = try? CCIDResponse(parsing: bytes, maxMessageLength: limit) else { continue }
        invariant(response.data.count + 10 <= limit, "a response longer than the limit \(limit) was accepted")
        invariant(response.serialize() == bytes, "a CCID response does not serialize back: \(hex(bytes))")
    }
    if let command = try? CCIDCommand(parsing: bytes) {
        invariant(command.serialize() == bytes, "a CCID command does not serialize back: \(hex(bytes))")
    }
}

/// A device that answers with the input's bytes, `size` bytes a transfer,
/// and then is gone. Reads never wait: a timeout is thrown at once when
/// nothing is left to say for this read.
final class ReplayedDevice: BulkPipe {
    private var remaining: ArraySlice<UInt8>
    private let size: Int
    private(set) var writes = 0

    init(_ bytes: ArraySlice<UInt8>, size: Int) {
        remaining = bytes
        self.size = size
    }

    func write(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(BulkPipeError) {
        writes += 1
        guard writes <= 64 else { throw .deviceGone }
    }

    func read(maxLength: Int, timeoutMilliseconds: Int) throws(BulkPipeError) -> [UInt8] {
        guard !remaining.isEmpty else { throw .deviceGone }
        let count = min(size, maxLength, remaining.count)
        defer { remaining = remaining.dropFirst(count) }
        return Array(remaining.prefix(count))
    }
}

func converse(_ bytes: [UInt8]) {
    guard let first = bytes.first else { return }
    let sizes = [1, 3, 10, 64, 512, 3072, 7, 65]
    let device = ReplayedDevice(bytes.dropFirst(), size: sizes[Int(first >> 2) & 7])
    // Short limits: a replayed device never waits, and a time extension
    // must not keep the loop going past the input's end.
    let card = CCIDCard(
        pipe: device, maxMessageLength: first & 0x20 == 0 ? CCIDCard.yubiKeyMaxMessageLength : CCIDCard.neoMaxMessageLength,
        timing: CCIDTiming(readSliceMilliseconds: 1, writeMilliseconds: 1, answerMilliseconds: 50, totalMilliseconds: 100))
    do throws(CCIDError) {
        switch first & 3 {
        case 0:
            let atr = try card.powerOn()
            invariant(!atr.isEmpty, "an empty ATR was accepted")
        case 1: try card.powerOff()
        case 2: use(try card.slotStatus())
        default:
            let select: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01]
            let answer = try card.transmit(select)
            invariant(answer.count + 10 <= card.maxMessageLength, "an answer longer than the message limit")
        }
    } catch {
        use(error.description)
    }
}
