/// A card to exchange APDUs with: the one thing the OATH session needs from
/// a transport. PC/SC (pcscd) and direct CCID over USB both provide it.
public protocol SmartCardConnection: AnyObject {
    /// Sends one command APDU and returns the raw response (data + SW1 SW2).
    func transmit(_ command: [UInt8]) throws -> [UInt8]
}

/// Errors every transport can report in the same words.
public enum SmartCardError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The card answered with fewer than two bytes, or its last two are no
    /// status word (see `ResponseAPDU.init(parsing:)`).
    case malformedResponse
    /// More `61xx` continuations than any real applet sends.
    case tooManyContinuations
    /// A response larger than any real applet sends.
    case responseTooLarge

    public var description: String {
        switch self {
        case .malformedResponse: "the card sent a response without a status word"
        case .tooManyContinuations: "the card kept answering 61xx (more data) without end"
        case .responseTooLarge: "the card sent a response larger than 64 KiB"
        }
    }
}

extension SmartCardConnection {
    /// Sends `command` and, while the card answers `61xx`, sends
    /// `continuation` (for YKOATH, SEND REMAINING `00 A5 00 00`) and appends
    /// what comes back. The final status is the last response's.
    public func send(_ command: CommandAPDU, continuation: CommandAPDU? = nil, encoding: CommandAPDU.Encoding = .short) throws -> ResponseAPDU {
        guard var response = ResponseAPDU(parsing: try transmit(command.serialize(encoding))) else {
            throw SmartCardError.malformedResponse
        }
        guard let continuation else { return response }
        var data = response.data
        var rounds = 0
        while response.status.isMoreDataAvailable {
            rounds += 1
            guard rounds <= 256 else { throw SmartCardError.tooManyContinuations }
            guard let next = ResponseAPDU(parsing: try transmit(continuation.serialize(encoding))) else {
                throw SmartCardError.malformedResponse
            }
            data += next.data
            guard data.count <= 65_536 else { throw SmartCardError.responseTooLarge }
            response = next
        }
        return ResponseAPDU(data: data, status: response.status)
    }
}
