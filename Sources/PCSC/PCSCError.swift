import CPCSCLite

/// A failed PC/SC call: the function, pcsc-lite's return code and its text,
/// and — for the failures people actually hit — what to do about it.
public struct PCSCError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case noService, noReaders, noSmartcard, removedCard, resetCard
        case sharingViolation, securityViolation, timeout, readerUnavailable, unknownReader
        case unresponsiveCard, unpoweredCard, cancelled, other
    }

    /// pcsc-lite's return code (`LONG`), e.g. 0x8010001D.
    public var code: Int
    /// The C function that returned it, e.g. `SCardTransmit`.
    public var function: String
    /// Set when latchkey stopped waiting for the call (see `CallLimit`): the
    /// seconds it waited. pcsc-lite had not returned; `code` is then
    /// `SCARD_E_TIMEOUT`.
    public var abandonedAfter: Int?

    public init(code: Int, function: String, abandonedAfter: Int? = nil) {
        self.code = code
        self.function = function
        self.abandonedAfter = abandonedAfter
    }

    /// `SCARD_E_TIMEOUT`.
    static let timeoutCode = 0x8010_000A

    public var kind: Kind {
        switch UInt32(truncatingIfNeeded: code) {
        case 0x8010_001D: .noService
        case 0x8010_002E: .noReaders
        case 0x8010_000C: .noSmartcard
        case 0x8010_0069: .removedCard
        case 0x8010_0068: .resetCard
        case 0x8010_000B: .sharingViolation
        case 0x8010_006A: .securityViolation
        case 0x8010_000A: .timeout
        case 0x8010_0017: .readerUnavailable
        case 0x8010_0009: .unknownReader
        case 0x8010_0066: .unresponsiveCard
        case 0x8010_0067: .unpoweredCard
        case 0x8010_0002: .cancelled
        default: .other
        }
    }

    /// pcsc-lite's own text for the code (`pcsc_stringify_error`).
    public var libraryText: String { String(cString: pcsc_stringify_error(code)) }

    public var description: String {
        if let seconds = abandonedAfter {
            let raw = "latchkey stopped waiting for \(function) after \(seconds) s"
            return function == "SCardTransmit"
                ? "the key stopped answering (no answer to a command): unplug it and plug it in again [\(raw)]"
                : "the key could not be used: another program holds it, or it stopped answering; try again, or unplug it and plug it in again [\(raw)]"
        }
        let raw = "\(function): \(libraryText) (0x\(String(UInt32(truncatingIfNeeded: code), radix: 16, uppercase: true)))"
        switch kind {
        case .noService:
            return "pcscd is not running: start it with `sudo systemctl start pcscd.socket` (or run `sudo pcscd`) [\(raw)]"
        case .noReaders:
            return "no smart-card reader found: plug in the YubiKey and check that its CCID interface is enabled (`ykman config usb --list`) [\(raw)]"
        case .noSmartcard:
            return "the reader has no card in it [\(raw)]"
        case .removedCard, .resetCard:
            return "the key was removed or reset during the operation: plug it in and try again [\(raw)]"
        case .sharingViolation:
            return "another program holds the key exclusively (often GnuPG's scdaemon: run `gpgconf --kill scdaemon`, or add `pcsc-shared` to ~/.gnupg/scdaemon.conf) [\(raw)]"
        case .securityViolation:
            return "pcscd's polkit policy refused this session (usual over SSH, cron or a service): run `sudo latchkey setup` (it installs /etc/polkit-1/rules.d/50-latchkey-pcscd.rules for the group latchkey) and add yourself to that group [\(raw)]"
        case .unresponsiveCard, .unpoweredCard:
            return "the key does not answer: unplug it and plug it in again [\(raw)]"
        default:
            return raw
        }
    }
}

/// Turns a pcsc-lite return code into a thrown ``PCSCError``.
@inline(__always)
func check(_ result: Int, _ function: String) throws(PCSCError) {
    guard result == 0 else { throw PCSCError(code: result, function: function) }
}
