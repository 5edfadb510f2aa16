/// A command APDU's YKOATH instruction, as the log names it.
///
/// INS bytes (YKOATH specification): PUT 01, DELETE 02, SET CODE 03,
/// RESET 04, RENAME 05, LIST A1, CALCULATE A2, VALIDATE A3,
/// CALCULATE ALL A4, SEND REMAINING A5. SELECT shares A4 with CALCULATE ALL:
/// it is told apart by P1 = 04 (select by AID), CALCULATE ALL has P1 = 00.
public enum Instruction: Equatable, Sendable, CustomStringConvertible {
    case select, put, delete, setCode, reset, rename
    case list, calculate, validate, calculateAll, sendRemaining
    case unknown(UInt8)

    /// Reads the instruction from the header of raw APDU bytes; fewer than
    /// two bytes have no INS and count as `unknown(0)`.
    public init(apdu: [UInt8]) {
        guard apdu.count >= 2 else {
            self = .unknown(0)
            return
        }
        let p1: UInt8 = apdu.count >= 3 ? apdu[2] : 0
        self.init(ins: apdu[1], p1: p1)
    }

    public init(ins: UInt8, p1: UInt8) {
        switch ins {
        case 0x01: self = .put
        case 0x02: self = .delete
        case 0x03: self = .setCode
        case 0x04: self = .reset
        case 0x05: self = .rename
        case 0xA1: self = .list
        case 0xA2: self = .calculate
        case 0xA3: self = .validate
        case 0xA4: self = p1 == 0x04 ? .select : .calculateAll
        case 0xA5: self = .sendRemaining
        default: self = .unknown(ins)
        }
    }

    /// `SELECT`, `CALCULATE_ALL`, …, `UNKNOWN_xx` (xx the INS in hex).
    public var description: String {
        switch self {
        case .select: "SELECT"
        case .put: "PUT"
        case .delete: "DELETE"
        case .setCode: "SET_CODE"
        case .reset: "RESET"
        case .rename: "RENAME"
        case .list: "LIST"
        case .calculate: "CALCULATE"
        case .validate: "VALIDATE"
        case .calculateAll: "CALCULATE_ALL"
        case .sendRemaining: "SEND_REMAINING"
        case .unknown(let ins): "UNKNOWN_" + Hex.encode([ins]).uppercased()
        }
    }

    /// Whether a set password makes this instruction wait for VALIDATE.
    ///
    /// SEND REMAINING does not: it only hands out the rest of a response
    /// that a command already allowed to run produced — and the SELECT
    /// response of a locked key (28 bytes) is one such, when chunked small.
    var needsValidation: Bool {
        switch self {
        case .select, .validate, .reset, .sendRemaining, .unknown: false
        default: true
        }
    }
}
