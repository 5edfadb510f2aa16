import SmartCard
import YKOATH

/// A key that answers wrongly on purpose (`serve --misbehave MODE`), to show
/// that a client fails cleanly on answers no working key sends.
///
/// Only the targeted instructions misbehave (`--misbehave-on`; none named:
/// every instruction); the others get the applet's normal answer. What a
/// targeted command gets, by mode:
///
///     truncated-tlv    the answer stops right after its last item's tag:
///                      79 03 05 04 03 71 · 90 00  (no length, no value)
///     length-past-end  the first item's length says 65535 (82 FF FF) with
///                      the real, shorter value behind it
///     unknown-tags     every item's tag turned into one YKOATH does not
///                      define: high nibble 7 → 6 (71 → 61, 76 → 66, 79 → 69)
///     sw-6581          65 81 (memory failure) and no data
///     endless-61xx     16 zero bytes + 61 10 ("16 more bytes"), and the same
///                      again to every SEND REMAINING that follows, forever
///     garbage          1 to 32 random bytes; from 2 bytes on, the last two
///                      are not a status word (SW1 neither 6x nor 9x)
///     silence          nothing: the command is taken and never answered
///
/// The three distorting modes change only answers that carry data with 9000;
/// an answer without data (PUT's 9000) or with an error status passes
/// unchanged. The four replacing modes do not run the applet at all, so a
/// misbehaving PUT or DELETE changes nothing. The misbehaviour applies to
/// each response APDU as it leaves: with `--chunk`, a piece that is not
/// whole TLV items passes the distorting modes unchanged.
public final class Misbehaviour {
    public enum Mode: String, CaseIterable, Sendable {
        case truncatedTLV = "truncated-tlv"
        case lengthPastEnd = "length-past-end"
        case unknownTags = "unknown-tags"
        case sw6581 = "sw-6581"
        case endless61xx = "endless-61xx"
        case garbage
        case silence
    }

    public let mode: Mode
    /// The instructions that misbehave; empty means every one.
    public let targets: [Instruction]
    private let random: any RandomSource
    /// An endless-61xx chain is running: SEND REMAINING keeps it going.
    private var inEndlessChain = false

    /// The piece every endless-61xx answer carries before its `61 10`.
    static let endlessPiece = [UInt8](repeating: 0, count: 16)

    public init(mode: Mode, targets: [Instruction] = [], random: any RandomSource = SystemRandomSource()) {
        self.mode = mode
        self.targets = targets
        self.random = random
    }

    public func isTargeted(_ instruction: Instruction) -> Bool {
        targets.isEmpty || targets.contains(instruction)
    }

    /// The response to send for `command`, or `nil` for none at all.
    /// `normal` runs the applet and gives its answer; it is called at most
    /// once, and not at all when the mode replaces the answer.
    public func respond(to command: [UInt8], normal: () -> [UInt8]) -> [UInt8]? {
        let instruction = Instruction(apdu: command)
        if mode == .endless61xx, inEndlessChain, instruction == .sendRemaining {
            return Self.endlessPiece + [0x61, UInt8(Self.endlessPiece.count)]
        }
        inEndlessChain = false
        guard isTargeted(instruction) else { return normal() }
        switch mode {
        case .truncatedTLV, .lengthPastEnd, .unknownTags:
            return distort(normal())
        case .sw6581:
            return [0x65, 0x81]
        case .endless61xx:
            inEndlessChain = true
            return Self.endlessPiece + [0x61, UInt8(Self.endlessPiece.count)]
        case .garbage:
            return garbage()
        case .silence:
            return nil
        }
    }

    /// A card reset or power cycle ends an endless chain.
    public func resetCard() { inEndlessChain = false }

    // MARK: - Distorted answers

    private func distort(_ response: [UInt8]) -> [UInt8] {
        guard let answer = ResponseAPDU(parsing: response), answer.status == .success, !answer.data.isEmpty,
              let items = try? TLV.parseAll(answer.data), let first = items.first, let last = items.last
        else { return response }
        let data: [UInt8]
        switch mode {
        case .truncatedTLV:
            data = TLV.serialize(Array(items.dropLast())) + [last.tag]
        case .lengthPastEnd:
            data = [first.tag, 0x82, 0xFF, 0xFF] + first.value + TLV.serialize(Array(items.dropFirst()))
        default:
            data = TLV.serialize(items.map { TLV(Self.unknownTag(for: $0.tag), $0.value) })
        }
        return data + [answer.status.sw1, answer.status.sw2]
    }

    /// A tag YKOATH does not define: 7x becomes 6x.
    static func unknownTag(for tag: UInt8) -> UInt8 { tag & 0xF0 == 0x70 ? 0x60 | (tag & 0x0F) : tag }

    private func garbage() -> [UInt8] {
        let count = Int(random.bytes(1).first ?? 0) % 32 + 1
        var bytes = random.bytes(count)
        if bytes.count >= 2 {
            // SW1 values ISO 7816-4 defines are 6x and 9x; anything else is no status word.
            let sw1 = bytes.count - 2
            while bytes[sw1] & 0xF0 == 0x60 || bytes[sw1] & 0xF0 == 0x90 { bytes[sw1] &+= 0x20 }
        }
        return bytes
    }
}

extension Instruction {
    /// The instruction for a name as `--misbehave-on` takes it: the log's
    /// name in lower case with dashes (`select`, `calculate-all`,
    /// `send-remaining`).
    public init?(optionName: String) {
        let all: [Instruction] = [.select, .put, .delete, .setCode, .reset, .rename, .list, .calculate, .validate, .calculateAll, .sendRemaining]
        guard let match = all.first(where: { $0.optionName == optionName.lowercased() }) else { return nil }
        self = match
    }

    public var optionName: String { description.lowercased().replacingUnderscores() }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
