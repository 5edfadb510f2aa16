import TestSupport
import Testing

@testable import OATH

@Suite("Credential ids and name matching")
struct CredentialIDTests {
    static let arn = "arn:aws:iam::123456789012:mfa/alice"

    struct FormatRow: Sendable, CustomStringConvertible {
        var issuer: String?
        var name: String
        var period: Int?
        var text: String
        var description: String { text }
    }

    static let formatRows: [FormatRow] = [
        FormatRow(issuer: nil, name: "alice", period: 30, text: "alice"),
        FormatRow(issuer: "AWS", name: "alice", period: 30, text: "AWS:alice"),
        FormatRow(issuer: "AWS", name: "alice", period: 60, text: "60/AWS:alice"),
        FormatRow(issuer: nil, name: "alice", period: 15, text: "15/alice"),
        FormatRow(issuer: "AWS", name: "alice", period: nil, text: "AWS:alice"),
        FormatRow(issuer: nil, name: "door", period: nil, text: "door"),
        FormatRow(issuer: nil, name: arn, period: 30, text: arn),
        FormatRow(issuer: nil, name: arn, period: 60, text: "60/" + arn),
        FormatRow(issuer: "AWS", name: arn, period: 30, text: "AWS:" + arn),
    ]

    @Test("ids are [period/][issuer:]name, the period only when it is not 30", arguments: formatRows)
    func formatting(row: FormatRow) {
        let id = CredentialID(issuer: row.issuer, name: row.name, period: row.period)
        #expect(id.description == row.text)
        #expect(id.bytes == Array(row.text.utf8))
    }

    @Test("A credential's id carries its period only for TOTP")
    func credentialID() {
        let totp = OATHCredential(issuer: "AWS", name: "alice", kind: .totp(period: 60), secret: [1])
        #expect(totp.id.description == "60/AWS:alice")
        let hotp = OATHCredential(issuer: "AWS", name: "alice", kind: .hotp(counter: 60), secret: [1])
        #expect(hotp.id.description == "AWS:alice")
        #expect(hotp.id.period == nil)
    }

    struct ParseRow: Sendable, CustomStringConvertible {
        var text: String
        var isTOTP: Bool
        var issuer: String?
        var name: String
        var period: Int?
        var description: String { "\(text) (\(isTOTP ? "TOTP" : "HOTP"))" }
    }

    static let parseRows: [ParseRow] = [
        ParseRow(text: "alice", isTOTP: true, issuer: nil, name: "alice", period: 30),
        ParseRow(text: "AWS:alice", isTOTP: true, issuer: "AWS", name: "alice", period: 30),
        ParseRow(text: "60/AWS:alice", isTOTP: true, issuer: "AWS", name: "alice", period: 60),
        ParseRow(text: "15/alice", isTOTP: true, issuer: nil, name: "alice", period: 15),
        ParseRow(text: "a:b:c", isTOTP: true, issuer: "a", name: "b:c", period: 30),
        ParseRow(text: ":alice", isTOTP: true, issuer: nil, name: ":alice", period: 30),
        ParseRow(text: "alice:", isTOTP: true, issuer: nil, name: "alice:", period: 30),
        ParseRow(text: "60/", isTOTP: true, issuer: nil, name: "60/", period: 30),
        ParseRow(text: "/alice", isTOTP: true, issuer: nil, name: "/alice", period: 30),
        ParseRow(text: "x60/alice", isTOTP: true, issuer: nil, name: "x60/alice", period: 30),
        ParseRow(text: "6a/b", isTOTP: true, issuer: nil, name: "6a/b", period: 30),
        ParseRow(text: "60/:a", isTOTP: true, issuer: nil, name: ":a", period: 60),
        ParseRow(text: "60/a/b", isTOTP: true, issuer: nil, name: "a/b", period: 60),
        ParseRow(text: "Issuer:60/x", isTOTP: true, issuer: "Issuer", name: "60/x", period: 30),
        ParseRow(text: "0/x", isTOTP: true, issuer: nil, name: "x", period: 0),
        ParseRow(text: arn, isTOTP: true, issuer: "arn", name: "aws:iam::123456789012:mfa/alice", period: 30),
        ParseRow(text: "60/AWS:alice", isTOTP: false, issuer: "60/AWS", name: "alice", period: nil),
        ParseRow(text: "door", isTOTP: false, issuer: nil, name: "door", period: nil),
        ParseRow(text: arn, isTOTP: false, issuer: "arn", name: "aws:iam::123456789012:mfa/alice", period: nil),
    ]

    @Test("ids split as ykman's ^((\\d+)/)?(([^:]+):)?(.+)$ splits them", arguments: parseRows)
    func parsing(row: ParseRow) {
        let id = CredentialID(parsing: row.text, isTOTP: row.isTOTP)
        #expect(id.issuer == row.issuer)
        #expect(id.name == row.name)
        #expect(id.period == row.period)
    }

    @Test("AWS MFA ARNs (colons and a slash) come back byte for byte from parse → format")
    func arnsRoundTrip() {
        for text in [
            Self.arn, "arn:aws:iam::123456789012:mfa/alice.smith+ops@example.com", "arn:aws-us-gov:iam::000000000000:mfa/a",
            "arn:aws:iam::123456789012:u2f/user/alice/default-ABCDEF", "60/" + Self.arn, "AWS:" + Self.arn,
        ] {
            for isTOTP in [true, false] {
                let id = CredentialID(parsing: text, isTOTP: isTOTP)
                #expect(id.description == text, "\(text)")
                #expect(id.bytes == Array(text.utf8))
            }
        }
    }

