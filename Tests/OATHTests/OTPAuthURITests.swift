import TestSupport
import Testing

@testable import OATH

@Suite("otpauth:// URIs")
struct OTPAuthURITests {
    static let secret = "JBSWY3DPEHPK3PXP"

    @Test("The REFERENCE and Key Uri Format examples parse to the expected accounts", arguments: Vectors.otpauthExamples)
    func parsesExamples(row: Vectors.URIRow) throws {
        let credential = try OTPAuthURI.parse(row.uri)
        #expect(credential == row.expected)
    }

    @Test("A parsed HOTP URI starts at its counter: RFC 4226's secret at counter 1 gives 287082")
    func hotpCounterFromURI() throws {
        let credential = try OTPAuthURI.parse("otpauth://hotp/door?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1")
        #expect(credential.code(at: 0) == "287082")
        let big = try OTPAuthURI.parse("otpauth://hotp/door?secret=\(Self.secret)&counter=18446744073709551615")
        #expect(big.kind == .hotp(counter: .max))
    }

    @Test("isURI tells a URI from a bare base32 secret, in any case")
    func isURI() {
        #expect(OTPAuthURI.isURI("otpauth://totp/a?secret=\(Self.secret)"))
        #expect(OTPAuthURI.isURI("OTPAuth://totp/a"))
        #expect(!OTPAuthURI.isURI(Self.secret))
        #expect(!OTPAuthURI.isURI("jbsw y3dp"))
    }

    // MARK: - Rejections

    @Test("URIs with another scheme, or none, are not otpauth URIs")
    func wrongScheme() {
        for uri in [
            "", "otpauth://", "otpauth:/totp/a?secret=\(Self.secret)", "otpauth:totp/a?secret=\(Self.secret)",
            "http://totp/a?secret=\(Self.secret)", "otpauth-migration://offline?data=abc", " otpauth://totp/a?secret=\(Self.secret)",
            Self.secret,
        ] {
            #expect(throws: OTPAuthURI.ParseError.notOTPAuth, "\(uri)") { try OTPAuthURI.parse(uri) }
        }
    }

