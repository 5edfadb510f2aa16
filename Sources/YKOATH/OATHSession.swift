import Crypto
import _CryptoExtras
import OATH
import SmartCard
import SystemSupport
import FoundationEssentials

/// What SELECT of the OATH applet answers.
///
///     79 03 <version>  71 08 <salt>  [74 08 <challenge>  7B 01 <algorithm>]
///
/// The challenge and algorithm are present only when a password is set.
public struct OATHSelectResponse: Equatable, Sendable {
    public var version: [UInt8]
    public var salt: [UInt8]
    public var challenge: [UInt8]?
    public var algorithm: UInt8?

    public init(parsing data: [UInt8]) throws(OATHSessionError) {
        let items: [TLV]
        do { items = try TLV.parseAll(data) } catch { throw .malformedResponse("SELECT: \(error)") }
        guard let version = items.first(OATHTag.version), !version.isEmpty,
              let salt = items.first(OATHTag.name), !salt.isEmpty
        else { throw .malformedResponse("SELECT: the version or salt is missing") }
        self.version = version
        self.salt = salt
        self.challenge = items.first(OATHTag.challenge)
        self.algorithm = items.first(OATHTag.algorithm)?.first
    }

    /// "5.4.3" for `05 04 03`.
    public var versionString: String { version.map(String.init).joined(separator: ".") }

    public var isPasswordProtected: Bool { challenge != nil }

    /// A stable id for this applet instance (it changes when the applet is
    /// reset): the first 16 bytes of SHA-256(salt), base64 without padding,
    /// as Yubico's tools derive it.
    public var deviceID: String {
        let digest = Data(SHA256.hash(data: salt).prefix(16))
        return String(digest.base64EncodedString().filter { $0 != "=" })
    }
}

/// One entry of LIST: `72 L [type|algorithm] <id bytes>`.
public struct OATHListedCredential: Equatable, Sendable {
    public var idBytes: [UInt8]
    public var kind: UInt8
    public var algorithm: OATHAlgorithm?

    public var isTOTP: Bool { kind == 0x20 }
    public var isHOTP: Bool { kind == 0x10 }

    /// The id as text (YubiKeys store UTF-8; anything else is shown lossily).
    public var id: String { String(decoding: idBytes, as: UTF8.self) }
}

/// One result of CALCULATE ALL.
public enum OATHCalculateAllResult: Equatable, Sendable {
    /// A TOTP code the key computed for the challenge.
    case code(String)
    /// HOTP: the key computes nothing until asked by name (`77`).
    case hotp(digits: Int)
    /// Touch required: ask by name, and the key waits for a touch (`7C`).
    case touchRequired(digits: Int)
}

