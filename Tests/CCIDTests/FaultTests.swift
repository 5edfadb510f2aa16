import CCID
import SystemSupport
import Testing

/// A powered simulated YubiKey whose next answers misbehave as `bend` says.
func misbehavingKey(_ bend: (inout SimulatedReader.Misbehaviour) -> Void) throws -> (SimulatedReader, CCIDCard) {
    let (reader, _, card) = yubiKey()
    try card.powerOn()
    bend(&reader.misbehaviour)
    return (reader, card)
}

/// How long `body` took.
func timed(_ body: () throws -> Void) rethrows -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    return clock.now - start
}

@Suite("CCIDCard over a simulated reader: devices that misbehave")
struct FaultTests {
    @Test("An answer that only ever carries another bSeq ends in wrongSequence once the answer limit passes")
    func wrongSequence() throws {
        let (_, card) = try misbehavingKey { $0.sequenceShift = 5 }
        let elapsed = timed {
            #expect(throws: CCIDError.wrongSequence(expected: 1, received: 6)) { try card.transmit(TestApplet.selectCommand) }
        }
        #expect(elapsed >= .milliseconds(200) && elapsed < .milliseconds(1000))
    }

    @Test("More late answers than the skip limit end the command at once with wrongSequence, even if the right one would follow")
    func tooManyStaleAnswers() throws {
        let (_, card) = try misbehavingKey { $0.staleAnswersFirst = CCIDCard.skippedMessageLimit + 1 }
        let elapsed = timed {
            do throws(CCIDError) {
                _ = try card.transmit(TestApplet.selectCommand)
                Issue.record("accepted an answer after \(CCIDCard.skippedMessageLimit + 1) stale ones")
            } catch {
                // Command bSeq 1; the 33rd stale answer carries 1 - 33.
                #expect(error == .wrongSequence(expected: 1, received: 1 &- 33))
            }
        }
        #expect(elapsed < .milliseconds(150), "no wait for a deadline")
        let (_, fine) = try misbehavingKey { $0.staleAnswersFirst = CCIDCard.skippedMessageLimit }
        #expect(try fine.transmit(TestApplet.selectCommand) == TestApplet.selectAnswer)
    }

