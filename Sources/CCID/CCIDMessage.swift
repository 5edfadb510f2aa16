/// The bMessageType values latchkey sends and expects (CCID rev 1.1 §6.1,
/// §6.2). Bulk-OUT messages are PC_to_RDR, bulk-IN ones RDR_to_PC.
public enum CCIDMessageType: UInt8, Sendable, CaseIterable {
    /// PC_to_RDR_IccPowerOn: answered by a DataBlock holding the ATR.
    case iccPowerOn = 0x62
    /// PC_to_RDR_IccPowerOff: answered by a SlotStatus.
    case iccPowerOff = 0x63
    /// PC_to_RDR_GetSlotStatus: answered by a SlotStatus.
    case getSlotStatus = 0x65
    /// PC_to_RDR_XfrBlock: a whole command APDU (short or extended, the
    /// "APDU level" exchange a YubiKey offers), answered by a DataBlock
    /// holding the whole response APDU.
    case xfrBlock = 0x6F
    /// RDR_to_PC_DataBlock.
    case dataBlock = 0x80
    /// RDR_to_PC_SlotStatus.
    case slotStatus = 0x81

    /// The spec's name, for messages people read.
    public var name: String {
        switch self {
        case .iccPowerOn: "IccPowerOn"
        case .iccPowerOff: "IccPowerOff"
        case .getSlotStatus: "GetSlotStatus"
        case .xfrBlock: "XfrBlock"
        case .dataBlock: "DataBlock"
        case .slotStatus: "SlotStatus"
        }
    }
}

// MARK: - Header

/// The 10-byte header every CCID message starts with:
///
///     offset 0  bMessageType
///            1  dwLength   length of the data after the header, little-endian
///            5  bSlot
///            6  bSeq       the answer repeats the command's
///            7  three bytes whose meaning depends on the message type
///
/// The header is read on its own first, so that a length the device claims
/// is checked against the limit before anything is read or kept for it.
public struct CCIDHeader: Equatable, Sendable {
    public static let byteCount = 10

    public var messageType: UInt8
    /// dwLength as sent: up to 4 GiB from a broken device.
    public var dataLength: UInt32
    public var slot: UInt8
    public var sequence: UInt8
    /// Bytes 7, 8 and 9.
    public var specific: (UInt8, UInt8, UInt8)

    public init(messageType: UInt8, dataLength: UInt32, slot: UInt8, sequence: UInt8, specific: (UInt8, UInt8, UInt8)) {
        self.messageType = messageType
        self.dataLength = dataLength
        self.slot = slot
        self.sequence = sequence
        self.specific = specific
    }

    /// Reads the first 10 bytes of `bytes`; what follows is left alone.
    public init(parsing bytes: ArraySlice<UInt8>) throws(CCIDError) {
        guard bytes.count >= CCIDHeader.byteCount else {
            throw .truncatedMessage(expected: CCIDHeader.byteCount, received: bytes.count)
        }
        let at = { (offset: Int) in bytes[bytes.startIndex + offset] }
        messageType = at(0)
        dataLength = UInt32(at(1)) | UInt32(at(2)) << 8 | UInt32(at(3)) << 16 | UInt32(at(4)) << 24
        slot = at(5)
        sequence = at(6)
        specific = (at(7), at(8), at(9))
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(messageType)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: dataLength >> UInt32(shift))) }
        out += [slot, sequence, specific.0, specific.1, specific.2]
    }

    /// The whole message's size, header included, without overflow.
    public var messageLength: Int { Int(clamping: UInt64(dataLength) + UInt64(CCIDHeader.byteCount)) }

    public static func == (lhs: CCIDHeader, rhs: CCIDHeader) -> Bool {
        lhs.messageType == rhs.messageType && lhs.dataLength == rhs.dataLength && lhs.slot == rhs.slot
            && lhs.sequence == rhs.sequence && lhs.specific == rhs.specific
    }
}

