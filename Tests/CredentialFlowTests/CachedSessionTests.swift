import AWSSigning
import TestSupport
import Testing

@testable import SessionCache

@Suite("CachedSession: the cache file format")
struct CachedSessionTests {
    static let full = CachedSession(
        credentials: AWSCredentials(
            accessKeyID: "ASIAEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            sessionToken: "AQoDYXdzEPT//////////wEXAMPLE+token="),
        expiration: 1_800_000_000, arn: "arn:aws:sts::123456789012:assumed-role/admin/alice", mfaSerial: aliceSerial)

    static let fullText = """
        latchkey-session 1
        expiration 1800000000
        access_key_id ASIAEXAMPLE
        secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY
        session_token AQoDYXdzEPT//////////wEXAMPLE+token=
        arn arn:aws:sts::123456789012:assumed-role/admin/alice
        mfa_serial arn:aws:iam::123456789012:mfa/alice
        end

        """

    static func parse(_ text: String) -> CachedSession? { CachedSession(parsing: Array(text.utf8)) }

    @Test("A session is written as the documented lines and read back equal")
    func roundTrip() {
        #expect(String(decoding: Self.full.serialized, as: UTF8.self) == Self.fullText)
        #expect(CachedSession(parsing: Self.full.serialized) == Self.full)
        let bare = CachedSession(credentials: AWSCredentials(accessKeyID: "AKIA", secretAccessKey: "s"), expiration: -5)
        #expect(
            String(decoding: bare.serialized, as: UTF8.self)
                == "latchkey-session 1\nexpiration -5\naccess_key_id AKIA\nsecret_access_key s\nend\n")
        #expect(CachedSession(parsing: bare.serialized) == bare)
    }

    @Test("Fields may come in any order")
    func anyOrder() {
        var lines = Self.fullText.split(separator: "\n").map(String.init)
        lines[1..<(lines.count - 1)].reverse()
        #expect(Self.parse(lines.joined(separator: "\n") + "\n") == Self.full)
    }

    @Test("Expiration helpers: seconds left and the credential_process time form")
    func expirationHelpers() {
        #expect(Self.full.secondsLeft(at: 1_799_999_000) == 1_000)
        #expect(Self.full.secondsLeft(at: 1_800_000_001) == -1)
        #expect(Self.full.expirationText == "2027-01-15T08:00:00Z")
        #expect(!Self.full.description.contains("wJalrXUtnFEMI"))
    }

    @Test(
        "Cut files, other versions and empty input are refused",
        arguments: [
            "", "\n", "latchkey-session 1\n", "latchkey-session 1",
            String(fullText.dropLast()),
            String(fullText.dropLast(10)),
            fullText.replacingOccurrences(of: "latchkey-session 1", with: "latchkey-session 2"),
            fullText.replacingOccurrences(of: "latchkey-session 1", with: "latchkey-session 1 "),
            fullText.replacingOccurrences(of: "latchkey-session 1", with: "Latchkey-session 1"),
            "\n" + fullText,
        ])
    func refusedShapes(_ text: String) {
        #expect(Self.parse(text) == nil)
    }

    @Test("Every cut of the file that does not end a line is refused")
    func everyCut() {
        let bytes = Self.full.serialized
        for length in 0..<bytes.count where length == 0 || bytes[length - 1] != UInt8(ascii: "\n") {
            #expect(CachedSession(parsing: Array(bytes[..<length])) == nil, "cut at \(length)")
        }
    }

    @Test("A file cut after a complete line is not taken for a session without its token")
    func cutAtLineEnd() {
        let cut = Self.fullText.components(separatedBy: "session_token")[0]
        #expect(cut.hasSuffix("secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY\n"))
        // Without its closing `end` line the file is not complete.
        #expect(Self.parse(cut) == nil)
    }

