import OATH
import SmartCard
import YKOATH

// MARK: - CALCULATE, CALCULATE ALL

extension OATHApplet {
    /// CALCULATE `00 A2 00 P2`: `71 name`, `74 L challenge`.
    /// P2 = 01 → `76 05 <digits> <4 truncated bytes>`; P2 = 00 → `75 L
    /// <digits> <whole HMAC>`. TOTP signs the client's challenge; HOTP
    /// ignores it, signs its own counter and counts up. An account with the
    /// touch property waits for the button first (6982 if never touched).
    func calculate(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        let truncate = try responseForm(command)
        let fields = try RequestFields(command.data, allowed: [OATHTag.name, OATHTag.challenge])
        let name = try fields.name()
        let challenge = try fields.required(OATHTag.challenge)
        guard let index = state.index(ofAccountNamed: name) else { throw APDUFailure(.noSuchObject) }
        let account = state.accounts[index]
        if account.requiresTouch, !touch.awaitTouch() { throw APDUFailure(.securityStatusNotSatisfied) }
        let message: [UInt8]
        switch account.type {
        case .totp:
            message = challenge
        case .hotp:
            message = Self.bigEndian(account.counter)
            try commit { $0.accounts[index].counter &+= 1 }
        }
        return TLV.serialize([Self.response(account, message: message, truncate: truncate)])
    }

    /// CALCULATE ALL `00 A4 00 P2`: `74 L challenge` → for each account
    /// `71 name` then `76`/`75` (TOTP, as CALCULATE), `77 01 <digits>` (HOTP,
    /// not computed: it would count up) or `7C 01 <digits>` (touch
    /// required, not computed).
    func calculateAll(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        let truncate = try responseForm(command)
        let fields = try RequestFields(command.data, allowed: [OATHTag.challenge])
        let challenge = try fields.required(OATHTag.challenge)
        var items: [TLV] = []
        for account in state.accounts {
            items.append(TLV(OATHTag.name, account.name))
            switch (account.type, account.requiresTouch) {
            case (.hotp, _): items.append(TLV(OATHTag.hotp, [account.digits]))
            case (.totp, true): items.append(TLV(OATHTag.touch, [account.digits]))
            case (.totp, false): items.append(Self.response(account, message: challenge, truncate: truncate))
            }
        }
        return TLV.serialize(items)
    }

    /// P1 must be 00; P2 01 asks for truncated responses, 00 for full ones.
    private func responseForm(_ command: CommandAPDU) throws(APDUFailure) -> Bool {
        guard command.p1 == 0, command.p2 <= 1 else { throw APDUFailure(.wrongParameters) }
        return command.p2 == 1
    }

    static func response(_ account: StoredAccount, message: [UInt8], truncate: Bool) -> TLV {
        var mac = account.algorithm.hmac(key: account.secret, message: message)
        defer { for i in mac.indices { mac[i] = 0 } }
        if truncate {
            return TLV(OATHTag.truncatedResponse, [account.digits] + dynamicTruncation(mac))
        }
        return TLV(OATHTag.fullResponse, [account.digits] + mac)
    }

    /// RFC 4226 §5.3: four bytes at the offset the last byte's low nibble
    /// names, the top bit cleared.
    static func dynamicTruncation(_ mac: [UInt8]) -> [UInt8] {
        guard let last = mac.last else { return [0, 0, 0, 0] }
        let offset = Int(last & 0x0F)
        guard mac.count >= offset + 4 else { return [0, 0, 0, 0] }
        var bytes = Array(mac[offset..<(offset + 4)])
        bytes[0] &= 0x7F
        return bytes
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) }
    }
}
