import CCID
import Testing

@Suite("CCID messages: encoding and bounds-checked parsing")
struct MessageTests {
    @Test("IccPowerOn with automatic voltage is 62, dwLength 0, slot, bSeq, 00 00 00 (as pcsc-lite's driver sends it)")
    func powerOnBytes() {
        #expect(CCIDCommand(.iccPowerOn(.automatic), slot: 0, sequence: 5).serialize() == bytes("62 00 00 00 00 00 05 00 00 00"))
        #expect(CCIDCommand(.iccPowerOn(.volts3), slot: 1, sequence: 0xFF).serialize() == bytes("62 00 00 00 00 01 ff 02 00 00"))
    }

    @Test("IccPowerOff is 63 and GetSlotStatus 65, with no data and zero message-specific bytes")
    func powerOffAndSlotStatusBytes() {
        #expect(CCIDCommand(.iccPowerOff, slot: 0, sequence: 9).serialize() == bytes("63 00 00 00 00 00 09 00 00 00"))
        #expect(CCIDCommand(.getSlotStatus, slot: 0, sequence: 10).serialize() == bytes("65 00 00 00 00 00 0a 00 00 00"))
    }

    @Test("XfrBlock carries the whole APDU after a little-endian dwLength, bBWI 0 and wLevelParameter 0")
    func xfrBlockBytes() {
        let select = bytes("00 a4 04 00 07 a0 00 00 05 27 21 01")
        #expect(CCIDCommand(.xfrBlock(apdu: select), slot: 0, sequence: 0x2A).serialize() == bytes("6f 0c 00 00 00 00 2a 00 00 00") + select)
        let long = [UInt8](repeating: 0x55, count: 0x012C)
        let message = CCIDCommand(.xfrBlock(apdu: long), slot: 0, sequence: 1).serialize()
        #expect(Array(message.prefix(10)) == bytes("6f 2c 01 00 00 00 01 00 00 00"))
        #expect(message.count == 10 + 300)
        let levelled = CCIDCommand(.xfrBlock(apdu: [1], blockWaitingIntegerExtension: 3, levelParameter: 0x0102), slot: 0, sequence: 0)
        #expect(levelled.serialize() == bytes("6f 01 00 00 00 00 00 03 02 01 01"))
    }

    @Test("A header's dwLength is read little-endian, and the message length includes the 10 header bytes")
    func headerLength() throws {
        let header = try CCIDHeader(parsing: bytes("80 04 03 02 01 00 07 00 00 00")[...])
        #expect(header.dataLength == 0x0102_0304)
        #expect(header.messageLength == 0x0102_0304 + 10)
        #expect(header.sequence == 7 && header.messageType == 0x80)
        let top = try CCIDHeader(parsing: bytes("80 ff ff ff ff 00 00 00 00 00")[...])
        #expect(top.messageLength == 0xFFFF_FFFF + 10)
        var out: [UInt8] = []
        header.serialize(into: &out)
        #expect(out == bytes("80 04 03 02 01 00 07 00 00 00"))
    }