    @Test(
        "Slot errors become the error a user can act on",
        arguments: [
            (0x62, 0x42, 0x00, CCIDError.noCard(slot: 0)),
            (0x62, 0x41, 0xFE, .cardMute),
            (0x62, 0x40, 0xF6, .commandFailed(.iccPowerOn, .iccProtocolNotSupported)),
            (0x6F, 0x42, 0xFE, .noCard(slot: 0)),
            (0x6F, 0x02, 0x00, .noCard(slot: 0)),
            (0x6F, 0x40, 0xFE, .cardMute),
            (0x6F, 0x41, 0xFE, .cardInactive),
            (0x6F, 0x01, 0x00, .cardInactive),
            (0x6F, 0x40, 0xFB, .commandFailed(.xfrBlock, .hardwareError)),
            (0x6F, 0x40, 0x05, .commandFailed(.xfrBlock, .badSlot)),
            (0x6F, 0x40, 0xE0, .commandFailed(.xfrBlock, .cmdSlotBusy)),
            (0x65, 0x40, 0x00, .commandFailed(.getSlotStatus, .commandNotSupported)),
        ] as [(UInt8, UInt8, UInt8, CCIDError)])
    func slotErrors(command: UInt8, status: UInt8, error: UInt8, expected: CCIDError) throws {
        let (reader, card) = try misbehavingKey { $0.status = (status, error) }
        #expect(throws: expected) {
            switch command {
            case 0x62: _ = try card.powerOn()
            case 0x65: _ = try card.slotStatus()
            default: _ = try card.transmit(TestApplet.selectCommand)
            }
        }
        #expect(reader.commands.last?.type == command)
    }

    @Test("An APDU to a card never powered on fails as inactive (the reader answers 41 FE)")
    func unpowered() {
        let card = CCIDCard(pipe: SimulatedReader(), timing: fastTiming)
        #expect(throws: CCIDError.cardInactive) { try card.transmit(TestApplet.selectCommand) }
    }

    @Test("A header cut short ends as truncated after one silent read, not after the answer limit")
    func truncatedHeader() throws {
        let (_, card) = try misbehavingKey { $0.replacement = bytes("80 00 00 00 00 00") }
        let elapsed = timed {
            #expect(throws: CCIDError.truncatedMessage(expected: 10, received: 6)) { try card.transmit(TestApplet.selectCommand) }
        }
        #expect(elapsed < .milliseconds(150))
    }

    @Test("Data cut short of dwLength ends as truncated, whatever the transfer size")
    func truncatedData() throws {
        let (_, card) = try misbehavingKey {
            $0.replacement = bytes("80 14 00 00 00 00 01 00 00 00 01 02 03 04 05")
            $0.transferSize = 4
        }
        #expect(throws: CCIDError.truncatedMessage(expected: 30, received: 15)) { try card.transmit(TestApplet.selectCommand) }
    }

    @Test("A dwLength beyond dwMaxCCIDMessageLength is refused from the header alone; no read asks for more than the limit")
    func hugeLength() throws {
        let answers: [([UInt8], CCIDError?)] = [
            (bytes("80 f0 ff ff ff 00 01 00 00 00 de ad"), .messageTooLong(length: 0xFFFF_FFF0 + 10, limit: 3072)),
            (frame(0x80, sequence: 1, status: 0, data: [UInt8](repeating: 1, count: 3063)), .messageTooLong(length: 3073, limit: 3072)),
            (frame(0x80, sequence: 1, status: 0, data: [UInt8](repeating: 1, count: 3062)), nil),
        ]
        for (answer, expected) in answers {
            let (reader, card) = try misbehavingKey {
                $0.replacement = answer
                $0.transferSize = 1000
            }
            do throws(CCIDError) {
                #expect(try card.transmit(TestApplet.selectCommand).count == 3062)
                #expect(expected == nil)
            } catch {
                #expect(error == expected)
            }
            #expect(reader.readLengths.allSatisfy { $0 == 3072 })
        }
    }

    @Test(
        "Answers with the right bSeq but wrong content are refused with what was wrong",
        arguments: [
            (bytes("99 00 00 00 00 00 01 00 00 00"), CCIDError.unexpectedMessageType(received: 0x99, expected: .dataBlock)),
            (bytes("81 00 00 00 00 00 01 00 00 00"), .unexpectedMessageType(received: 0x81, expected: .dataBlock)),
            (bytes("80 02 00 00 00 01 01 00 00 00 90 00"), .malformedMessage("an answer for slot 1, not 0")),
            (bytes("80 02 00 00 00 00 01 04 00 00 90 00"), .malformedMessage("bStatus 0x04 has reserved bits set")),
            (bytes("80 02 00 00 00 00 01 c0 00 00 90 00"), .malformedMessage("bStatus 0xC0 has reserved bits set")),
            (bytes("80 02 00 00 00 00 01 03 00 00 90 00"), .malformedMessage("bStatus 0x03 gives the reserved card state 3")),
            (bytes("80 02 00 00 00 00 01 00 00 01 90 00"), .chainedResponse(0x01)),
            (bytes("80 00 00 00 00 00 01 00 00 10"), .chainedResponse(0x10)),
        ] as [([UInt8], CCIDError)])
    func garbage(answer: [UInt8], expected: CCIDError) throws {
        let (_, card) = try misbehavingKey { $0.replacement = answer }
        #expect(throws: expected) { try card.transmit(TestApplet.selectCommand) }
    }

    @Test("An empty ATR is refused")
    func emptyATR() {
        let reader = SimulatedReader()
        reader.misbehaviour.replacement = bytes("80 00 00 00 00 00 00 00 00 00")
        #expect(throws: CCIDError.malformedMessage("an empty ATR")) { try CCIDCard(pipe: reader, timing: fastTiming).powerOn() }
    }

    @Test("A device that never answers times out at the answer limit, not before and not much after")
    func silence() throws {
        let (_, card) = try misbehavingKey { $0.silent = true }
        let elapsed = timed {
            #expect(throws: CCIDError.timedOut(milliseconds: 200)) { try card.transmit(TestApplet.selectCommand) }
        }
        #expect(elapsed >= .milliseconds(200) && elapsed < .milliseconds(600))
    }

    @Test("Time extensions without end stop at the total limit with their own error; the hook was called once")
    func endlessTimeExtensions() throws {
        let (_, card) = try misbehavingKey {
            $0.endlessTimeExtensions = true
            $0.timeExtensionPause = 40
        }
        var calls = 0
        card.onTimeExtension = { calls += 1 }
        let elapsed = timed {
            #expect(throws: CCIDError.timeExtendedWithoutEnd(milliseconds: 600)) { try card.transmit(TestApplet.selectCommand) }
        }
        #expect(elapsed >= .milliseconds(600) && elapsed < .milliseconds(1200))
        #expect(calls == 1)
    }

    @Test("A key unplugged mid-answer, or before the command is written, is deviceGone: 'the key was unplugged'")
    func unplugged() throws {
        let (reader, card) = try misbehavingKey {
            $0.vanishAfter = 13
            $0.transferSize = 4
        }
        #expect(throws: CCIDError.deviceGone) { try card.transmit(TestApplet.selectCommand) }
        reader.misbehaviour = .init()
        reader.misbehaviour.vanishOnWrite = true
        do throws(CCIDError) {
            _ = try card.transmit(TestApplet.selectCommand)
            Issue.record("a write to a vanished device succeeded")
        } catch {
            #expect(error == .deviceGone)
            #expect(error.description.hasPrefix("the key was unplugged"))
        }
    }

    @Test("Any other USB failure is reported in the USB layer's words")
    func usbFailure() throws {
        let (_, card) = try misbehavingKey { $0.failure = "LIBUSB_ERROR_IO" }
        #expect(throws: CCIDError.transferFailed("LIBUSB_ERROR_IO")) { try card.transmit(TestApplet.selectCommand) }
    }

    @Test("Cancellation ends a silent wait within one read slice, long before the answer limit")
    func cancelSilentWait() throws {
        let reader = SimulatedReader()
        let card = CCIDCard(pipe: reader, timing: CCIDTiming(readSliceMilliseconds: 50, answerMilliseconds: 10_000, totalMilliseconds: 20_000))
        reader.misbehaviour.silent = true
        let clock = ContinuousClock()
        let cancelAt = clock.now + .milliseconds(150)
        card.isCancelled = { clock.now >= cancelAt }
        #expect(throws: CCIDError.cancelled) { try card.powerOn() }
        let late = clock.now - cancelAt
        #expect(late < .milliseconds(300), "noticed \(late) after the flag was set")
        #expect(reader.readTimeouts.allSatisfy { $0 <= 50 })
    }

    @Test("A tick armed on the thread (the touch prompt) runs while the key is silent, and no read outlasts it")
    func ticksWhileSilent() {
        let reader = SimulatedReader()
        let card = CCIDCard(pipe: reader, timing: CCIDTiming(readSliceMilliseconds: 1000, answerMilliseconds: 1000, totalMilliseconds: 5000))
        reader.misbehaviour.silent = true
        var ticks = 0
        WaitTicks.during(firstAfterMilliseconds: 100, everyMilliseconds: 100, tick: { ticks += 1 }) {
            #expect(throws: CCIDError.self) { try card.powerOn() }
        }
        // Due every 100 ms of the 1 s wait: about nine, fewer on a slow machine.
        #expect((4...11).contains(ticks), "\(ticks) ticks")
        #expect(reader.readTimeouts.allSatisfy { $0 <= 100 }, "\(reader.readTimeouts)")
    }

    @Test("A tick runs while time extensions come in (a key waiting for a touch)")
    func ticksDuringTimeExtensions() throws {
        let (_, card) = try misbehavingKey {
            // 400 ms of them, inside this card's 600 ms limit.
            $0.timeExtensions = 4
            $0.timeExtensionPause = 100
        }
        var ticks = 0
        let answer = try WaitTicks.during(firstAfterMilliseconds: 100, everyMilliseconds: 100, tick: { ticks += 1 }) {
            try card.transmit(TestApplet.selectCommand)
        }
        #expect(answer == TestApplet.selectAnswer)
        #expect((2...5).contains(ticks), "\(ticks) ticks")
    }

    @Test("Cancellation ends a touch wait (time extensions coming in) too")
    func cancelTouchWait() throws {
        let (_, card) = try misbehavingKey {
            $0.endlessTimeExtensions = true
            $0.timeExtensionPause = 30
        }
        var cancelled = false
        card.onTimeExtension = { cancelled = true }
        card.isCancelled = { cancelled }
        #expect(throws: CCIDError.cancelled) { try card.transmit(TestApplet.selectCommand) }
    }

    @Test("A command cancelled before it is sent writes nothing and spends no bSeq")
    func cancelBeforeWrite() throws {
        let (reader, card) = try misbehavingKey { _ in }
        card.isCancelled = { true }
        #expect(throws: CCIDError.cancelled) { try card.transmit(TestApplet.selectCommand) }
        #expect(reader.commands.count == 1 && card.nextSequence == 1)
        card.isCancelled = nil
        #expect(try card.transmit(TestApplet.selectCommand) == TestApplet.selectAnswer)
        #expect(reader.commands.last?.sequence == 1)
    }
}