// MARK: - PC_to_RDR

/// bPowerSelect of IccPowerOn. A YubiKey ignores it; automatic is what
/// pcsc-lite's CCID driver sends first.
public enum CCIDPowerSelect: UInt8, Sendable {
    case automatic = 0
    case volts5 = 1
    case volts3 = 2
    case volts1_8 = 3
}

/// A PC_to_RDR message latchkey sends.
public struct CCIDCommand: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// `62 00000000 slot seq power 00 00`
        case iccPowerOn(CCIDPowerSelect)
        /// `63 00000000 slot seq 00 00 00`
        case iccPowerOff
        /// `65 00000000 slot seq 00 00 00`
        case getSlotStatus
        /// `6F len slot seq bBWI wLevelParameter(LE) <APDU>`. bBWI 0 and
        /// wLevelParameter 0 suit APDU-level exchange with the whole APDU in
        /// one message.
        case xfrBlock(apdu: [UInt8], blockWaitingIntegerExtension: UInt8 = 0, levelParameter: UInt16 = 0)
    }

    public var kind: Kind
    public var slot: UInt8
    public var sequence: UInt8

    public init(_ kind: Kind, slot: UInt8, sequence: UInt8) {
        self.kind = kind
        self.slot = slot
        self.sequence = sequence
    }

    public var messageType: CCIDMessageType {
        switch kind {
        case .iccPowerOn: .iccPowerOn
        case .iccPowerOff: .iccPowerOff
        case .getSlotStatus: .getSlotStatus
        case .xfrBlock: .xfrBlock
        }
    }

    /// The message type of the answer this command expects.
    public var answerType: CCIDMessageType {
        switch kind {
        case .iccPowerOn, .xfrBlock: .dataBlock
        case .iccPowerOff, .getSlotStatus: .slotStatus
        }
    }

    /// The length this message will have on the wire, header included.
    public var messageLength: Int {
        if case .xfrBlock(let apdu, _, _) = kind { return CCIDHeader.byteCount + apdu.count }
        return CCIDHeader.byteCount
    }

    public func serialize(into out: inout [UInt8]) {
        let data: [UInt8]
        let specific: (UInt8, UInt8, UInt8)
        switch kind {
        case .iccPowerOn(let power): (data, specific) = ([], (power.rawValue, 0, 0))
        case .iccPowerOff, .getSlotStatus: (data, specific) = ([], (0, 0, 0))
        case .xfrBlock(let apdu, let bwi, let level): (data, specific) = (apdu, (bwi, UInt8(level & 0xFF), UInt8(level >> 8)))
        }
        // An APDU longer than 4 GiB cannot exist in an [UInt8] anyone sends;
        // clamping keeps the arithmetic total all the same.
        let header = CCIDHeader(
            messageType: messageType.rawValue, dataLength: UInt32(clamping: data.count), slot: slot, sequence: sequence,
            specific: specific)
        header.serialize(into: &out)
        out += data
    }

    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(messageLength)
        serialize(into: &out)
        return out
    }

    /// Parses one whole PC_to_RDR message (what a reader receives): exactly
    /// one message, of a type listed in ``Kind``, with reserved bytes zero.
    public init(parsing bytes: [UInt8]) throws(CCIDError) {
        let header = try CCIDHeader(parsing: bytes[...])
        let data = try wholeMessageData(header, bytes)
        slot = header.slot
        sequence = header.sequence
        let (b7, b8, b9) = header.specific
        switch CCIDMessageType(rawValue: header.messageType) {
        case .iccPowerOn?:
            guard data.isEmpty, b8 == 0, b9 == 0, let power = CCIDPowerSelect(rawValue: b7) else {
                throw .malformedMessage("an IccPowerOn with data, reserved bytes or an unknown bPowerSelect")
            }
            kind = .iccPowerOn(power)
        case .iccPowerOff?, .getSlotStatus?:
            guard data.isEmpty, b7 == 0, b8 == 0, b9 == 0 else {
                throw .malformedMessage("an IccPowerOff or GetSlotStatus with data or reserved bytes")
            }
            kind = header.messageType == CCIDMessageType.iccPowerOff.rawValue ? .iccPowerOff : .getSlotStatus
        case .xfrBlock?:
            kind = .xfrBlock(apdu: Array(data), blockWaitingIntegerExtension: b7, levelParameter: UInt16(b8) | UInt16(b9) << 8)
        default:
            throw .malformedMessage("message type 0x\(hexByte(header.messageType)) is no PC_to_RDR message latchkey knows")
        }
    }
}

