import OATH
import SmartCard
import YKOATH

// MARK: - VALIDATE, SET CODE, RESET

extension OATHApplet {
    /// VALIDATE `00 A3 00 00`: `75 L HMAC(key, select challenge)`,
    /// `74 L host challenge` → `75 L HMAC(key, host challenge)`.
    /// 6984 when no password is set; 6A80 for a wrong response (or no
    /// SELECT challenge to answer in this session).
    func validate(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        try requireNoParameters(command)
        guard let access = state.accessKey else { throw APDUFailure(.noSuchObject) }
        let fields = try RequestFields(command.data, allowed: [OATHTag.fullResponse, OATHTag.challenge])
        let response = try fields.required(OATHTag.fullResponse)
        let hostChallenge = try fields.required(OATHTag.challenge)
        guard let selectChallenge, !hostChallenge.isEmpty else { throw APDUFailure(.wrongData) }
        var expected = access.algorithm.hmac(key: access.key, message: selectChallenge)
        defer { for i in expected.indices { expected[i] = 0 } }
        guard constantTimeEqual(response, expected) else { throw APDUFailure(.wrongData) }
        isValidated = true
        self.selectChallenge = nil
        return TLV.serialize([TLV(OATHTag.fullResponse, access.algorithm.hmac(key: access.key, message: hostChallenge))])
    }

    /// SET CODE `00 03 00 00`: `73 L [type|algo] [key]`, `74 L challenge`,
    /// `75 L HMAC(key, challenge)` sets the access key (the client proves
    /// it computes with it: 6984 if the response does not match);
    /// `73 00` removes the password. The session stays validated: the
    /// client has just shown it holds the key.
    func setCode(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        try requireNoParameters(command)
        let fields = try RequestFields(
            command.data, allowed: [OATHTag.key, OATHTag.challenge, OATHTag.fullResponse])
        let key = try fields.required(OATHTag.key)
        if key.isEmpty {
            try commit { $0.accessKey = nil }
            isValidated = true
            return []
        }
        guard key.count >= 2, let algorithm = OATHAlgorithm(ykoathCode: key[0] & 0x0F) else {
            throw APDUFailure(.wrongData)
        }
        let secret = Array(key.dropFirst())
        let challenge = try fields.required(OATHTag.challenge)
        let response = try fields.required(OATHTag.fullResponse)
        guard constantTimeEqual(algorithm.hmac(key: secret, message: challenge), response) else {
            throw APDUFailure(.noSuchObject)
        }
        try commit { $0.accessKey = KeyState.AccessKey(algorithm: algorithm, key: secret) }
        isValidated = true
        return []
    }

    /// RESET `00 04 DE AD`: forgets every account and the password, and
    /// takes a new salt (so clients see a new device id). No VALIDATE needed.
    func reset(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        guard command.p1 == 0xDE, command.p2 == 0xAD else { throw APDUFailure(.wrongParameters) }
        let salt = random.bytes(KeyState.saltLength)
        try commit { $0 = KeyState(salt: salt) }
        endSession()
        return []
    }
}
