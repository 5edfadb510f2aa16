import OATH

/// Known answers from RFC 6238 appendix B (8 digits, 30 s) and RFC 4226
/// appendix D (6 digits).
enum RFCVectors {
    static let sha1Seed = Array("12345678901234567890".utf8)
    static let sha256Seed = Array("12345678901234567890123456789012".utf8)
    static let sha512Seed = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)

    static func seed(_ algorithm: OATHAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: sha1Seed
        case .sha256: sha256Seed
        case .sha512: sha512Seed
        }
    }

    struct TOTP: Sendable, CustomStringConvertible {
        var time: UInt64
        var algorithm: OATHAlgorithm
        var code: String
        var description: String { "\(algorithm.rawValue) at \(time)" }
    }

    static let totp: [TOTP] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ].flatMap { row in
        [
            TOTP(time: row.0, algorithm: .sha1, code: row.1),
            TOTP(time: row.0, algorithm: .sha256, code: row.2),
            TOTP(time: row.0, algorithm: .sha512, code: row.3),
        ]
    }

    static let hotp = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
}
