// Fuzz target `ykoath`: what a YubiKey (or anything claiming to be one)
// sends back over PC/SC.
//
// Each input is read two ways:
//
// 1. As one buffer, by the parsers on their own: ResponseAPDU, CommandAPDU
//    (what the virtual key receives), TLV.parseAll and OATHSelectResponse,
//    with their round trips checked.
// 2. As a conversation with OATHSession: the first byte picks a command,
//    the rest is a list of card answers, each one length byte and then that
//    many bytes (the last one takes what is left). The first answer is
//    SELECT's; 61xx answers make the session send SEND REMAINING, which
//    takes the next answer. When the answers run out, the card is gone.
import FuzzSupport
import OATH
import SmartCard
import YKOATH

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    parseAlone(bytes)
    converse(bytes)
}

// MARK: - The parsers on their own

func parseAlone(_ bytes: [UInt8]) {
    if let response = ResponseAPDU(parsing: bytes) {
        invariant(response.serialize() == bytes, "ResponseAPDU does not serialize back to \(hex(bytes))")
        use(response.status.description)
    }

    if let command = try? CommandAPDU(parsing: bytes) {
        // Extended when the body is `00` and at least two more bytes; the
        // other forms re-encode as short.
        let extended = bytes.count >= 6 && bytes[4] == 0
        let again = try? CommandAPDU(parsing: command.serialize(extended ? .extended : .short))
        invariant(again == command, "CommandAPDU \(hex(bytes)) does not survive serialize and parse")
    }

    if let items = try? TLV.parseAll(bytes) {
        let wire = TLV.serialize(items)
        // Serializing picks the shortest length form, so the bytes may be
        // shorter than the input, never longer, and they parse the same.
        invariant(wire.count <= bytes.count, "TLV items serialize longer than they were read")
        invariant((try? TLV.parseAll(wire)) == items, "TLV items do not survive serialize and parse: \(hex(bytes))")
    }

    if let select = try? OATHSelectResponse(parsing: bytes) {
        invariant(!select.version.isEmpty && !select.salt.isEmpty, "SELECT parsed without a version or salt")
        use(select.versionString)
        invariant(select.deviceID.utf8.count == 22, "a device id is not 16 bytes in unpadded base64")
    }
}

// MARK: - A conversation

/// A card that answers every command with the next of the input's answers.
final class ReplayedCard: SmartCardConnection {
    struct Unplugged: Error {}

    private var answers: ArraySlice<[UInt8]>

    init(_ answers: [[UInt8]]) { self.answers = answers[...] }

    func transmit(_ command: [UInt8]) throws -> [UInt8] {
        invariant(command.count >= 4, "the session sent a command shorter than an APDU header")
        guard let answer = answers.popFirst() else { throw Unplugged() }
        return answer
    }
}

func answers(in bytes: ArraySlice<UInt8>) -> [[UInt8]] {
    var rest = bytes
    var answers: [[UInt8]] = []
    while let length = rest.popFirst() {
        answers.append(Array(rest.prefix(Int(length))))
        rest = rest.dropFirst(Int(length))
    }
    return answers
}

let accessKey = [UInt8](repeating: 0x42, count: 16)
let challenge: [UInt8] = [0, 0, 0, 0, 0x03, 0x87, 0x4B, 0x21]

func converse(_ bytes: [UInt8]) {
    guard let command = bytes.first else { return }
    let card = ReplayedCard(answers(in: bytes.dropFirst()))
    guard let session = try? OATHSession(connection: card) else { return }
    use(session.select.versionString)
    use(session.select.deviceID)
    use(session.select.isPasswordProtected)

    switch command % 11 {
    case 0:
        break
    case 1:
        guard let listed = try? session.list() else { return }
        for credential in listed {
            use(CredentialID(parsing: credential.id, isTOTP: credential.isTOTP).description)
            invariant(credential.kind & 0x0F == 0, "a listed kind keeps algorithm bits")
        }
    case 2:
        if let code = try? session.calculate(idBytes: Array("aws".utf8), challenge: challenge) {
            invariant(isCode(code), "CALCULATE gave \(code)")
        }
    case 3:
        use(try? session.calculateFull(idBytes: Array("aws".utf8), challenge: challenge))
    case 4:
        guard let results = try? session.calculateAll(challenge: challenge) else { return }
        for (_, result) in results {
            if case .code(let code) = result { invariant(isCode(code), "CALCULATE ALL gave \(code)") }
        }
    case 5:
        let before = session.isValidated
        do {
            try session.validate(accessKey: accessKey)
            // Without a SELECT challenge there is nothing to prove; with one,
            // an answer the fuzzer made cannot be the HMAC of our random
            // challenge, so success would mean the proof was not checked.
            invariant(!session.select.isPasswordProtected || session.isValidated, "VALIDATE passed without validating")
        } catch {
            invariant(session.isValidated == before, "a failed VALIDATE changed the session's state")
        }
    case 6:
        let credential = OATHCredential(name: "aws", secret: Array("12345678901234567890".utf8))
        try? session.put(credential, requireTouch: true)
    case 7:
        try? session.delete(idBytes: Array("aws".utf8))
    case 8:
        try? session.rename(idBytes: Array("aws".utf8), to: Array("gcp".utf8))
    case 9:
        try? session.setAccessKey(bytes.count % 2 == 0 ? accessKey : nil)
    default:
        try? session.reset()
    }
}

/// 1 to 10 decimal digits: what `OTP.format` promises.
func isCode(_ code: String) -> Bool {
    (1...10).contains(code.utf8.count) && code.utf8.allSatisfy { (0x30...0x39).contains($0) }
}
