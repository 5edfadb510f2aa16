import OATH
import SmartCard
import YKOATH

/// Enough of a YKOATH applet for the CCID tests: SELECT answers as a real
/// YubiKey 5.2.4 does (no password), CALCULATE computes the HMAC of the
/// stored secret, and INS EE (no YKOATH instruction) echoes its data so that
/// tests can send APDUs of any size.
final class TestApplet {
    /// A real YubiKey 5.2.4's SELECT answer: version 5.2.4, its salt, 9000.
    static let selectAnswer = bytes("79 03 05 02 04 71 08 4b b7 a7 fa d7 af 40 1b 90 00")
    static let selectCommand = bytes("00 a4 04 00 07 a0 00 00 05 27 21 01")
    static let echo: UInt8 = 0xEE

    struct Account {
        var secret: [UInt8]
        var algorithm: OATHAlgorithm
        var digits: UInt8
    }

    var accounts: [String: Account] = [:]
    private(set) var received: [[UInt8]] = []

    func respond(_ apdu: [UInt8]) -> [UInt8] {
        received.append(apdu)
        guard let command = try? CommandAPDU(parsing: apdu) else { return [0x67, 0x00] }
        switch command.ins {
        case 0xA4:
            return command.data == OATHSession.aid ? TestApplet.selectAnswer : [0x6A, 0x82]
        case 0xA2:
            guard let items = try? TLV.parseAll(command.data), let name = items.first(OATHTag.name),
                let challenge = items.first(OATHTag.challenge)
            else { return [0x6A, 0x80] }
            guard let account = accounts[String(decoding: name, as: UTF8.self)] else { return [0x69, 0x84] }
            let mac = account.algorithm.hmac(key: account.secret, message: challenge)
            guard command.p2 == 0x01, let last = mac.last else {
                return TLV.serialize([TLV(OATHTag.fullResponse, [account.digits] + mac)]) + [0x90, 0x00]
            }
            let offset = Int(last & 0x0F)
            let truncated = Array(mac[offset..<(offset + 4)])
            return TLV.serialize([TLV(OATHTag.truncatedResponse, [account.digits] + truncated)]) + [0x90, 0x00]
        case TestApplet.echo:
            return command.data + [0x90, 0x00]
        default:
            return [0x6D, 0x00]
        }
    }
}
