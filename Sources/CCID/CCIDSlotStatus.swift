/// The card's state in an RDR_to_PC message: bits 0–1 of bStatus
/// (bmICCStatus, CCID rev 1.1 §6.2.6).
public enum CCIDICCStatus: UInt8, Sendable, CustomStringConvertible {
    case presentAndActive = 0
    case presentAndInactive = 1
    case absent = 2
    /// The value 3, which the spec leaves reserved.
    case reserved = 3

    public var description: String {
        switch self {
        case .presentAndActive: "present and active"
        case .presentAndInactive: "present and inactive"
        case .absent: "absent"
        case .reserved: "reserved (3)"
        }
    }
}

/// What the reader did with the command: bits 6–7 of bStatus
/// (bmCommandStatus, CCID rev 1.1 §6.2.6).
public enum CCIDCommandStatus: UInt8, Sendable {
    case processed = 0
    /// Failed: bError says why.
    case failed = 1
    /// Time extension: the reader is still working on the command (a YubiKey
    /// waiting for a touch sends these) and the real answer follows with the
    /// same bSeq. bError then holds the BWI multiplier.
    case timeExtension = 2
    /// The value 3, which the spec leaves reserved.
    case reserved = 3
}

/// bStatus, the slot status register of every RDR_to_PC message:
/// `cc00 00ii` with `cc` the command status and `ii` the card's state; the
/// four middle bits are reserved and zero.
public struct CCIDSlotStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public init(icc: CCIDICCStatus, command: CCIDCommandStatus) {
        rawValue = command.rawValue << 6 | icc.rawValue
    }

    public var icc: CCIDICCStatus { CCIDICCStatus(rawValue: rawValue & 0x03) ?? .reserved }
    public var command: CCIDCommandStatus { CCIDCommandStatus(rawValue: rawValue >> 6) ?? .reserved }
    /// Whether any of bits 2–5, reserved by the spec, is set.
    public var hasReservedBits: Bool { rawValue & 0x3C != 0 }

    public var description: String { "0x" + hexByte(rawValue) }
}

/// bError, the slot error register: why a command failed (bmCommandStatus
/// 1), CCID rev 1.1 §6.2.6 table 6.2-2.
///
/// 0x00 is "command not supported"; 0x01–0x7F is the offset of the command
/// byte the reader refused (5 is bSlot: no such slot); 0x80–0xC0 are the
/// maker's own codes; the named codes are at the top of the range.
public struct CCIDSlotError: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let commandNotSupported = CCIDSlotError(rawValue: 0x00)
    public static let badSlot = CCIDSlotError(rawValue: 0x05)
    public static let cmdSlotBusy = CCIDSlotError(rawValue: 0xE0)
    public static let pinCancelled = CCIDSlotError(rawValue: 0xEF)
    public static let pinTimeout = CCIDSlotError(rawValue: 0xF0)
    public static let busyWithAutoSequence = CCIDSlotError(rawValue: 0xF2)
    public static let deactivatedProtocol = CCIDSlotError(rawValue: 0xF3)
    public static let procedureByteConflict = CCIDSlotError(rawValue: 0xF4)
    public static let iccClassNotSupported = CCIDSlotError(rawValue: 0xF5)
    public static let iccProtocolNotSupported = CCIDSlotError(rawValue: 0xF6)
    public static let badATRTCK = CCIDSlotError(rawValue: 0xF7)
    public static let badATRTS = CCIDSlotError(rawValue: 0xF8)
    public static let hardwareError = CCIDSlotError(rawValue: 0xFB)
    public static let transferOverrun = CCIDSlotError(rawValue: 0xFC)
    public static let transferParityError = CCIDSlotError(rawValue: 0xFD)
    public static let iccMute = CCIDSlotError(rawValue: 0xFE)
    public static let commandAborted = CCIDSlotError(rawValue: 0xFF)

    /// The spec's name for the code, or what the code means when it has none.
    public var name: String {
        switch rawValue {
        case 0x00: "command not supported"
        case 0x01...0x7F: "bad command byte \(rawValue)\(Self.fieldNames[Int(rawValue)].map { " (\($0))" } ?? "")"
        case 0x80...0xC0: "maker-specific error"
        case 0xE0: "CMD_SLOT_BUSY"
        case 0xEF: "PIN_CANCELLED"
        case 0xF0: "PIN_TIMEOUT"
        case 0xF2: "BUSY_WITH_AUTO_SEQUENCE"
        case 0xF3: "DEACTIVATED_PROTOCOL"
        case 0xF4: "PROCEDURE_BYTE_CONFLICT"
        case 0xF5: "ICC_CLASS_NOT_SUPPORTED"
        case 0xF6: "ICC_PROTOCOL_NOT_SUPPORTED"
        case 0xF7: "BAD_ATR_TCK"
        case 0xF8: "BAD_ATR_TS"
        case 0xFB: "HW_ERROR"
        case 0xFC: "XFR_OVERRUN"
        case 0xFD: "XFR_PARITY_ERROR"
        case 0xFE: "ICC_MUTE"
        case 0xFF: "CMD_ABORTED"
        default: "unassigned error"
        }
    }

    /// The header fields a "bad command byte" offset can point at.
    private static let fieldNames: [Int: String] = [1: "dwLength", 5: "bSlot", 6: "bSeq", 7: "bPowerSelect or bBWI"]

    public var description: String { "0x\(hexByte(rawValue)) \(name)" }
}

/// Two upper-case hex digits.
func hexByte(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return byte < 0x10 ? "0" + digits : digits
}