    @Test("A header needs 10 bytes; from an offset slice it reads the slice's own first 10")
    func headerTruncated() throws {
        #expect(throws: CCIDError.truncatedMessage(expected: 10, received: 9)) {
            try CCIDHeader(parsing: bytes("80 00 00 00 00 00 05 41 fe")[...])
        }
        let padded = bytes("aa bb 81 00 00 00 00 00 03 01 00 02")
        let header = try CCIDHeader(parsing: padded[2...])
        #expect(header.messageType == 0x81 && header.sequence == 3 && header.specific == (1, 0, 2))
    }

    @Test("A failed power-on (80 … 41 FE 00) parses as: card present and inactive, command failed, ICC_MUTE")
    func failedPowerOn() throws {
        let response = try CCIDResponse(parsing: bytes("80 00 00 00 00 00 05 41 fe 00"), maxMessageLength: 3072)
        #expect(response.messageType == 0x80 && response.sequence == 5 && response.data.isEmpty)
        #expect(response.status.icc == .presentAndInactive)
        #expect(response.status.command == .failed)
        #expect(response.error == .iccMute)
        #expect(response.error.description == "0xFE ICC_MUTE")
    }

    @Test("A DataBlock with the YubiKey 5 ATR parses to that ATR and serializes back to the same bytes")
    func atrRoundTrip() throws {
        let wire = bytes("80 17 00 00 00 00 00 00 00 00") + SimulatedReader.yubiKey5ATR
        let response = try CCIDResponse(parsing: wire, maxMessageLength: 3072)
        #expect(response.data == SimulatedReader.yubiKey5ATR)
        #expect(response.status == CCIDSlotStatus(icc: .presentAndActive, command: .processed))
        #expect(response.serialize() == wire)
    }

    @Test("A response is exactly one message: short data, trailing bytes and a dwLength over the limit are refused")
    func responseBounds() {
        let header = bytes("80 14 00 00 00 00 01 00 00 00")
        #expect(throws: CCIDError.truncatedMessage(expected: 30, received: 15)) {
            try CCIDResponse(parsing: header + [UInt8](repeating: 0, count: 5), maxMessageLength: 3072)
        }
        #expect(throws: CCIDError.malformedMessage("2 bytes after the 30 that dwLength announces")) {
            try CCIDResponse(parsing: header + [UInt8](repeating: 0, count: 22), maxMessageLength: 3072)
        }
        #expect(throws: CCIDError.messageTooLong(length: 0xFFFF_FFFF + 10, limit: 3072)) {
            try CCIDResponse(parsing: bytes("80 ff ff ff ff 00 00 00 00 00"), maxMessageLength: 3072)
        }
        // 3062 data bytes fill a 3072-byte message exactly; one more is over.
        let full = frame(0x80, sequence: 0, status: 0, data: [UInt8](repeating: 7, count: 3062))
        #expect((try? CCIDResponse(parsing: full, maxMessageLength: 3072))?.data.count == 3062)
        #expect(throws: CCIDError.messageTooLong(length: 3073, limit: 3072)) {
            try CCIDResponse(parsing: frame(0x80, sequence: 0, status: 0, data: [UInt8](repeating: 7, count: 3063)), maxMessageLength: 3072)
        }
    }

    @Test("Every PC_to_RDR message latchkey sends parses back to the same command")
    func commandRoundTrip() throws {
        let commands: [CCIDCommand] = [
            CCIDCommand(.iccPowerOn(.automatic), slot: 0, sequence: 0),
            CCIDCommand(.iccPowerOn(.volts1_8), slot: 2, sequence: 200),
            CCIDCommand(.iccPowerOff, slot: 0, sequence: 1),
            CCIDCommand(.getSlotStatus, slot: 0, sequence: 255),
            CCIDCommand(.xfrBlock(apdu: []), slot: 0, sequence: 3),
            CCIDCommand(.xfrBlock(apdu: [UInt8](repeating: 0xA5, count: 3000), levelParameter: 0x10), slot: 0, sequence: 4),
        ]
        for command in commands {
            #expect(try CCIDCommand(parsing: command.serialize()) == command)
        }
    }

    @Test("A PC_to_RDR parse refuses unknown types, an unknown bPowerSelect and reserved bytes that are not zero")
    func commandRefusals() {
        #expect(throws: CCIDError.malformedMessage("message type 0x80 is no PC_to_RDR message latchkey knows")) {
            try CCIDCommand(parsing: bytes("80 00 00 00 00 00 00 00 00 00"))
        }
        for wire in ["62 00 00 00 00 00 00 04 00 00", "62 00 00 00 00 00 00 00 01 00", "63 00 00 00 00 00 00 00 00 01", "65 01 00 00 00 00 00 00 00 00 ff"] {
            #expect(throws: CCIDError.self, "\(wire)") { try CCIDCommand(parsing: bytes(wire)) }
        }
    }

    @Test("bStatus splits into the card state (bits 0–1) and the command status (bits 6–7); bits 2–5 are reserved")
    func slotStatusBits() {
        let noCard = CCIDSlotStatus(rawValue: 0x42)
        #expect(noCard.icc == .absent && noCard.command == .failed && !noCard.hasReservedBits)
        let busy = CCIDSlotStatus(rawValue: 0x80)
        #expect(busy.icc == .presentAndActive && busy.command == .timeExtension)
        let odd = CCIDSlotStatus(rawValue: 0xC7)
        #expect(odd.icc == .reserved && odd.command == .reserved && odd.hasReservedBits)
        #expect(CCIDSlotStatus(icc: .presentAndInactive, command: .failed).rawValue == 0x41)
        #expect(CCIDSlotStatus(icc: .absent, command: .timeExtension).rawValue == 0x82)
    }

    @Test(
        "bError codes carry the CCID spec's names (table 6.2-2)",
        arguments: [
            (0xFF, "CMD_ABORTED"), (0xFE, "ICC_MUTE"), (0xFD, "XFR_PARITY_ERROR"), (0xFC, "XFR_OVERRUN"), (0xFB, "HW_ERROR"),
            (0xF8, "BAD_ATR_TS"), (0xF7, "BAD_ATR_TCK"), (0xF6, "ICC_PROTOCOL_NOT_SUPPORTED"), (0xF5, "ICC_CLASS_NOT_SUPPORTED"),
            (0xF4, "PROCEDURE_BYTE_CONFLICT"), (0xF3, "DEACTIVATED_PROTOCOL"), (0xF2, "BUSY_WITH_AUTO_SEQUENCE"),
            (0xF0, "PIN_TIMEOUT"), (0xEF, "PIN_CANCELLED"), (0xE0, "CMD_SLOT_BUSY"), (0x00, "command not supported"),
            (0x05, "bad command byte 5 (bSlot)"), (0x90, "maker-specific error"), (0xF9, "unassigned error"),
        ] as [(UInt8, String)])
    func slotErrorNames(code: UInt8, name: String) {
        #expect(CCIDSlotError(rawValue: code).name == name)
    }

    @Test("Every error text is one line that ends with what to do, except cancellation, which the user chose")
    func errorTexts() {
        let errors: [CCIDError] = [
            .noCard(slot: 0), .cardInactive, .cardMute, .commandFailed(.xfrBlock, .hardwareError),
            .wrongSequence(expected: 1, received: 7), .malformedMessage("x"), .truncatedMessage(expected: 10, received: 3),
            .messageTooLong(length: 9000, limit: 3072), .commandTooLong(length: 4000, limit: 3072),
            .unexpectedMessageType(received: 0x81, expected: .dataBlock), .chainedResponse(1), .deviceGone,
            .transferFailed("LIBUSB_ERROR_IO"), .timedOut(milliseconds: 30_000), .timeExtendedWithoutEnd(milliseconds: 60_000),
        ]
        for error in errors {
            let text = error.description
            #expect(!text.contains("\n"))
            let advice = text.split(separator: ":").last.map(String.init) ?? ""
            #expect(["unplug", "plug it in", "send less", "touch it"].contains { advice.contains($0) }, "\(text)")
        }
        #expect(CCIDError.deviceGone.description == "the key was unplugged: plug it in and try again")
        #expect(CCIDError.commandFailed(.xfrBlock, .hardwareError).description.contains("XfrBlock command (bError 0xFB HW_ERROR)"))
        #expect(CCIDError.timedOut(milliseconds: 30_000).description.contains("within 30 s"))
        #expect(CCIDError.timedOut(milliseconds: 250).description.contains("within 250 ms"))
    }
}
