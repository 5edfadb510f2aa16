import SmartCard
import SystemSupport

/// How long a ``CCIDCard`` waits, in milliseconds. Every value is clamped
/// to 1 ms … 24 h, so no arithmetic on them can overflow.
public struct CCIDTiming: Equatable, Sendable {
    /// The limit of each bulk read. The cancellation hook is checked between
    /// reads, so this is how late a cancellation can be noticed.
    public var readSliceMilliseconds: Int
    /// The limit of each bulk write.
    public var writeMilliseconds: Int
    /// How long a command may go without any message for it. Each time
    /// extension the device sends starts this wait again: a YubiKey waiting
    /// for a touch asks for more time until it is touched or gives up
    /// (about 15 s, then it answers 6982).
    public var answerMilliseconds: Int
    /// How long a command may take in all, time extensions included, so that
    /// a device that asks for more time forever cannot hang latchkey.
    public var totalMilliseconds: Int

    public init(
        readSliceMilliseconds: Int = 1000, writeMilliseconds: Int = 5000, answerMilliseconds: Int = 30_000,
        totalMilliseconds: Int = 60_000
    ) {
        let range = 1...86_400_000
        self.readSliceMilliseconds = readSliceMilliseconds.clamped(to: range)
        self.writeMilliseconds = writeMilliseconds.clamped(to: range)
        self.answerMilliseconds = answerMilliseconds.clamped(to: range)
        self.totalMilliseconds = totalMilliseconds.clamped(to: range)
    }
}

/// The card in one slot of a USB CCID reader, spoken to over the reader's
/// bulk endpoints (the YubiKey's CCID interface is such a reader, with its
/// card built in): IccPowerOn, IccPowerOff, GetSlotStatus and APDUs in
/// XfrBlock messages (APDU-level exchange: the whole command APDU in one
/// message, the whole response APDU in one answer).
///
/// Each command gets the next bSeq (mod 256) and waits for the answer with
/// that bSeq. Answers with another bSeq are late answers to commands given
/// up on (timed out, cancelled) and are skipped, up to
/// ``skippedMessageLimit`` per command. Time-extension frames keep the wait
/// going, within ``CCIDTiming/totalMilliseconds``.
///
/// Not thread-safe: one command at a time, from one thread. The hooks are
/// called on that thread.
public final class CCIDCard: SmartCardConnection {
    /// dwMaxCCIDMessageLength of YubiKey 4 and 5.
    public static let yubiKeyMaxMessageLength = 3072
    /// dwMaxCCIDMessageLength of the YubiKey NEO.
    public static let neoMaxMessageLength = 1400
    /// The values CCID rev 1.1 allows for dwMaxCCIDMessageLength: a short
    /// APDU with its header (261 + 10) up to an extended one (65534 + 10).
    public static let allowedMaxMessageLengths = 271...65544
    /// How many answers to other commands one command skips before it
    /// gives up on the device.
    public static let skippedMessageLimit = 32

    private let pipe: any BulkPipe
    public let slot: UInt8
    /// The largest message, header included, sent or accepted.
    public let maxMessageLength: Int
    public var timing: CCIDTiming
    /// Asked before each write and read; `true` ends the command with
    /// ``CCIDError/cancelled`` (set it from a SIGINT handler's flag).
    public var isCancelled: (() -> Bool)?
    /// Called at the first time extension of a command: the device is busy,
    /// for a YubiKey most likely waiting for a touch.
    public var onTimeExtension: (() -> Void)?
    /// The ATR of the last successful ``powerOn(_:)``.
    public private(set) var atr: [UInt8]?
    /// The bSeq the next command will carry.
    public private(set) var nextSequence: UInt8 = 0

    /// Bytes read but not yet part of a whole message.
    private var pending: [UInt8] = []
    private let clock = ContinuousClock()

