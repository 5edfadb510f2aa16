/// What can go wrong talking CCID to a key. Each description is one line
/// that says what happened and what the user can do about it.
public enum CCIDError: Error, Equatable, Sendable, CustomStringConvertible {
    /// bmICCStatus 2: the reader says its slot is empty. A YubiKey's card is
    /// built in, so this means the key is in a bad state.
    case noCard(slot: UInt8)
    /// bmICCStatus 1 on a command that needs a powered card: IccPowerOn was
    /// not sent, or the card was switched off.
    case cardInactive
    /// bError ICC_MUTE: the reader got no answer from its card.
    case cardMute
    /// Any other failure the reader reports in bError.
    case commandFailed(CCIDMessageType, CCIDSlotError)
    /// Answers came, but none with our command's bSeq (the last one had
    /// `received`): late answers to earlier commands, more of them than
    /// any key sends, or a device that numbers its answers wrongly.
    case wrongSequence(expected: UInt8, received: UInt8)
    /// Bytes that are no CCID message latchkey can use.
    case malformedMessage(String)
    /// A message that stopped short: fewer bytes came than its header (or a
    /// header) needs.
    case truncatedMessage(expected: Int, received: Int)
    /// The device announced a message longer than its dwMaxCCIDMessageLength.
    case messageTooLong(length: Int, limit: Int)
    /// A command that does not fit in one message of the device's size.
    case commandTooLong(length: Int, limit: Int)
    /// An answer of another type than the command calls for.
    case unexpectedMessageType(received: UInt8, expected: CCIDMessageType)
    /// A DataBlock with bChainParameter ≠ 0: the data continues in further
    /// messages. YubiKeys answer each APDU in one message; latchkey does not
    /// reassemble chains.
    case chainedResponse(UInt8)
    /// The device went away (unplugged or reset) during the exchange.
    case deviceGone
    /// The USB layer failed, in its own words.
    case transferFailed(String)
    /// No answer, and no request for more time, within the limit.
    case timedOut(milliseconds: Int)
    /// The device kept asking for more time (time extensions) and did not
    /// answer within the overall limit.
    case timeExtendedWithoutEnd(milliseconds: Int)
    /// The caller's cancellation hook said stop (for example on SIGINT).
    case cancelled

    public var description: String {
        let replug = "unplug the key and plug it in again"
        return switch self {
        case .noCard(let slot): "the key reports no card in its smart-card slot \(slot): \(replug)"
        case .cardInactive: "the key's smart card is powered off: \(replug)"
        case .cardMute: "the key's smart card did not answer (ICC_MUTE): \(replug)"
        case .commandFailed(let command, let error): "the key failed the CCID \(command.name) command (bError \(error)): \(replug)"
        case .wrongSequence(let expected, let received):
            "the key answered with sequence number \(received), not \(expected) (answers to other commands): \(replug)"
        case .malformedMessage(let what): "the key sent a malformed CCID message (\(what)): \(replug)"
        case .truncatedMessage(let expected, let received):
            "the key's CCID message stopped after \(received) of \(expected) bytes: \(replug)"
        case .messageTooLong(let length, let limit):
            "the key announced a CCID message of \(length) bytes, more than its limit of \(limit): \(replug)"
        case .commandTooLong(let length, let limit):
            "the command needs a CCID message of \(length) bytes, more than the key's limit of \(limit): send less data per command"
        case .unexpectedMessageType(let received, let expected):
            "the key answered with CCID message type 0x\(hexByte(received)) where a \(expected.name) (0x\(hexByte(expected.rawValue))) was due: \(replug)"
        case .chainedResponse(let parameter):
            "the key split its answer into chained CCID messages (bChainParameter 0x\(hexByte(parameter))), which latchkey does not support: \(replug)"
        case .deviceGone: "the key was unplugged: plug it in and try again"
        case .transferFailed(let text): "USB transfer to the key failed (\(text)): \(replug)"
        case .timedOut(let milliseconds): "the key did not answer within \(seconds(milliseconds)): \(replug)"
        case .timeExtendedWithoutEnd(let milliseconds):
            "the key kept asking for more time and did not answer within \(seconds(milliseconds)): touch it if it blinks, else \(replug)"
        case .cancelled: "cancelled while waiting for the key"
        }
    }

    init(_ error: BulkPipeError, waited milliseconds: Int) {
        switch error {
        case .deviceGone: self = .deviceGone
        case .timedOut: self = .timedOut(milliseconds: milliseconds)
        case .failed(let text): self = .transferFailed(text)
        }
    }
}

/// "30 s", "250 ms": a limit in words.
private func seconds(_ milliseconds: Int) -> String {
    milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
}