    @Test(
        "Control bytes, spaces and non-ASCII bytes in a value are refused",
        arguments: ["\t", "\r", "\u{1B}[31m", "\u{7F}", "\u{0}", " more", "é"])
    func badValueBytes(_ inserted: String) {
        #expect(
            Self.parse(Self.fullText.replacingOccurrences(of: "ASIAEXAMPLE", with: "ASIA" + inserted + "EXAMPLE"))
                == nil)
        #expect(Self.parse(Self.fullText.replacingOccurrences(of: "+token=", with: "+token=" + inserted)) == nil)
    }

    @Test("A line whose field name is damaged is refused, not skipped")
    func damagedName() {
        // An unknown (misspelt, bit-flipped) name would otherwise lose its value silently.
        #expect(Self.parse(Self.fullText.replacingOccurrences(of: "session_token ", with: "session_tokem ")) == nil)
        #expect(Self.parse(Self.fullText.replacingOccurrences(of: "arn arn", with: "a\u{1B}n arn")) == nil)
    }

    @Test("Duplicate, missing and empty fields, and a bad number, are refused")
    func badFields() {
        let text = Self.fullText
        #expect(Self.parse(text + "arn arn:aws:sts::123456789012:assumed-role/admin/alice\n") == nil)
        #expect(Self.parse(text + "expiration 1800000000\n") == nil)
        for name in ["expiration", "access_key_id", "secret_access_key"] {
            let without =
                text.split(separator: "\n").filter { !$0.hasPrefix(name + " ") }.joined(separator: "\n") + "\n"
            #expect(Self.parse(without) == nil, "without \(name)")
        }
        #expect(
            Self.parse(
                text.replacingOccurrences(of: "arn arn:aws:sts::123456789012:assumed-role/admin/alice", with: "arn "))
                == nil)
        #expect(
            Self.parse(
                text.replacingOccurrences(of: "arn arn:aws:sts::123456789012:assumed-role/admin/alice", with: "arn"))
                == nil)
        #expect(Self.parse(text.replacingOccurrences(of: "1800000000", with: "18e8")) == nil)
        #expect(Self.parse(text.replacingOccurrences(of: "1800000000", with: "99999999999999999999")) == nil)
        #expect(Self.parse(text.replacingOccurrences(of: "\narn ", with: "\n\narn ")) == nil)
    }

    @Test("More than 64 KiB is refused")
    func tooLong() {
        let token = String(repeating: "A", count: 64 << 10)
        #expect(Self.parse(Self.fullText.replacingOccurrences(of: "+token=", with: token)) == nil)
    }

    @Test("Seeded fuzz: 20,000 damaged files never crash and only yield sessions that round-trip")
    func fuzz() {
        var random = SplitMix64(seed: 0x1A7C_0E55)
        let original = Self.full.serialized
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                mutate(&bytes, using: &random)
            }
            guard let session = CachedSession(parsing: bytes) else { continue }
            accepted += 1
            let again = CachedSession(parsing: session.serialized)
            #expect(again == session, "round \(round): \(hex(bytes))")
            // Whatever was read stands in the input: nothing is made up.
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.contains(" \(session.credentials.accessKeyID)\n"), "round \(round)")
            #expect(text.contains(" \(session.credentials.secretAccessKey)\n"), "round \(round)")
        }
        // Some mutations (a flipped digit in the expiration, say) leave a valid file.
        #expect(accepted > 0)
        #expect(accepted < 20_000)
    }

    /// One random change: a flipped bit, a cut, an inserted byte (often a
    /// newline or a space), a removed byte, or a duplicated span.
    func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1:
            bytes.removeSubrange(position...)
        case 2:
            let choices: [UInt8] = [0x0A, 0x20, 0x00, 0x7F, 0x31, UInt8.random(in: 0...255, using: &random)]
            bytes.insert(choices[Int.random(in: 0..<choices.count, using: &random)], at: position)
        case 3 where !bytes.isEmpty:
            bytes.remove(at: position)
        default:
            let end = min(bytes.count, position + Int.random(in: 1...40, using: &random))
            bytes.insert(contentsOf: Array(bytes[position..<end]), at: position)
        }
    }
}
