import OATH

/// Known-answer vectors, kept as data apart from the tests that use them.
enum Vectors {
    // MARK: - RFC 4226, appendix D

    /// The RFC 4226 test secret, ASCII "12345678901234567890".
    static let rfc4226Secret = Array("12345678901234567890".utf8)

    struct HOTPRow: Sendable, CustomStringConvertible {
        var counter: UInt64
        /// HMAC-SHA-1(secret, counter) in hex.
        var hmac: String
        /// The 31-bit dynamically truncated value.
        var truncated: UInt32
        var code: String
        var description: String { "counter \(counter)" }
    }

    static let rfc4226: [HOTPRow] = [
        HOTPRow(counter: 0, hmac: "cc93cf18508d94934c64b65d8ba7667fb7cde4b0", truncated: 1_284_755_224, code: "755224"),
        HOTPRow(counter: 1, hmac: "75a48a19d4cbe100644e8ac1397eea747a2d33ab", truncated: 1_094_287_082, code: "287082"),
        HOTPRow(counter: 2, hmac: "0bacb7fa082fef30782211938bc1c5e70416ff44", truncated: 137_359_152, code: "359152"),
        HOTPRow(counter: 3, hmac: "66c28227d03a2d5529262ff016a1e6ef76557ece", truncated: 1_726_969_429, code: "969429"),
        HOTPRow(counter: 4, hmac: "a904c900a64b35909874b33e61c5938a8e15ed1c", truncated: 1_640_338_314, code: "338314"),
        HOTPRow(counter: 5, hmac: "a37e783d7b7233c083d4f62926c7a25f238d0316", truncated: 868_254_676, code: "254676"),
        HOTPRow(counter: 6, hmac: "bc9cd28561042c83f219324d3c607256c03272ae", truncated: 1_918_287_922, code: "287922"),
        HOTPRow(counter: 7, hmac: "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa", truncated: 82_162_583, code: "162583"),
        HOTPRow(counter: 8, hmac: "1b3c89f65e6c9e883012052823443f048b4332db", truncated: 673_399_871, code: "399871"),
        HOTPRow(counter: 9, hmac: "1637409809a679dc698207310c8c7fc07290d9e5", truncated: 645_520_489, code: "520489"),
    ]

    // MARK: - RFC 6238, appendix B (8 digits, 30 s)

