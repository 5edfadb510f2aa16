import CCID
import OATH
import SmartCard
import Testing
import YKOATH

/// Limits short enough for a fast suite, long enough for a loaded machine.
let fastTiming = CCIDTiming(readSliceMilliseconds: 20, writeMilliseconds: 100, answerMilliseconds: 200, totalMilliseconds: 600)

/// A simulated YubiKey 5 with the RFC 6238 SHA-1 seed stored as "aws" (8
/// digits), and a card over it.
func yubiKey(timing: CCIDTiming = fastTiming) -> (SimulatedReader, TestApplet, CCIDCard) {
    let applet = TestApplet()
    applet.accounts["aws"] = TestApplet.Account(secret: Array("12345678901234567890".utf8), algorithm: .sha1, digits: 8)
    let reader = SimulatedReader(applet: applet.respond)
    return (reader, applet, CCIDCard(pipe: reader, timing: timing))
}

/// SELECT and CALCULATE through OATHSession over `card`: the code at `time`.
func totpCode(_ card: CCIDCard, at time: UInt64) throws -> String {
    let session = try OATHSession(connection: card)
    #expect(session.select.versionString == "5.2.4")
    return try session.calculate(idBytes: Array("aws".utf8), challenge: OATHSession.challenge(at: time, period: 30))
}

@Suite("CCIDCard over a simulated reader: the working paths")
struct CardTests {
    @Test("IccPowerOn returns the YubiKey 5 ATR; GetSlotStatus follows power on and off")
    func powerCycle() throws {
        let (reader, _, card) = yubiKey()
        #expect(try card.slotStatus() == .presentAndInactive)
        #expect(try card.powerOn() == SimulatedReader.yubiKey5ATR)
        #expect(card.atr == SimulatedReader.yubiKey5ATR)
        #expect(try card.slotStatus() == .presentAndActive)
        try card.powerOff()
        #expect(card.atr == nil)
        #expect(try card.slotStatus() == .presentAndInactive)
        #expect(reader.commands.map(\.type) == [0x65, 0x62, 0x65, 0x63, 0x65])
        #expect(reader.commands.map(\.sequence) == [0, 1, 2, 3, 4])
        #expect(reader.commands[1].specific == [0, 0, 0], "bPowerSelect 0: automatic")
    }

    @Test("OATH SELECT then CALCULATE over CCID give RFC 6238's SHA-1 codes (94287082 at 59 s, 07081804 at 1111111109 s)")
    func oathCodes() throws {
        let (reader, applet, card) = yubiKey()
        try card.powerOn()
        #expect(try totpCode(card, at: 59) == "94287082")
        #expect(try totpCode(card, at: 1_111_111_109) == "07081804")
        #expect(applet.received.count == 4)
        #expect(applet.received[0] == TestApplet.selectCommand)
        #expect(applet.received[1] == bytes("00 a2 00 01 0f 71 03 61 77 73 74 08 00 00 00 00 00 00 00 01"))
        #expect(reader.commands.map(\.type) == [0x62, 0x6F, 0x6F, 0x6F, 0x6F])
        #expect(reader.commands[1].specific == [0, 0, 0], "bBWI 0, wLevelParameter 0")
    }

    @Test("An answer split into bulk transfers of any size, down to one byte, is put back together", arguments: [1, 2, 3, 9, 10, 11, 16, 64])
    func splitAnswers(size: Int) throws {
        let (reader, _, card) = yubiKey()
        reader.misbehaviour.transferSize = size
        #expect(try card.powerOn() == SimulatedReader.yubiKey5ATR)
        #expect(try totpCode(card, at: 1_234_567_890) == "89005924")
    }

    @Test("Time extensions that outlast the answer limit keep the wait going; the hook is called once; the answer is returned")
    func timeExtensions() throws {
        let (reader, _, card) = yubiKey()
        var calls = 0
        card.onTimeExtension = { calls += 1 }
        try card.powerOn()
        #expect(calls == 0)
        // 5 × 70 ms = 350 ms, past the 200 ms answer limit but within 600 ms.
        reader.misbehaviour.timeExtensions = 5
        reader.misbehaviour.timeExtensionPause = 70
        var answer: [UInt8] = []
        let elapsed = try timed { answer = try card.transmit(TestApplet.selectCommand) }
        #expect(answer == TestApplet.selectAnswer)
        #expect(elapsed >= .milliseconds(350))
        #expect(calls == 1)
        reader.misbehaviour.timeExtensions = 0
        #expect(try card.transmit(TestApplet.selectCommand) == TestApplet.selectAnswer)
        #expect(calls == 1, "no time extension, no call")
    }