    /// `maxMessageLength` is the device's dwMaxCCIDMessageLength; a value
    /// outside ``allowedMaxMessageLengths`` (it comes from the device's
    /// descriptor) is clamped into it.
    public init(
        pipe: any BulkPipe, slot: UInt8 = 0, maxMessageLength: Int = CCIDCard.yubiKeyMaxMessageLength,
        timing: CCIDTiming = CCIDTiming()
    ) {
        self.pipe = pipe
        self.slot = slot
        self.maxMessageLength = maxMessageLength.clamped(to: CCIDCard.allowedMaxMessageLengths)
        self.timing = timing
    }

    // MARK: - Commands

    /// IccPowerOn: powers the card and returns its ATR.
    @discardableResult
    public func powerOn(_ power: CCIDPowerSelect = .automatic) throws(CCIDError) -> [UInt8] {
        let answer = try exchange(.iccPowerOn(power))
        guard !answer.data.isEmpty else { throw .malformedMessage("an empty ATR") }
        atr = answer.data
        return answer.data
    }

    /// IccPowerOff: switches the card off (an OATH session on it ends).
    public func powerOff() throws(CCIDError) {
        _ = try exchange(.iccPowerOff)
        atr = nil
    }

    /// GetSlotStatus: whether the card is there and powered.
    public func slotStatus() throws(CCIDError) -> CCIDICCStatus {
        let icc = try exchange(.getSlotStatus).status.icc
        guard icc != .reserved else { throw .malformedMessage("a slot status with the reserved card state 3") }
        return icc
    }

    /// XfrBlock: sends one command APDU (short or extended) and returns the
    /// response APDU (data, SW1, SW2) as the card sent it.
    public func transmit(_ command: [UInt8]) throws(CCIDError) -> [UInt8] {
        try exchange(.xfrBlock(apdu: command)).data
    }

    // MARK: - One exchange

    /// Sends `kind` with the next bSeq and returns the processed answer to
    /// it, or throws why there is none.
    private func exchange(_ kind: CCIDCommand.Kind) throws(CCIDError) -> CCIDResponse {
        let command = CCIDCommand(kind, slot: slot, sequence: nextSequence)
        guard command.messageLength <= maxMessageLength else {
            throw .commandTooLong(length: command.messageLength, limit: maxMessageLength)
        }
        if isCancelled?() == true { throw .cancelled }
        nextSequence &+= 1
        // Whatever is left over from an earlier command answers none we wait for.
        pending.removeAll()
        do throws(BulkPipeError) {
            try pipe.write(command.serialize(), timeoutMilliseconds: timing.writeMilliseconds)
        } catch {
            throw CCIDError(error, waited: timing.writeMilliseconds)
        }

        let start = clock.now
        let end = start + .milliseconds(timing.totalMilliseconds)
        var deadline = min(start + .milliseconds(timing.answerMilliseconds), end)
        var extended = false
        var skipped = 0
        var lastStale: UInt8?
        while true {
            guard let message = try readMessage(until: deadline) else {
                if let lastStale, !extended { throw .wrongSequence(expected: command.sequence, received: lastStale) }
                if extended && deadline == end { throw .timeExtendedWithoutEnd(milliseconds: timing.totalMilliseconds) }
                throw .timedOut(milliseconds: min(timing.answerMilliseconds, timing.totalMilliseconds))
            }
            guard message.sequence == command.sequence else {
                skipped += 1
                lastStale = message.sequence
                guard skipped <= CCIDCard.skippedMessageLimit else {
                    throw .wrongSequence(expected: command.sequence, received: message.sequence)
                }
                continue
            }
            try check(message, answers: command)
            if message.status.command == .timeExtension {
                if !extended { onTimeExtension?() }
                extended = true
                deadline = min(clock.now + .milliseconds(timing.answerMilliseconds), end)
                continue
            }
            return message
        }
    }