    /// ykman's own rule, as a regular expression, for comparison.
    static func ykmanSplit(_ text: String) -> (issuer: String?, name: String, period: Int)? {
        let regex = try! Regex(#"^((\d+)/)?(([^:]+):)?(.+)$"#)
        guard let match = try? regex.wholeMatch(in: text) else { return nil }
        let period = match.output[2].substring.map { Int($0)! } ?? 30
        let issuer = match.output[4].substring.map(String.init)
        return (issuer, String(match.output[5].substring!), period)
    }

    @Test("parsing agrees with ykman's regex on 5,000 random ids built from digits, '/', ':' and letters")
    func agreesWithYkmanRegex() {
        var random = SplitMix64(seed: 0x1D)
        let pool: [Character] = Array("0123456789//::abZ é-")
        for _ in 0..<5_000 {
            let length = Int.random(in: 1...12, using: &random)
            let text = String((0..<length).map { _ in pool.randomElement(using: &random)! })
            guard let expected = Self.ykmanSplit(text) else {
                Issue.record("the reference regex did not match \(text.debugDescription)")
                continue
            }
            let id = CredentialID(parsing: text, isTOTP: true)
            #expect(id.issuer == expected.issuer && id.name == expected.name && id.period == expected.period,
                    "\(text.debugDescription): got \(String(describing: id.issuer)) / \(id.name) / \(String(describing: id.period)), ykman \(String(describing: expected.issuer)) / \(expected.name) / \(expected.period)")
        }
    }

    @Test("An id formatted from parts parses back to the same text")
    func formatThenParse() {
        var random = SplitMix64(seed: 0x1D2)
        let pool: [Character] = Array("0123456789/:abZ é-@.")
        for _ in 0..<3_000 {
            let name = String((0..<Int.random(in: 1...10, using: &random)).map { _ in pool.randomElement(using: &random)! })
            let issuer: String? = Bool.random(using: &random) ? String((0..<Int.random(in: 1...5, using: &random)).map { _ in pool.filter { $0 != ":" }.randomElement(using: &random)! }) : nil
            let period: Int? = [nil, 30, 60, 15].randomElement(using: &random)!
            let text = CredentialID(issuer: issuer, name: name, period: period).description
            let parsed = CredentialID(parsing: text, isTOTP: period != nil)
            // A TOTP id with the default period that starts with digits and a
            // slash reads as a period prefix (as in ykman): "30/x" is "x".
            let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
            if period == 30, !digits.isEmpty, text.dropFirst(digits.count).hasPrefix("/"),
               text.count > digits.count + 1 {
                #expect(parsed.period == Int(digits))
                continue
            }
            #expect(parsed.description == text, "\(text.debugDescription)")
        }
    }

    @Test("ids sort case-insensitively")
    func ordering() {
        let ids = ["b", "A:z", "a:y", "C"].map { CredentialID(parsing: $0, isTOTP: true) }
        #expect(ids.sorted().map(\.description) == ["a:y", "A:z", "b", "C"])
    }

    // MARK: - CredentialMatch

    static let ids = ["AWS:alice", "AWS:bob", "GitHub:alice", Self.arn, "60/work:carol"]

    @Test("An exact id wins even when it is also part of other ids")
    func exactWins() {
        #expect(CredentialMatch.select("alice", from: ["alice", "alice2", "AWS:alice"]) == .found("alice"))
        #expect(CredentialMatch.select(Self.arn, from: Self.ids) == .found(Self.arn))
        #expect(CredentialMatch.select("60/work:carol", from: Self.ids) == .found("60/work:carol"))
    }

    @Test("A case-insensitive part of exactly one id selects it")
    func uniqueSubstring() {
        #expect(CredentialMatch.select("BOB", from: Self.ids) == .found("AWS:bob"))
        #expect(CredentialMatch.select("github", from: Self.ids) == .found("GitHub:alice"))
        #expect(CredentialMatch.select("mfa/", from: Self.ids) == .found(Self.arn))
        #expect(CredentialMatch.select("carol", from: Self.ids) == .found("60/work:carol"))
    }

    @Test("A part of several ids is ambiguous and lists just those")
    func ambiguous() {
        #expect(CredentialMatch.select("alice", from: Self.ids) == .ambiguous(["AWS:alice", "GitHub:alice", Self.arn]))
        #expect(CredentialMatch.select("aws:", from: Self.ids) == .ambiguous(["AWS:alice", "AWS:bob", Self.arn]))
        #expect(CredentialMatch.select("ALICE", from: ["alice", "Alice"]) == .ambiguous(["alice", "Alice"]))
    }

    @Test("A name that matches nothing lists every id")
    func none() {
        #expect(CredentialMatch.select("zed", from: Self.ids) == .none(candidates: Self.ids))
        #expect(CredentialMatch.select("zed", from: []) == .none(candidates: []))
    }

    @Test("No name picks the only account, and is ambiguous with several or none")
    func noQuery() {
        #expect(CredentialMatch.select(nil, from: ["AWS:alice"]) == .found("AWS:alice"))
        #expect(CredentialMatch.select("", from: ["AWS:alice"]) == .found("AWS:alice"))
        #expect(CredentialMatch.select(nil, from: Self.ids) == .ambiguous(Self.ids))
        #expect(CredentialMatch.select(nil, from: []) == .none(candidates: []))
    }
}