/// A YKOATH session over any ``SmartCardConnection``.
///
/// Creating a session sends SELECT. Each other method sends exactly the
/// APDUs its name says (plus SEND REMAINING when the key answers `61xx`), so
/// one code costs SELECT + CALCULATE, and SELECT + VALIDATE + CALCULATE with
/// a password.
public final class OATHSession {
    public static let aid: [UInt8] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01]

    enum Instruction: UInt8 {
        case put = 0x01, delete = 0x02, setCode = 0x03, reset = 0x04, rename = 0x05
        case list = 0xA1, calculate = 0xA2, validate = 0xA3, calculateAll = 0xA4, sendRemaining = 0xA5
    }

    private let connection: any SmartCardConnection
    public private(set) var select: OATHSelectResponse
    /// Whether VALIDATE succeeded since the last SELECT.
    public private(set) var isValidated = false

    /// Selects the OATH applet on `connection`.
    public init(connection: any SmartCardConnection) throws {
        self.connection = connection
        let response = try connection.send(
            CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: OATHSession.aid),
            continuation: OATHSession.sendRemaining)
        guard response.status == .success else {
            throw response.status == .fileNotFound || response.status == .insNotSupported || response.status == .claNotSupported
                ? OATHSessionError.noOATHApplet : OATHSessionError.status(response.status, during: "SELECT")
        }
        select = try OATHSelectResponse(parsing: response.data)
    }

    static let sendRemaining = CommandAPDU(ins: Instruction.sendRemaining.rawValue)

    /// The access key for `password`: PBKDF2-HMAC-SHA1(password, salt, 1000
    /// iterations, 16 bytes). The protocol fixes 1000 iterations, fewer than
    /// swift-crypto's checked API allows, hence the unchecked variant.
    public static func deriveAccessKey(password: [UInt8], salt: [UInt8]) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: password, salt: salt, using: .insecureSHA1, outputByteCount: 16, unsafeUncheckedRounds: 1000)
        return key.withUnsafeBytes { Array($0) }
    }

    // MARK: - Commands

    /// VALIDATE: proves knowledge of the access key for the challenge of the
    /// last SELECT, and checks the key's answer to our own challenge in
    /// constant time (a key that cannot answer it is not the key we think).
    public func validate(accessKey: [UInt8]) throws {
        guard let challenge = select.challenge else { return }
        var hostChallenge = [UInt8](repeating: 0, count: 8)
        var generator = SystemRandomNumberGenerator()
        for i in hostChallenge.indices { hostChallenge[i] = generator.next() }
        let response = TLV.serialize([
            TLV(OATHTag.fullResponse, hmacSHA1(accessKey, challenge)),
            TLV(OATHTag.challenge, hostChallenge),
        ])
        let answer = try run(.validate, data: response, name: "VALIDATE") { status in
            status == .wrongData || status == .noSuchObject ? .wrongPassword : nil
        }
        let items = try parse(answer, during: "VALIDATE")
        guard let proof = items.first(OATHTag.fullResponse),
              constantTimeEqual(proof, hmacSHA1(accessKey, hostChallenge))
        else { throw OATHSessionError.keyAuthenticationFailed }
        isValidated = true
    }

    /// LIST: every credential's id, type and algorithm. Any item but a
    /// `72` entry with its type byte is an error, not something to skip: a
    /// key that answers otherwise must not look like a key without accounts.
    public func list() throws -> [OATHListedCredential] {
        let data = try run(.list, name: "LIST")
        return try parse(data, during: "LIST").map { item in
            guard item.tag == OATHTag.nameListEntry, let typeByte = item.value.first else {
                throw OATHSessionError.malformedResponse("LIST: an item that is not a name-list entry (tag \(hexByte(item.tag)))")
            }
            return OATHListedCredential(
                idBytes: Array(item.value.dropFirst()), kind: typeByte & 0xF0,
                algorithm: OATHAlgorithm(ykoathCode: typeByte & 0x0F))
        }
    }

    /// CALCULATE with a truncated response: the code for `challenge` (TOTP:
    /// the 8-byte big-endian time step; HOTP: ignored, the key uses its
    /// counter). A touch-required credential makes the key wait for a touch
    /// before answering.
    public func calculate(idBytes: [UInt8], challenge: [UInt8]) throws -> String {
        let data = TLV.serialize([TLV(OATHTag.name, idBytes), TLV(OATHTag.challenge, challenge)])
        let answer = try run(.calculate, p2: 0x01, data: data, name: "CALCULATE") { status in
            status == .noSuchObject ? .noSuchCredential : nil
        }
        let items = try parse(answer, during: "CALCULATE")
        guard let truncated = items.first(OATHTag.truncatedResponse) else {
            throw OATHSessionError.malformedResponse("CALCULATE: no truncated response")
        }
        return try OATHSession.code(fromTruncated: truncated)
    }

    /// CALCULATE with a full response: the whole HMAC (for tests and
    /// challenge-response uses).
    public func calculateFull(idBytes: [UInt8], challenge: [UInt8]) throws -> [UInt8] {
        let data = TLV.serialize([TLV(OATHTag.name, idBytes), TLV(OATHTag.challenge, challenge)])
        let answer = try run(.calculate, p2: 0x00, data: data, name: "CALCULATE") { status in
            status == .noSuchObject ? .noSuchCredential : nil
        }
        guard let full = try parse(answer, during: "CALCULATE").first(OATHTag.fullResponse), full.count > 1 else {
            throw OATHSessionError.malformedResponse("CALCULATE: no full response")
        }
        return Array(full.dropFirst())
    }

    /// CALCULATE ALL for `challenge`: TOTP codes, and which credentials need
    /// HOTP or a touch.
    public func calculateAll(challenge: [UInt8]) throws -> [(idBytes: [UInt8], result: OATHCalculateAllResult)] {
        let answer = try run(.calculateAll, p2: 0x01, data: TLV.serialize([TLV(OATHTag.challenge, challenge)]), name: "CALCULATE ALL")
        let items = try parse(answer, during: "CALCULATE ALL")
        var results: [(idBytes: [UInt8], result: OATHCalculateAllResult)] = []
        var index = 0
        while index + 1 < items.count {
            let name = items[index], value = items[index + 1]
            index += 2
            guard name.tag == OATHTag.name else { throw OATHSessionError.malformedResponse("CALCULATE ALL: expected a name") }
            let digits = Int(value.value.first ?? 0)
            switch value.tag {
            case OATHTag.truncatedResponse: results.append((name.value, .code(try OATHSession.code(fromTruncated: value.value))))
            case OATHTag.hotp: results.append((name.value, .hotp(digits: digits)))
            case OATHTag.touch: results.append((name.value, .touchRequired(digits: digits)))
            case OATHTag.fullResponse: results.append((name.value, .code(OTP.code(fromHMAC: Array(value.value.dropFirst()), digits: digits))))
            default: throw OATHSessionError.malformedResponse("CALCULATE ALL: unexpected tag \(value.tag)")
            }
        }
        guard index == items.count else { throw OATHSessionError.malformedResponse("CALCULATE ALL: a name without a result") }
        return results
    }

    /// PUT: stores `credential` (the same id overwrites). The secret is
    /// hashed if longer than the hash block and padded to 14 bytes, as keys
    /// expect.
    public func put(_ credential: OATHCredential, requireTouch: Bool = false) throws {
        var key = credential.algorithm.deviceKey(for: credential.secret)
        defer { key.wipe() }
        var items = [
            TLV(OATHTag.name, credential.id.bytes),
            TLV(OATHTag.key, [credential.kind.ykoathCode | credential.algorithm.ykoathCode, UInt8(credential.digits)] + key),
        ]
        if requireTouch { items.append(TLV(OATHTag.property, [0x02])) }
        if case .hotp(let counter) = credential.kind, counter > 0 {
            let imf = UInt32(truncatingIfNeeded: counter)
            items.append(TLV(OATHTag.imf, [UInt8(imf >> 24), UInt8(imf >> 16 & 0xFF), UInt8(imf >> 8 & 0xFF), UInt8(imf & 0xFF)]))
        }
        var data = TLV.serialize(items)
        defer { data.wipe() }
        _ = try run(.put, data: data, name: "PUT") { status in
            status == .notEnoughSpace ? .noSpace : status == .wrongData ? .rejected("the key refused the account (name too long or bad parameters)") : nil
        }
    }

    public func delete(idBytes: [UInt8]) throws {
        _ = try run(.delete, data: TLV.serialize([TLV(OATHTag.name, idBytes)]), name: "DELETE") { status in
            status == .noSuchObject ? .noSuchCredential : nil
        }
    }

    /// RENAME (firmware 5.3.1 and later).
    public func rename(idBytes: [UInt8], to newID: [UInt8]) throws {
        _ = try run(.rename, data: TLV.serialize([TLV(OATHTag.name, idBytes), TLV(OATHTag.name, newID)]), name: "RENAME") { status in
            status == .noSuchObject ? .noSuchCredential : status == .insNotSupported ? .rejected("this key's firmware cannot rename (5.3.1 or later needed)") : nil
        }
    }

    /// SET CODE with a new access key, or with `nil` to remove the password.
    public func setAccessKey(_ accessKey: [UInt8]?) throws {
        let data: [UInt8]
        if let accessKey {
            var challenge = [UInt8](repeating: 0, count: 8)
            var generator = SystemRandomNumberGenerator()
            for i in challenge.indices { challenge[i] = generator.next() }
            data = TLV.serialize([
                TLV(OATHTag.key, [0x20 | OATHAlgorithm.sha1.ykoathCode] + accessKey),
                TLV(OATHTag.challenge, challenge),
                TLV(OATHTag.fullResponse, hmacSHA1(accessKey, challenge)),
            ])
        } else {
            data = TLV.serialize([TLV(OATHTag.key, [])])
        }
        _ = try run(.setCode, data: data, name: "SET CODE")
    }

    /// RESET: wipes every credential and the password; the salt (and so the
    /// device id) changes.
    public func reset() throws {
        _ = try run(.reset, p1: 0xDE, p2: 0xAD, name: "RESET")
    }

    // MARK: - Helpers

    /// The code from a `76` value: digits byte, then four truncated bytes.
    public static func code(fromTruncated value: [UInt8]) throws(OATHSessionError) -> String {
        guard value.count == 5, let digits = value.first, (1...10).contains(digits) else {
            throw .malformedResponse("a truncated response is not 5 bytes with a digit count")
        }
        return OTP.format(OTP.truncatedValue(value.dropFirst()), digits: Int(digits))
    }

    /// The TOTP challenge: the time step as 8 bytes, big-endian.
    public static func challenge(at unixTime: UInt64, period: Int) -> [UInt8] {
        OTP.message(counter: OTP.timeStep(at: unixTime, period: period))
    }

    private func run(
        _ instruction: Instruction, p1: UInt8 = 0, p2: UInt8 = 0, data: [UInt8] = [], name: String,
        mapping: (StatusWord) -> OATHSessionError? = { _ in nil }
    ) throws -> [UInt8] {
        let command = CommandAPDU(ins: instruction.rawValue, p1: p1, p2: p2, data: data)
        let response = try connection.send(command, continuation: OATHSession.sendRemaining)
        guard response.status == .success else {
            if let mapped = mapping(response.status) { throw mapped }
            if response.status == .securityStatusNotSatisfied { throw OATHSessionError.authenticationRequired(during: name) }
            if response.status == .memoryFailure { throw OATHSessionError.memoryFailure }
            throw OATHSessionError.status(response.status, during: name)
        }
        return response.data
    }

    private func parse(_ data: [UInt8], during name: String) throws(OATHSessionError) -> [TLV] {
        do { return try TLV.parseAll(data) } catch { throw .malformedResponse("\(name): \(error)") }
    }

    private func hexByte(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "0" + digits : digits
    }

    private func hmacSHA1(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        OATHAlgorithm.sha1.hmac(key: key, message: message)
    }
}

public enum OATHSessionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The card has no OATH applet (SELECT failed).
    case noOATHApplet
    /// 6982: a password is set and VALIDATE has not succeeded — or, after the
    /// key waited, a touch was not given (the caller tells them apart by time).
    case authenticationRequired(during: String)
    case wrongPassword
    /// The key's answer to our VALIDATE challenge was wrong.
    case keyAuthenticationFailed
    case noSuchCredential
    case noSpace
    case memoryFailure
    case rejected(String)
    case malformedResponse(String)
    case status(StatusWord, during: String)

    public var description: String {
        switch self {
        case .noOATHApplet: "the card has no OATH applet"
        case .authenticationRequired(let name): "the key requires its OATH password (\(name) refused with 6982)"
        case .wrongPassword: "wrong OATH password"
        case .keyAuthenticationFailed: "the key's answer to our challenge was wrong: it does not hold the access key it claims"
        case .noSuchCredential: "no such account on the key"
        case .noSpace: "the key has no room for another account"
        case .memoryFailure: "the key reported a memory error (6581): the account may be corrupted"
        case .rejected(let why): why
        case .malformedResponse(let what): "the key sent a malformed response (\(what))"
        case .status(let sw, let name): "the key refused \(name) with status \(sw)"
        }
    }
}
