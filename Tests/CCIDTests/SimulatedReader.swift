import CCID
import Glibc
import Testing

/// A USB CCID reader with its card, behind the two bulk endpoints: it parses
/// each message written to it and queues its answer as bulk-IN transfers.
///
/// It frames and parses by hand, not with the CCID module's own code, so a
/// mistake there cannot cancel itself out here. By default it behaves like a
/// YubiKey 5 (one slot, the card powered by IccPowerOn, APDUs answered by
/// `applet`); `misbehaviour` makes it misbehave in the ways a broken or busy
/// device can.
final class SimulatedReader: BulkPipe {
    static let yubiKey5ATR = bytes("3b fd 13 00 00 81 31 fe 15 80 73 c0 21 c0 57 59 75 62 69 4b 65 79 40")

    /// One bulk-IN event.
    enum Transfer {
        case bytes([UInt8])
        /// Waits this long before the next transfer (a key busy with a command).
        case pause(milliseconds: Int)
        /// The device disappears: this read throws `.deviceGone`.
        case vanish
        /// This read fails as libusb would with `text`.
        case fail(String)
    }

    /// A command as the reader parsed it.
    struct Command {
        var type: UInt8
        var slot: UInt8
        var sequence: UInt8
        var specific: [UInt8]
        var data: [UInt8]
    }

    struct Misbehaviour {
        /// Split every answer into transfers of this many bytes.
        var transferSize: Int?
        /// Time-extension frames sent before each answer, each after `timeExtensionPause`.
        var timeExtensions = 0
        var timeExtensionPause = 0
        /// Time-extension frames every `timeExtensionPause` ms, never an answer.
        var endlessTimeExtensions = false
        /// Added to the command's bSeq in the answer.
        var sequenceShift: UInt8 = 0
        /// Answers with earlier bSeqs (late answers to other commands) sent first.
        var staleAnswersFirst = 0
        /// bStatus and bError of every answer.
        var status: (UInt8, UInt8)?
        var answerType: UInt8?
        var answerSlot: UInt8?
        var chainParameter: UInt8 = 0
        /// Raw bytes sent instead of the answer.
        var replacement: [UInt8]?
        /// Never answer.
        var silent = false
        /// Hold back the next answer and send it just before the answer after it.
        var lateAnswer = false
        /// Throw `.deviceGone` after this many bytes of the answer.
        var vanishAfter: Int?
        var vanishOnWrite = false
        /// Fail a read with this libusb text instead of answering.
        var failure: String?
    }

    var misbehaviour = Misbehaviour()
    /// The card's applet: command APDU in, response APDU out.
    var applet: ([UInt8]) -> [UInt8]
    /// When set, answers every command instead of the reader's own logic.
    var script: ((Command) -> [Transfer])?
    /// What a read finds when nothing is queued: wait its time limit and
    /// report a time-out (a real device), or vanish at once (for fast fuzzing).
    var vanishWhenIdle = false
    /// Drop what the host left unread when it writes a new command.
    var flushOnWrite = false

    private(set) var powered = false
    private(set) var commands: [Command] = []
    private(set) var readTimeouts: [Int] = []
    private(set) var readLengths: [Int] = []
    private var queue: [Transfer] = []
    private var heldBack: [Transfer]?

    init(applet: @escaping ([UInt8]) -> [UInt8] = { _ in [0x6D, 0x00] }) {
        self.applet = applet
    }

    // MARK: - BulkPipe