    static func rfc6238Seed(_ algorithm: OATHAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: Array("12345678901234567890".utf8)
        case .sha256: Array("12345678901234567890123456789012".utf8)
        case .sha512: Array((String(repeating: "1234567890", count: 6) + "1234").utf8)
        }
    }

    struct TOTPRow: Sendable, CustomStringConvertible {
        var time: UInt64
        var algorithm: OATHAlgorithm
        var code: String
        var description: String { "\(algorithm.rawValue) at \(time)" }
    }

    static let rfc6238: [TOTPRow] = {
        let table: [(UInt64, String, String, String)] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ]
        return table.flatMap { time, sha1, sha256, sha512 in
            [
                TOTPRow(time: time, algorithm: .sha1, code: sha1),
                TOTPRow(time: time, algorithm: .sha256, code: sha256),
                TOTPRow(time: time, algorithm: .sha512, code: sha512),
            ]
        }
    }()

    // MARK: - RFC 4648, section 10

    struct Base32Row: Sendable, CustomStringConvertible {
        var plain: String
        var encoded: String
        var description: String { "\"\(plain)\"" }
    }

    static let rfc4648: [Base32Row] = [
        Base32Row(plain: "f", encoded: "MY======"),
        Base32Row(plain: "fo", encoded: "MZXQ===="),
        Base32Row(plain: "foo", encoded: "MZXW6==="),
        Base32Row(plain: "foob", encoded: "MZXW6YQ="),
        Base32Row(plain: "fooba", encoded: "MZXW6YTB"),
        Base32Row(plain: "foobar", encoded: "MZXW6YTBOI======"),
    ]

    // MARK: - otpauth:// URIs

    /// `JBSWY3DPEHPK3PXP` is the secret in Google's Key Uri Format examples.
    static let googleSecret: [UInt8] = [0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x21, 0xDE, 0xAD, 0xBE, 0xEF]

    struct URIRow: Sendable, CustomStringConvertible {
        var uri: String
        var expected: OATHCredential
        var description: String { uri }
    }

    static let otpauthExamples: [URIRow] = [
        // REFERENCE §8, the full form.
        URIRow(
            uri: "otpauth://totp/Issuer:account?secret=JBSWY3DPEHPK3PXP&issuer=Issuer&algorithm=SHA1&digits=6&period=30",
            expected: OATHCredential(issuer: "Issuer", name: "account", secret: googleSecret)),
        // AWS's virtual MFA QR code: name@account, no issuer.
        URIRow(
            uri: "otpauth://totp/alice@123456789012?secret=JBSWY3DPEHPK3PXP",
            expected: OATHCredential(name: "alice@123456789012", secret: googleSecret)),
        // Google Key Uri Format: the canonical example.
        URIRow(
            uri: "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
            expected: OATHCredential(issuer: "Example", name: "alice@google.com", secret: googleSecret)),
        // Google Key Uri Format: every parameter given.
        URIRow(
            uri: "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
            expected: OATHCredential(
                issuer: "ACME Co", name: "john.doe@email.com",
                secret: [
                    0x3D, 0xC6, 0xCA, 0xA4, 0x82, 0x4A, 0x6D, 0x28, 0x87, 0x67, 0xB2, 0x33, 0x1E, 0x20, 0xB4, 0x31,
                    0x66, 0xCB, 0x85, 0xD9,
                ])),
        // Google: label examples, an encoded colon and a space after it.
        URIRow(
            uri: "otpauth://totp/Big%20Corporation%3A%20alice%40bigco.com?secret=JBSWY3DPEHPK3PXP",
            expected: OATHCredential(issuer: "Big Corporation", name: "alice@bigco.com", secret: googleSecret)),
        URIRow(
            uri: "otpauth://totp/Provider1:Alice%20Smith?secret=JBSWY3DPEHPK3PXP&issuer=Provider1",
            expected: OATHCredential(issuer: "Provider1", name: "Alice Smith", secret: googleSecret)),
        // Issuer only as a parameter.
        URIRow(
            uri: "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=Example",
            expected: OATHCredential(issuer: "Example", name: "alice", secret: googleSecret)),
        // The parameter wins over the label prefix.
        URIRow(
            uri: "otpauth://totp/Old:alice?secret=JBSWY3DPEHPK3PXP&issuer=New",
            expected: OATHCredential(issuer: "New", name: "alice", secret: googleSecret)),
        // An empty issuer parameter leaves the label's issuer.
        URIRow(
            uri: "otpauth://totp/Label:alice?secret=JBSWY3DPEHPK3PXP&issuer=",
            expected: OATHCredential(issuer: "Label", name: "alice", secret: googleSecret)),
        // Several spaces after the colon, literal and encoded.
        URIRow(
            uri: "otpauth://totp/Example:%20%20%20alice?secret=JBSWY3DPEHPK3PXP",
            expected: OATHCredential(issuer: "Example", name: "alice", secret: googleSecret)),
        // UTF-8, percent-encoded, in the label and the issuer parameter.
        URIRow(
            uri: "otpauth://totp/%C3%89quipe:ren%C3%A9e?secret=JBSWY3DPEHPK3PXP&issuer=%C3%89quipe%20%E2%9C%93",
            expected: OATHCredential(issuer: "Équipe ✓", name: "renée", secret: googleSecret)),
        // '+' is a space in the query but a plus in the label.
        URIRow(
            uri: "otpauth://totp/a+b@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co",
            expected: OATHCredential(issuer: "ACME Co", name: "a+b@example.com", secret: googleSecret)),
        // Algorithm, digits, period.
        URIRow(
            uri: "otpauth://totp/ACME:bob?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60",
            expected: OATHCredential(
                issuer: "ACME", name: "bob", kind: .totp(period: 60), algorithm: .sha256, digits: 8, secret: googleSecret)),
        URIRow(
            uri: "otpauth://totp/ACME:bob?secret=JBSWY3DPEHPK3PXP&algorithm=sha512&digits=7&period=15",
            expected: OATHCredential(
                issuer: "ACME", name: "bob", kind: .totp(period: 15), algorithm: .sha512, digits: 7, secret: googleSecret)),
        // HOTP, with and without a counter; a period is ignored for HOTP.
        URIRow(
            uri: "otpauth://hotp/ACME:door?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=42&period=60",
            expected: OATHCredential(issuer: "ACME", name: "door", kind: .hotp(counter: 42), secret: rfc4226Secret)),
        URIRow(
            uri: "otpauth://hotp/door?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            expected: OATHCredential(name: "door", kind: .hotp(counter: 0), secret: rfc4226Secret)),
        // Case: scheme, type, parameter names, lower-case secret with padding and spaces.
        URIRow(
            uri: "OTPAUTH://TOTP/Example:alice?SECRET=jbsw%20y3dp%20ehpk%203pxp%3D%3D%3D%3D%3D%3D&Issuer=Example&image=https%3A%2F%2Fexample.com%2Fx.png",
            expected: OATHCredential(issuer: "Example", name: "alice", secret: googleSecret)),
        // A label with an empty issuer prefix.
        URIRow(
            uri: "otpauth://totp/:alice?secret=JBSWY3DPEHPK3PXP",
            expected: OATHCredential(name: "alice", secret: googleSecret)),
        // An ARN after an issuer keeps its colons.
        URIRow(
            uri: "otpauth://totp/AWS:arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice?secret=JBSWY3DPEHPK3PXP",
            expected: OATHCredential(issuer: "AWS", name: "arn:aws:iam::123456789012:mfa/alice", secret: googleSecret)),
    ]
}