    @Test("Late answers to earlier commands (other bSeq) are skipped and the answer with the command's bSeq is returned")
    func staleAnswersSkipped() throws {
        let (reader, _, card) = yubiKey()
        try card.powerOn()
        reader.misbehaviour.staleAnswersFirst = 3
        reader.misbehaviour.transferSize = 7
        #expect(try card.transmit(TestApplet.selectCommand) == TestApplet.selectAnswer)
    }

    @Test("After a command times out, its late answer arriving before the next command's answer is not taken for it")
    func lateAnswerAfterTimeout() throws {
        let applet = TestApplet()
        let reader = SimulatedReader(applet: applet.respond)
        let card = CCIDCard(pipe: reader, timing: fastTiming)
        try card.powerOn()
        reader.misbehaviour.lateAnswer = true
        #expect(throws: CCIDError.timedOut(milliseconds: 200)) {
            try card.transmit([0x00, TestApplet.echo, 0, 0, 1, 0x11])
        }
        #expect(try card.transmit([0x00, TestApplet.echo, 0, 0, 1, 0x22]) == [0x22, 0x90, 0x00])
    }

    @Test("bSeq counts up by one per command and wraps from 255 to 0; every answer still matches its command")
    func sequenceWraps() throws {
        let (reader, _, card) = yubiKey()
        try card.powerOn()
        for i in 1..<300 {
            let value = UInt8(truncatingIfNeeded: i * 7)
            #expect(try card.transmit([0x00, TestApplet.echo, 0, 0, 2, value, UInt8(i >> 8)]) == [value, UInt8(i >> 8), 0x90, 0x00])
        }
        #expect(reader.commands.map(\.sequence) == (0..<300).map { UInt8(truncatingIfNeeded: $0) })
        #expect(card.nextSequence == 44)
    }

    @Test("Extended APDUs up to the message limit go through; a longer one is refused before anything is sent")
    func messageLimit() throws {
        let (reader, _, card) = yubiKey()
        try card.powerOn()
        // 4 + 3 + 3050 + 2 = 3059 bytes of APDU: a 3069-byte message.
        let payload = (0..<3050).map { UInt8(truncatingIfNeeded: $0) }
        let apdu = CommandAPDU(ins: TestApplet.echo, data: payload, le: 0).serialize(.extended)
        #expect(try card.transmit(apdu) == payload + [0x90, 0x00])
        let sent = reader.commands.count
        let tooLong = [UInt8](repeating: 0, count: 3063)
        #expect(throws: CCIDError.commandTooLong(length: 3073, limit: 3072)) { try card.transmit(tooLong) }
        #expect(reader.commands.count == sent)
        #expect(card.nextSequence == 2, "a refused command spends no bSeq")

        let neo = CCIDCard(pipe: SimulatedReader(), maxMessageLength: CCIDCard.neoMaxMessageLength, timing: fastTiming)
        #expect(throws: CCIDError.commandTooLong(length: 1401, limit: 1400)) { try neo.transmit([UInt8](repeating: 0, count: 1391)) }
    }

    @Test("A dwMaxCCIDMessageLength outside what the spec allows is clamped to 271…65544")
    func maxLengthClamped() {
        #expect(CCIDCard(pipe: SimulatedReader(), maxMessageLength: 10).maxMessageLength == 271)
        #expect(CCIDCard(pipe: SimulatedReader(), maxMessageLength: -5).maxMessageLength == 271)
        #expect(CCIDCard(pipe: SimulatedReader(), maxMessageLength: 1 << 40).maxMessageLength == 65544)
    }

    @Test("With the default timing every bulk read waits at most 1 s (so cancellation is seen within a second) and asks for up to 3072 bytes")
    func defaultReads() throws {
        let (reader, _, card) = yubiKey(timing: CCIDTiming())
        try card.powerOn()
        #expect(try totpCode(card, at: 59) == "94287082")
        #expect(!reader.readTimeouts.isEmpty)
        #expect(reader.readTimeouts.allSatisfy { $0 > 0 && $0 <= 1000 })
        #expect(reader.readLengths.allSatisfy { $0 == 3072 })
        #expect(CCIDTiming() == CCIDTiming(readSliceMilliseconds: 1000, writeMilliseconds: 5000, answerMilliseconds: 30_000, totalMilliseconds: 60_000))
    }
}
