import TestSupport
import Testing

@testable import OATH

@Suite("HOTP and TOTP known answers")
struct OTPTests {
    @Test("HMAC-SHA-1 of each RFC 4226 counter matches appendix D", arguments: Vectors.rfc4226)
    func rfc4226HMAC(row: Vectors.HOTPRow) {
        var message = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { message[i] = UInt8(truncatingIfNeeded: row.counter >> UInt64(56 - 8 * i)) }
        let mac = OATHAlgorithm.sha1.hmac(key: Vectors.rfc4226Secret, message: message)
        #expect(hex(mac) == row.hmac)
        #expect(OTP.code(fromHMAC: mac) == row.truncated)
    }

    @Test("HOTP gives RFC 4226's codes for counters 0 to 9", arguments: Vectors.rfc4226)
    func rfc4226Codes(row: Vectors.HOTPRow) {
        #expect(OTP.hotp(secret: Vectors.rfc4226Secret, counter: row.counter, algorithm: .sha1, digits: 6) == row.code)
        let credential = OATHCredential(name: "rfc", kind: .hotp(counter: row.counter), secret: Vectors.rfc4226Secret)
        #expect(credential.code(at: 1_234_567_890) == row.code, "an HOTP code ignores the time")
    }

    @Test("TOTP gives RFC 6238's 8-digit codes for SHA1, SHA256 and SHA512", arguments: Vectors.rfc6238)
    func rfc6238Codes(row: Vectors.TOTPRow) {
        let seed = Vectors.rfc6238Seed(row.algorithm)
        #expect(OTP.totp(secret: seed, at: row.time, period: 30, algorithm: row.algorithm, digits: 8) == row.code)
        let credential = OATHCredential(name: "rfc", algorithm: row.algorithm, digits: 8, secret: seed)
        #expect(credential.code(at: row.time) == row.code)
    }

    @Test("The RFC 6238 codes are also right through the device key (seed hashed or padded)", arguments: Vectors.rfc6238)
    func rfc6238ThroughDeviceKey(row: Vectors.TOTPRow) {
        let key = row.algorithm.deviceKey(for: Vectors.rfc6238Seed(row.algorithm))
        #expect(OTP.totp(secret: key, at: row.time, period: 30, algorithm: row.algorithm, digits: 8) == row.code)
    }

    @Test("Time steps count whole periods since the epoch")
    func timeSteps() {
        #expect(OTP.timeStep(at: 0, period: 30) == 0)
        #expect(OTP.timeStep(at: 29, period: 30) == 0)
        #expect(OTP.timeStep(at: 30, period: 30) == 1)
        #expect(OTP.timeStep(at: 59, period: 60) == 0)
        #expect(OTP.timeStep(at: 20_000_000_000, period: 30) == 666_666_666)
        #expect(OTP.timeStep(at: UInt64.max, period: 1) == UInt64.max)
    }

    @Test("Codes keep their leading zeros and have exactly the digits asked for")
    func formatting() {
        #expect(OTP.format(7_081_804, digits: 8) == "07081804")
        #expect(OTP.format(1_284_755_224, digits: 6) == "755224")
        #expect(OTP.format(1_284_755_224, digits: 7) == "4755224")
        #expect(OTP.format(0, digits: 6) == "000000")
        #expect(OTP.format(0x7FFF_FFFF, digits: 8) == "47483647")
    }

    @Test("The device key hashes secrets longer than the block and zero-pads short ones to 14 bytes")
    func deviceKeyShape() {
        #expect(OATHAlgorithm.sha1.deviceKey(for: [1, 2, 3]) == [1, 2, 3] + [UInt8](repeating: 0, count: 11))
        let block64 = [UInt8](repeating: 0xAB, count: 64)
        #expect(OATHAlgorithm.sha1.deviceKey(for: block64) == block64, "a secret exactly one block long is kept")
        #expect(OATHAlgorithm.sha1.deviceKey(for: block64 + [1]).count == 20)
        #expect(OATHAlgorithm.sha256.deviceKey(for: block64 + [1]).count == 32)
        let block128 = [UInt8](repeating: 0xCD, count: 128)
        #expect(OATHAlgorithm.sha512.deviceKey(for: block128) == block128)
        #expect(OATHAlgorithm.sha512.deviceKey(for: block128 + [1]).count == 64)
    }

    @Test("Algorithm names parse in any case, with or without a hyphen, and nothing else parses")
    func algorithmNames() {
        #expect(OATHAlgorithm(name: "SHA1") == .sha1)
        #expect(OATHAlgorithm(name: "sha256") == .sha256)
        #expect(OATHAlgorithm(name: "Sha-512") == .sha512)
        for bad in ["", "MD5", "SHA", "SHA384", "SHA 1", "sha1 "] {
            #expect(OATHAlgorithm(name: bad) == nil, "\(bad)")
        }
        for algorithm in OATHAlgorithm.allCases {
            #expect(OATHAlgorithm(ykoathCode: algorithm.ykoathCode) == algorithm)
        }
        #expect(OATHAlgorithm(ykoathCode: 0) == nil)
        #expect(OATHAlgorithm(ykoathCode: 4) == nil)
    }

    @Test("validate() rejects each kind of impossible credential")
    func validation() {
        let good = OATHCredential(issuer: "AWS", name: "alice", secret: [1, 2, 3])
        #expect(throws: Never.self) { try good.validate() }
        func check(_ change: (inout OATHCredential) -> Void, _ expected: OATHCredentialError) {
            var credential = good
            change(&credential)
            #expect(throws: expected) { try credential.validate() }
        }
        check({ $0.name = "" }, .emptyName)
        check({ $0.digits = 5 }, .invalidDigits(5))
        check({ $0.digits = 9 }, .invalidDigits(9))
        check({ $0.kind = .totp(period: 0) }, .invalidPeriod(0))
        check({ $0.kind = .totp(period: 86_401) }, .invalidPeriod(86_401))
        check({ $0.secret = [] }, .emptySecret)
        check({ $0.secret = [UInt8](repeating: 1, count: 1025) }, .secretTooLong)
        check({ $0.issuer = "" }, .invalidIssuer)
        check({ $0.issuer = "A:B" }, .invalidIssuer)
        check({ $0.name = String(repeating: "n", count: 61) }, .idTooLong)
        var longest = good
        longest.name = String(repeating: "n", count: 60)
        #expect(throws: Never.self) { try longest.validate() }
    }

    @Test("A credential's description is its id and never its secret")
    func descriptionHidesSecret() {
        let credential = OATHCredential(issuer: "AWS", name: "alice", secret: Array("SECRETSECRET".utf8))
        #expect("\(credential)" == "AWS:alice")
        #expect(!String(describing: credential).contains("SECRET"))
    }
}
