/// What vsmartcard's vpcd driver (inside pcscd) and a virtual card say to
/// each other over TCP. Every message, both ways: a 2-byte big-endian
/// length, then that many bytes. vpcd speaks first; the card answers only
/// APDUs and `getATR`:
///
///     00            power off        (no answer)
///     01            power on         (no answer)
///     02            reset            (no answer)
///     04            get ATR          → the ATR
///     ≥ 2 bytes     command APDU     → response APDU (data + SW1 SW2)
///
/// pcscd polls card presence with `getATR`; closing the connection removes
/// the card.
public enum VPCDMessage: Equatable, Sendable {
    case powerOff, powerOn, reset, getATR
    case unknownControl(UInt8)
    case apdu([UInt8])

    public init(payload: [UInt8]) {
        guard payload.count == 1, let control = payload.first else {
            self = .apdu(payload)
            return
        }
        switch control {
        case 0x00: self = .powerOff
        case 0x01: self = .powerOn
        case 0x02: self = .reset
        case 0x04: self = .getATR
        default: self = .unknownControl(control)
        }
    }

    /// The length prefix for a payload, or `nil` when it is too long to frame.
    public static func frame(_ payload: [UInt8]) -> [UInt8]? {
        guard payload.count <= 0xFFFF else { return nil }
        return [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
    }

    /// A YubiKey 5's ATR over USB (T=1). ykman reads the second byte: a
    /// high nibble of F means USB, otherwise it assumes NFC.
    public static let yubiKey5ATR: [UInt8] = [
        0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0,
        0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
    ]
}
