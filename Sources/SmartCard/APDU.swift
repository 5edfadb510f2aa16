/// An ISO 7816-4 status word (SW1 SW2).
public struct StatusWord: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(sw1: UInt8, sw2: UInt8) { rawValue = UInt16(sw1) << 8 | UInt16(sw2) }

    public var sw1: UInt8 { UInt8(rawValue >> 8) }
    public var sw2: UInt8 { UInt8(rawValue & 0xFF) }

    public static let success = StatusWord(rawValue: 0x9000)
    /// `61xx`: more response data; fetch it with the applet's SEND REMAINING.
    public var isMoreDataAvailable: Bool { sw1 == 0x61 }

    /// Whether SW1 is one ISO 7816-4 (§5.1.3) defines: 61–6F or 90–9F.
    public var isWellFormed: Bool { (0x61...0x6F).contains(sw1) || (0x90...0x9F).contains(sw1) }

    public static let securityStatusNotSatisfied = StatusWord(rawValue: 0x6982)
    public static let noSuchObject = StatusWord(rawValue: 0x6984)
    public static let wrongData = StatusWord(rawValue: 0x6A80)
    public static let fileNotFound = StatusWord(rawValue: 0x6A82)
    public static let notEnoughSpace = StatusWord(rawValue: 0x6A84)
    public static let memoryFailure = StatusWord(rawValue: 0x6581)
    public static let wrongParameters = StatusWord(rawValue: 0x6B00)
    public static let insNotSupported = StatusWord(rawValue: 0x6D00)
    public static let claNotSupported = StatusWord(rawValue: 0x6E00)
    public static let wrongLength = StatusWord(rawValue: 0x6700)

    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }
}

/// A command APDU.
///
/// Wire forms (ISO 7816-4 §5.1): header only `CLA INS P1 P2` (case 1);
/// short `… Lc data [Le]` with Lc ≤ 255; extended `… 00 Lc1 Lc2 data [Le1 Le2]`.
public struct CommandAPDU: Equatable, Sendable {
    public var cla: UInt8
    public var ins: UInt8
    public var p1: UInt8
    public var p2: UInt8
    public var data: [UInt8]
    /// Expected response length, or `nil` for none (case 1 and 3).
    public var le: Int?

    public init(cla: UInt8 = 0, ins: UInt8, p1: UInt8 = 0, p2: UInt8 = 0, data: [UInt8] = [], le: Int? = nil) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.le = le
    }

    public enum Encoding: Sendable { case short, extended }

    /// The bytes to send. Short encoding needs data of at most 255 bytes;
    /// use `.extended` (or command chaining) for more.
    public func serialize(_ encoding: Encoding = .short) -> [UInt8] {
        var out = [cla, ins, p1, p2]
        let extended = encoding == .extended || data.count > 255
        if !data.isEmpty {
            if extended {
                out += [0, UInt8(data.count >> 8 & 0xFF), UInt8(data.count & 0xFF)]
            } else {
                out.append(UInt8(data.count))
            }
            out += data
        }
        if let le {
            if extended {
                if data.isEmpty { out.append(0) }
                out += [UInt8(le >> 8 & 0xFF), UInt8(le & 0xFF)]
            } else {
                out.append(UInt8(le & 0xFF))
            }
        }
        return out
    }

    public enum ParseError: Error, Equatable, Sendable {
        case tooShort
        case lengthMismatch
    }

    /// Parses any of the wire forms (what a card or an emulator receives).
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        guard bytes.count >= 4 else { throw .tooShort }
        cla = bytes[0]
        ins = bytes[1]
        p1 = bytes[2]
        p2 = bytes[3]
        data = []
        le = nil
        let body = bytes[4...]
        switch body.count {
        case 0:
            return
        case 1:
            le = body.first == 0 ? 256 : Int(body[body.startIndex])
            return
        default:
            break
        }
        let first = body[body.startIndex]
        if first != 0 {
            // Short: Lc data [Le]
            let lc = Int(first)
            let rest = body.dropFirst()
            guard rest.count == lc || rest.count == lc + 1 else { throw .lengthMismatch }
            data = Array(rest.prefix(lc))
            if rest.count == lc + 1, let last = rest.last { le = last == 0 ? 256 : Int(last) }
            return
        }
        // Extended: 00 then Lc (2 bytes) data [Le (2)] — or 00 Le1 Le2 alone.
        let rest = body.dropFirst()
        guard rest.count >= 2 else { throw .lengthMismatch }
        let value = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
        let after = rest.dropFirst(2)
        if after.isEmpty {
            le = value == 0 ? 65536 : value
            return
        }
        guard value > 0, after.count == value || after.count == value + 2 else { throw .lengthMismatch }
        data = Array(after.prefix(value))
        if after.count == value + 2 {
            let tail = after.suffix(2)
            let v = Int(tail[tail.startIndex]) << 8 | Int(tail[tail.startIndex + 1])
            le = v == 0 ? 65536 : v
        }
    }
}

/// A response APDU: data, then SW1 SW2.
public struct ResponseAPDU: Equatable, Sendable {
    public var data: [UInt8]
    public var status: StatusWord

    public init(data: [UInt8] = [], status: StatusWord) {
        self.data = data
        self.status = status
    }

    /// Splits raw response bytes. Fewer than two bytes is not a response, nor
    /// are two last bytes that are not a status word.
    public init?(parsing bytes: [UInt8]) {
        guard bytes.count >= 2 else { return nil }
        status = StatusWord(sw1: bytes[bytes.count - 2], sw2: bytes[bytes.count - 1])
        guard status.isWellFormed else { return nil }
        data = Array(bytes.dropLast(2))
    }

    public func serialize() -> [UInt8] { data + [status.sw1, status.sw2] }
}
