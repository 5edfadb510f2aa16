import TestSupport
import Testing

@testable import OATH

/// Random and mutated input into every parser that sees untrusted text. A
/// crash fails the whole run; the checks below also hold each parser to what
/// it promises when it does accept something.
@Suite("Parser fuzz")
struct FuzzTests {
    static let seeds: [String] = Vectors.otpauthExamples.map(\.uri) + [
        "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=5",
        "otpauth://totp/%E2%9C%93:%F0%9F%94%91?secret=MZXW6YTBOI======&digits=8&algorithm=SHA512&period=86400",
    ]

    /// Characters that matter to the parsers, plus a few multi-byte ones.
    static let alphabet: [Character] = Array("otpauth:/?&=%+#:ABCXYZ234567abcxyz0189 -.@~\t\n") + ["é", "✓", "\u{0}", "🔑"]

    static func mutate(_ text: String, _ random: inout SplitMix64) -> String {
        var chars = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !chars.isEmpty: chars.remove(at: Int.random(in: 0..<chars.count, using: &random))
            case 1: chars.insert(alphabet.randomElement(using: &random)!, at: Int.random(in: 0...chars.count, using: &random))
            case 2 where !chars.isEmpty: chars[Int.random(in: 0..<chars.count, using: &random)] = alphabet.randomElement(using: &random)!
            case 3 where !chars.isEmpty:
                let cut = Int.random(in: 0..<chars.count, using: &random)
                chars = Array(chars[..<cut])
            case 4 where !chars.isEmpty:
                let start = Int.random(in: 0..<chars.count, using: &random)
                let end = min(chars.count, start + Int.random(in: 1...8, using: &random))
                chars.insert(contentsOf: chars[start..<end], at: Int.random(in: 0...chars.count, using: &random))
            default:
                chars.append(contentsOf: ["%", alphabet.randomElement(using: &random)!, alphabet.randomElement(using: &random)!])
            }
        }
        return String(chars)
    }

    static func randomString(_ random: inout SplitMix64) -> String {
        if Bool.random(using: &random) {
            return String((0..<Int.random(in: 0...60, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        // Raw bytes, decoded leniently: replacement characters and controls.
        return String(decoding: random.bytes(Int.random(in: 0...60, using: &random)), as: UTF8.self)
    }

    @Test("5,000 mutated and random strings never crash OTPAuthURI.parse, and what parses is valid and re-formats")
    func otpauthFuzz() throws {
        var random = SplitMix64(seed: 0xF022)
        var accepted = 0
        for i in 0..<5_000 {
            let text = i.isMultiple(of: 4) ? Self.randomString(&random) : Self.mutate(Self.seeds.randomElement(using: &random)!, &random)
            guard let credential = try? OTPAuthURI.parse(text) else { continue }
            accepted += 1
            #expect(throws: Never.self, "\(text.debugDescription)") { try credential.validate() }
            // What parsed once must format to a URI that parses to an account
            // with the same id and secret.
            let again = try OTPAuthURI.parse(OTPAuthURI.format(credential))
            #expect(again.id == credential.id || again.id.description == credential.id.description, "\(text.debugDescription)")
            #expect(again.secret == credential.secret)
            #expect(again.kind == credential.kind && again.digits == credential.digits && again.algorithm == credential.algorithm)
        }
        #expect(accepted > 100, "the mutations should keep some URIs valid, or the fuzz tests nothing")
    }

    @Test("5,000 random strings never crash Base32.decode, and what decodes re-encodes to the same bytes")
    func base32Fuzz() throws {
        var random = SplitMix64(seed: 0xB32F)
        let base32Alphabet: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcxyz= -\t189!é")
        var accepted = 0
        for i in 0..<5_000 {
            let text = i.isMultiple(of: 3)
                ? Self.randomString(&random)
                : String((0..<Int.random(in: 0...40, using: &random)).map { _ in base32Alphabet.randomElement(using: &random)! })
            guard let bytes = try? Base32.decode(text) else { continue }
            accepted += 1
            #expect(!bytes.isEmpty)
            #expect(try Base32.decode(Base32.encode(bytes)) == bytes)
        }
        #expect(accepted > 100)
    }

    @Test("5,000 random strings never crash CredentialID(parsing:), and HOTP ids format back unchanged")
    func credentialIDFuzz() {
        var random = SplitMix64(seed: 0x1DF)
        for _ in 0..<5_000 {
            let text = Self.randomString(&random)
            let totp = CredentialID(parsing: text, isTOTP: true)
            let hotp = CredentialID(parsing: text, isTOTP: false)
            #expect(hotp.description == text, "\(text.debugDescription)")
            #expect(hotp.period == nil)
            // A TOTP id is an optional "digits/" prefix, then what HOTP would see.
            let unprefixed = CredentialID(issuer: totp.issuer, name: totp.name, period: nil).description
            #expect(text.hasSuffix(unprefixed), "\(text.debugDescription)")
            let prefix = unprefixed == text ? Substring("") : text.dropLast(unprefixed.count)
            if prefix.isEmpty {
                #expect(totp.period == 30)
            } else {
                #expect(prefix.last == "/" && Int(prefix.dropLast()) == totp.period, "\(text.debugDescription)")
                #expect(prefix.dropLast().allSatisfy { $0.isASCII && $0.isNumber })
            }
        }
    }
}