    func write(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(BulkPipeError) {
        if misbehaviour.vanishOnWrite { throw .deviceGone }
        guard bytes.count >= 10 else {
            Issue.record("a message shorter than a CCID header: \(hex(bytes))")
            return
        }
        let length = Int(bytes[1]) | Int(bytes[2]) << 8 | Int(bytes[3]) << 16 | Int(bytes[4]) << 24
        #expect(bytes.count == 10 + length, "dwLength \(length) does not match the \(bytes.count - 10) data bytes written")
        let command = Command(
            type: bytes[0], slot: bytes[5], sequence: bytes[6], specific: Array(bytes[7..<10]), data: Array(bytes[10...]))
        commands.append(command)
        if flushOnWrite { queue.removeAll() }
        let transfers = script?(command) ?? answer(command)
        if misbehaviour.lateAnswer && heldBack == nil {
            heldBack = transfers
        } else {
            queue += (heldBack ?? []) + transfers
            heldBack = nil
        }
    }

    func read(maxLength: Int, timeoutMilliseconds: Int) throws(BulkPipeError) -> [UInt8] {
        readTimeouts.append(timeoutMilliseconds)
        readLengths.append(maxLength)
        if misbehaviour.endlessTimeExtensions, let last = commands.last {
            sleep(milliseconds: misbehaviour.timeExtensionPause)
            return frame(0x80, slot: last.slot, sequence: last.sequence, status: 0x80, error: 0x01)
        }
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case .bytes(let bytes):
                #expect(bytes.count <= maxLength, "a transfer of \(bytes.count) bytes for a read of at most \(maxLength)")
                return bytes
            case .pause(let milliseconds):
                // Time passes for the device whether or not the host is reading.
                sleep(milliseconds: milliseconds)
            case .vanish:
                throw .deviceGone
            case .fail(let text):
                throw .failed(text)
            }
        }
        if vanishWhenIdle { throw .deviceGone }
        sleep(milliseconds: timeoutMilliseconds)
        throw .timedOut
    }

    // MARK: - The reader's behaviour

    /// The answer of a working reader, bent by `misbehaviour`.
    private func answer(_ command: Command) -> [Transfer] {
        let m = misbehaviour
        if let failure = m.failure { return [.fail(failure)] }
        if m.silent { return [] }
        var (type, status, error, data) = honestAnswer(command)
        if let (s, e) = m.status { (status, error) = (s, e) }
        let slot = m.answerSlot ?? command.slot
        let sequence = command.sequence &+ m.sequenceShift
        type = m.answerType ?? type
        var transfers: [Transfer] = []
        for i in 0..<m.staleAnswersFirst {
            let stale = frame(type, slot: slot, sequence: command.sequence &- UInt8(truncatingIfNeeded: i + 1), status: status, data: [0xBA, 0xD0])
            transfers += split(stale)
        }
        for _ in 0..<m.timeExtensions {
            transfers.append(.pause(milliseconds: m.timeExtensionPause))
            transfers += split(frame(type, slot: slot, sequence: sequence, status: 0x80, error: 0x01))
        }
        let answer = m.replacement ?? frame(type, slot: slot, sequence: sequence, status: status, error: error, parameter: m.chainParameter, data: data)
        if let cut = m.vanishAfter {
            return transfers + split(Array(answer.prefix(cut))) + [.vanish]
        }
        return transfers + split(answer)
    }

    /// What a YubiKey's CCID interface answers: type, bStatus, bError, data.
    private func honestAnswer(_ command: Command) -> (UInt8, UInt8, UInt8, [UInt8]) {
        switch command.type {
        case 0x62:
            powered = true
            return (0x80, 0x00, 0x00, SimulatedReader.yubiKey5ATR)
        case 0x63:
            powered = false
            return (0x81, 0x01, 0x00, [])
        case 0x65:
            return (0x81, powered ? 0x00 : 0x01, 0x00, [])
        case 0x6F:
            // An unpowered card cannot answer: failed, inactive, ICC_MUTE.
            guard powered else { return (0x80, 0x41, 0xFE, []) }
            return (0x80, 0x00, 0x00, applet(command.data))
        default:
            // Failed, bError 0: command not supported.
            return (0x81, 0x40, 0x00, [])
        }
    }

    private func split(_ bytes: [UInt8]) -> [Transfer] {
        guard let size = misbehaviour.transferSize, size > 0 else { return [.bytes(bytes)] }
        return stride(from: 0, to: bytes.count, by: size).map { .bytes(Array(bytes[$0..<min($0 + size, bytes.count)])) }
    }

    private func sleep(milliseconds: Int) {
        if milliseconds > 0 { usleep(UInt32(milliseconds) * 1000) }
    }
}

/// An RDR_to_PC message, built byte by byte.
func frame(_ type: UInt8, slot: UInt8 = 0, sequence: UInt8, status: UInt8, error: UInt8 = 0, parameter: UInt8 = 0, data: [UInt8] = [])
    -> [UInt8]
{
    let n = UInt32(data.count)
    let length = [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
    return [type] + length + [slot, sequence, status, error, parameter] + data
}

func bytes(_ text: String) -> [UInt8] { text.split(separator: " ").compactMap { UInt8($0, radix: 16) } }

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

/// xorshift64: a small seeded generator, so a failing random case repeats.
struct Xorshift64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