    @Test("Types other than totp and hotp are rejected")
    func unknownType() {
        for type in ["motp", "steam", "", "totpx", "yaotp"] {
            #expect(throws: OTPAuthURI.ParseError.unknownType, "\(type)") {
                try OTPAuthURI.parse("otpauth://\(type)/a?secret=\(Self.secret)")
            }
        }
    }

    @Test("A missing or empty account label is rejected")
    func missingLabel() {
        for uri in [
            "otpauth://totp?secret=\(Self.secret)", "otpauth://totp/?secret=\(Self.secret)", "otpauth://totp/Issuer:?secret=\(Self.secret)",
            "otpauth://totp/Issuer:%20%20?secret=\(Self.secret)", "otpauth://totp/:?secret=\(Self.secret)",
        ] {
            #expect(throws: OTPAuthURI.ParseError.missingLabel, "\(uri)") { try OTPAuthURI.parse(uri) }
        }
    }

    @Test("A missing or empty secret is rejected")
    func missingSecret() {
        for query in ["", "?", "?issuer=A", "?secret=", "?secret", "?secrets=\(Self.secret)", "?&&"] {
            #expect(throws: OTPAuthURI.ParseError.missingSecret, "\(query)") { try OTPAuthURI.parse("otpauth://totp/a\(query)") }
        }
    }

    @Test("A secret that is not base32 is rejected with the base32 error")
    func badSecret() {
        #expect(throws: OTPAuthURI.ParseError.invalidSecret(.invalidCharacter(position: 8))) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=JBSWY3DP1HPK3PXP")
        }
        #expect(throws: OTPAuthURI.ParseError.invalidSecret(.invalidLength)) { try OTPAuthURI.parse("otpauth://totp/a?secret=JBS") }
        #expect(throws: OTPAuthURI.ParseError.invalidSecret(.empty)) { try OTPAuthURI.parse("otpauth://totp/a?secret=%3D%3D") }
    }

    @Test("Digits other than 6, 7 or 8 are rejected", arguments: ["5", "9", "0", "-6", "six", "", "6.0", "99999999999999999999"])
    func badDigits(value: String) {
        #expect(throws: OTPAuthURI.ParseError.invalidValue(parameter: "digits")) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(Self.secret)&digits=\(value)")
        }
    }

    @Test("Periods outside 1…86400 seconds or not numbers are rejected", arguments: ["0", "-30", "86401", "30s", "", "x"])
    func badPeriod(value: String) {
        #expect(throws: OTPAuthURI.ParseError.invalidValue(parameter: "period")) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(Self.secret)&period=\(value)")
        }
    }

    @Test("Unknown algorithms are rejected", arguments: ["MD5", "", "SHA384", "SHA3-256", "sha"])
    func badAlgorithm(value: String) {
        #expect(throws: OTPAuthURI.ParseError.invalidValue(parameter: "algorithm")) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(Self.secret)&algorithm=\(value)")
        }
    }

    @Test("Negative or non-numeric HOTP counters are rejected", arguments: ["-1", "x", "", "18446744073709551616"])
    func badCounter(value: String) {
        #expect(throws: OTPAuthURI.ParseError.invalidValue(parameter: "counter")) {
            try OTPAuthURI.parse("otpauth://hotp/a?secret=\(Self.secret)&counter=\(value)")
        }
    }

    @Test("A repeated parameter is rejected, whatever the case of its name")
    func duplicateParameters() {
        #expect(throws: OTPAuthURI.ParseError.duplicateParameter("secret")) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(Self.secret)&secret=\(Self.secret)")
        }
        #expect(throws: OTPAuthURI.ParseError.duplicateParameter("secret")) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(Self.secret)&SECRET=\(Self.secret)")
        }
        #expect(throws: OTPAuthURI.ParseError.duplicateParameter("issuer")) {
            try OTPAuthURI.parse("otpauth://totp/a?issuer=A&secret=\(Self.secret)&issuer=B")
        }
        #expect(throws: OTPAuthURI.ParseError.duplicateParameter("digits")) {
            try OTPAuthURI.parse("otpauth://totp/a?digits=6&secret=\(Self.secret)&digits=6")
        }
    }

    @Test("Bad percent escapes and percent-encoded bytes that are not UTF-8 are rejected", arguments: [
        "otpauth://totp/a%?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a%4?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a%G1?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a%%41?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%zz",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PX%",
        "otpauth://totp/a?sec%2=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a%FF?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a%C3%28?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a%ED%A0%80?secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%C0%AF",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%E2%82",
    ])
    func badPercentEncoding(uri: String) {
        #expect(throws: OTPAuthURI.ParseError.badPercentEncoding) { try OTPAuthURI.parse(uri) }
    }

    @Test("URIs that describe an impossible account are rejected")
    func invalidCredential() {
        #expect(throws: OTPAuthURI.ParseError.invalidCredential(.invalidIssuer)) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(Self.secret)&issuer=A%3AB")
        }
        let long = String(repeating: "n", count: 65)
        #expect(throws: OTPAuthURI.ParseError.invalidCredential(.idTooLong)) {
            try OTPAuthURI.parse("otpauth://totp/\(long)?secret=\(Self.secret)")
        }
        let longSecret = Base32.encode([UInt8](repeating: 7, count: 1025))
        #expect(throws: OTPAuthURI.ParseError.invalidCredential(.secretTooLong)) {
            try OTPAuthURI.parse("otpauth://totp/a?secret=\(longSecret)")
        }
    }

    @Test("Parse errors describe the problem without echoing the URI or its secret")
    func errorsDoNotEchoSecret() {
        do {
            _ = try OTPAuthURI.parse("otpauth://totp/a?secret=JBSWY3DP1HPK3PXP")
            Issue.record("a bad secret parsed")
        } catch {
            #expect(!error.description.contains("JBSWY3DP"))
            #expect(error.description.contains("position 9"))
        }
    }

    // MARK: - Round trips

    /// Text for a label or issuer: ASCII, reserved characters and UTF-8.
    static func randomText(_ random: inout SplitMix64, maxLength: Int, allowColon: Bool) -> String {
        let pool: [Character] = Array("abcXYZ019 -._~@!$&'()*+,;=/?#[]%\"<>\\^`{|}") + ["é", "ß", "✓", "🔑", "東"] + (allowColon ? [":"] : [])
        let length = Int.random(in: 1...maxLength, using: &random)
        return String((0..<length).map { _ in pool.randomElement(using: &random)! })
    }

    static func randomCredential(_ random: inout SplitMix64) -> OATHCredential {
        while true {
            let issuer: String? = Bool.random(using: &random) ? randomText(&random, maxLength: 12, allowColon: false) : nil
            // A name may contain colons when an issuer is present to split them
            // off. Spaces before a name are dropped by design (they would be
            // lost after an issuer's colon), so no name read from a URI has
            // them.
            let name = String(randomText(&random, maxLength: 20, allowColon: issuer != nil).drop(while: { $0 == " " }))
            guard !name.isEmpty else { continue }
            let kind: OATHKind = Bool.random(using: &random)
                ? .totp(period: [30, 60, 15, 1, 86_400, Int.random(in: 1...86_400, using: &random)].randomElement(using: &random)!)
                : .hotp(counter: [0, 1, UInt64.max, UInt64.random(in: 0...UInt64.max, using: &random)].randomElement(using: &random)!)
            let credential = OATHCredential(
                issuer: issuer, name: name, kind: kind, algorithm: OATHAlgorithm.allCases.randomElement(using: &random)!,
                digits: Int.random(in: 6...8, using: &random), secret: random.bytes(Int.random(in: 1...80, using: &random)))
            if (try? credential.validate()) != nil { return credential }
        }
    }

    @Test("format → parse gives back 2,000 random credentials exactly")
    func randomRoundTrips() throws {
        var random = SplitMix64(seed: 0x07A0_7A17)
        for _ in 0..<2_000 {
            let credential = Self.randomCredential(&random)
            let uri = OTPAuthURI.format(credential)
            #expect(uri.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 }, "\(uri)")
            let parsed = try OTPAuthURI.parse(uri)
            #expect(parsed == credential, "\(uri)")
        }
    }

    @Test("format writes every parameter, defaults included")
    func formatWritesDefaults() {
        let uri = OTPAuthURI.format(OATHCredential(issuer: "ACME Co", name: "alice", secret: Vectors.googleSecret))
        #expect(uri == "otpauth://totp/ACME%20Co:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30")
        let hotp = OTPAuthURI.format(OATHCredential(name: "door", kind: .hotp(counter: 7), digits: 8, secret: Vectors.googleSecret))
        #expect(hotp == "otpauth://hotp/door?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=8&counter=7")
    }

    @Test("An AWS MFA ARN as the name, with no issuer, survives format → parse")
    func arnWithoutIssuerRoundTrips() throws {
        let credential = OATHCredential(name: "arn:aws:iam::123456789012:mfa/alice", secret: Vectors.googleSecret)
        let parsed = try OTPAuthURI.parse(OTPAuthURI.format(credential))
        #expect(parsed.id.description == credential.id.description)
        // Known bug: format percent-encodes the colons, parse (rightly) splits
        // the decoded label at the first one, so the URI comes back with
        // issuer "arn" and name "aws:iam::…". See the report.
        #expect(parsed == credential, "\(OTPAuthURI.format(credential))")
    }
}