    /// Throws unless `message` (which has `command`'s bSeq) is a well-formed
    /// time extension or a processed answer `command` can use.
    private func check(_ message: CCIDResponse, answers command: CCIDCommand) throws(CCIDError) {
        guard message.slot == slot else { throw .malformedMessage("an answer for slot \(message.slot), not \(slot)") }
        guard message.messageType == command.answerType.rawValue else {
            throw .unexpectedMessageType(received: message.messageType, expected: command.answerType)
        }
        let status = message.status
        guard !status.hasReservedBits, status.command != .reserved else {
            throw .malformedMessage("bStatus \(status) has reserved bits set")
        }
        let icc = status.icc
        guard icc != .reserved else { throw .malformedMessage("bStatus \(status) gives the reserved card state 3") }
        let needsCard = command.messageType == .xfrBlock || command.messageType == .iccPowerOn
        switch status.command {
        case .timeExtension, .reserved:
            return
        case .failed:
            if icc == .absent { throw .noCard(slot: slot) }
            if icc == .presentAndInactive && command.messageType == .xfrBlock { throw .cardInactive }
            if message.error == .iccMute { throw .cardMute }
            throw .commandFailed(command.messageType, message.error)
        case .processed:
            if needsCard && icc == .absent { throw .noCard(slot: slot) }
            if command.messageType == .xfrBlock && icc == .presentAndInactive { throw .cardInactive }
            if command.answerType == .dataBlock && message.parameter != 0 { throw .chainedResponse(message.parameter) }
        }
    }

    // MARK: - Reading

    /// Reads until `pending` holds one whole message and returns it, or
    /// `nil` when `deadline` passes before a message has begun. Once a
    /// message has begun, a read that brings nothing ends it as truncated: a
    /// device queues a whole message at once, so its transfers come back to
    /// back.
    private func readMessage(until deadline: ContinuousClock.Instant) throws(CCIDError) -> CCIDResponse? {
        var header: CCIDHeader?
        while true {
            if header == nil, pending.count >= CCIDHeader.byteCount {
                let parsed = try CCIDHeader(parsing: pending[...])
                // Checked before anything is read for it: a broken device's
                // dwLength of 4 GiB must not become an allocation or a wait.
                guard parsed.messageLength <= maxMessageLength else {
                    throw .messageTooLong(length: parsed.messageLength, limit: maxMessageLength)
                }
                header = parsed
            }
            if let header, pending.count >= header.messageLength {
                let length = header.messageLength
                let message = CCIDResponse(header: header, data: pending[CCIDHeader.byteCount..<length])
                pending.removeFirst(length)
                return message
            }
            if isCancelled?() == true { throw .cancelled }
            let expected = header?.messageLength ?? CCIDHeader.byteCount
            let remaining = milliseconds(until: deadline)
            guard remaining > 0 else {
                if pending.isEmpty { return nil }
                throw .truncatedMessage(expected: expected, received: pending.count)
            }
            // Between messages, a tick armed on this thread (the touch
            // prompt) runs when due, and no read outlasts it; within one,
            // reads are not cut short.
            var slice = min(timing.readSliceMilliseconds, remaining)
            if pending.isEmpty {
                WaitTicks.runIfDue()
                if let untilTick = WaitTicks.millisecondsUntilDue() { slice = max(1, min(slice, untilTick)) }
            }
            do throws(BulkPipeError) {
                pending += try pipe.read(maxLength: maxMessageLength, timeoutMilliseconds: slice)
            } catch .timedOut {
                if !pending.isEmpty { throw .truncatedMessage(expected: expected, received: pending.count) }
            } catch {
                throw CCIDError(error, waited: 0)
            }
        }
    }

    /// Whole milliseconds from now to `deadline`, rounded up; 0 once it has passed.
    private func milliseconds(until deadline: ContinuousClock.Instant) -> Int {
        let (seconds, attoseconds) = (deadline - clock.now).components
        guard seconds > 0 || (seconds == 0 && attoseconds > 0) else { return 0 }
        let perMillisecond: Int64 = 1_000_000_000_000_000
        // Deadlines lie at most 2 × 24 h ahead (see CCIDTiming): no overflow.
        return Int(seconds) * 1000 + Int((attoseconds + perMillisecond - 1) / perMillisecond)
    }
}

extension Int {
    fileprivate func clamped(to range: ClosedRange<Int>) -> Int { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