// MARK: - RDR_to_PC

/// An RDR_to_PC message: a DataBlock (`80`), a SlotStatus (`81`) or any
/// other type, kept as it came so that the caller can say what it got.
///
///     80 len slot seq bStatus bError bChainParameter <data>
///     81 00000000 slot seq bStatus bError bClockStatus
public struct CCIDResponse: Equatable, Sendable {
    public var messageType: UInt8
    public var slot: UInt8
    public var sequence: UInt8
    public var status: CCIDSlotStatus
    /// bError: meaningful when the command failed; in a time extension it is
    /// the BWI multiplier.
    public var error: CCIDSlotError
    /// Byte 9: bChainParameter of a DataBlock (0: the data is whole),
    /// bClockStatus of a SlotStatus.
    public var parameter: UInt8
    public var data: [UInt8]

    public init(
        messageType: UInt8, slot: UInt8, sequence: UInt8, status: CCIDSlotStatus, error: CCIDSlotError = .commandNotSupported,
        parameter: UInt8 = 0, data: [UInt8] = []
    ) {
        self.messageType = messageType
        self.slot = slot
        self.sequence = sequence
        self.status = status
        self.error = error
        self.parameter = parameter
        self.data = data
    }

    /// A response from its header and the data after it (`data.count` must
    /// be dwLength: the caller has read exactly that much).
    init(header: CCIDHeader, data: ArraySlice<UInt8>) {
        messageType = header.messageType
        slot = header.slot
        sequence = header.sequence
        status = CCIDSlotStatus(rawValue: header.specific.0)
        error = CCIDSlotError(rawValue: header.specific.1)
        parameter = header.specific.2
        self.data = Array(data)
    }

    /// Parses exactly one whole message. A dwLength that makes the message
    /// longer than `maxMessageLength` (the device's dwMaxCCIDMessageLength)
    /// is refused before anything else is looked at.
    public init(parsing bytes: [UInt8], maxMessageLength: Int) throws(CCIDError) {
        let header = try CCIDHeader(parsing: bytes[...])
        guard header.messageLength <= maxMessageLength else {
            throw .messageTooLong(length: header.messageLength, limit: maxMessageLength)
        }
        self.init(header: header, data: try wholeMessageData(header, bytes))
    }

    public var header: CCIDHeader {
        CCIDHeader(
            messageType: messageType, dataLength: UInt32(clamping: data.count), slot: slot, sequence: sequence,
            specific: (status.rawValue, error.rawValue, parameter))
    }

    public func serialize(into out: inout [UInt8]) {
        header.serialize(into: &out)
        out += data
    }

    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }
}

/// The data after `header` in `bytes`, which must be exactly one message:
/// fewer bytes is a truncated message, more is trailing garbage.
private func wholeMessageData(_ header: CCIDHeader, _ bytes: [UInt8]) throws(CCIDError) -> ArraySlice<UInt8> {
    let expected = header.messageLength
    guard bytes.count >= expected else { throw .truncatedMessage(expected: expected, received: bytes.count) }
    guard bytes.count == expected else {
        throw .malformedMessage("\(bytes.count - expected) bytes after the \(expected) that dwLength announces")
    }
    return bytes[CCIDHeader.byteCount...]
}
