import Foundation
import TestSupport
import Testing

@testable import STS

@Suite("Timestamps")
struct TimestampTests {
    @Test("ISO-8601 with 0, 3, 6 or any number of fraction digits, Z or an offset")
    func iso8601() throws {
        let base = 1_310_414_129.0  // 2011-07-11T19:55:29Z
        let cases: [(String, Double)] = [
            ("2011-07-11T19:55:29Z", base),
            ("2011-07-11T19:55:29.611Z", base + 0.611),
            ("2011-07-11T19:55:29.611000Z", base + 0.611),
            ("2011-07-11T19:55:29.5Z", base + 0.5),
            ("2011-07-11T19:55:29.123456789123Z", base + 0.123456789),
            ("2011-07-11t19:55:29z", base),
            ("2011-07-11T21:55:29+02:00", base),
            ("2011-07-11T21:55:29.25+0200", base + 0.25),
            ("2011-07-11T14:25:29-05:30", base),
            ("2024-02-29T23:59:59Z", 1_709_251_199),
        ]
        for (text, expected) in cases {
            let date = try #require(AWSTimestamp.parseISO8601(text), "\(text)")
            #expect(abs(date.timeIntervalSince1970 - expected) < 0.000_01, "\(text)")
        }
    }

    @Test("Malformed or impossible ISO-8601 timestamps are refused")
    func iso8601Invalid() {
        for text in [
            "", "2011-07-11", "2011-07-11T19:55:29", "2011-07-11T19:55Z", "2011-07-11 19:55:29Z",
            "2011-7-11T19:55:29Z", "2011-07-11T19:55:29.Z", "2011-07-11T19:55:29ZZ",
            "2011-07-11T19:55:29+2:00", "2011-07-11T19:55:29+24:00", "2011-07-11T19:55:29+02:60",
            "2011-13-11T19:55:29Z", "2011-02-29T19:55:29Z", "2011-07-11T24:00:00Z", "2011-07-11T19:60:29Z",
            "2011-07-11T19:55:61Z", "+2011-07-11T19:55:29Z", "２０１１-07-11T19:55:29Z", "2011-07-11T19:55:29Z ",
        ] {
            #expect(AWSTimestamp.parseISO8601(text) == nil, "\(text)")
        }
    }

    @Test("Random instants agree with Foundation's ISO8601DateFormatter, with and without fractions")
    func iso8601AgreesWithFoundation() throws {
        var random = SplitMix64(seed: 0x1500_8601)
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for _ in 0..<3000 {
            let seconds = Double(Int64.random(in: 0...4_102_444_800, using: &random))
            let date = Date(timeIntervalSince1970: seconds + Double(Int.random(in: 0..<1000, using: &random)) / 1000)
            for formatter in [plain, fractional] {
                let text = formatter.string(from: date)
                let mine = try #require(AWSTimestamp.parseISO8601(text), "\(text)")
                let theirs = try #require(formatter.date(from: text))
                #expect(abs(mine.timeIntervalSince1970 - theirs.timeIntervalSince1970) < 0.000_5, "\(text)")
            }
            #expect(AWSTimestamp.iso8601(date) == plain.string(from: date))
        }
    }

    @Test("IMF-fixdate HTTP Date headers parse; other forms and bad fields are refused")
    func httpDate() throws {
        #expect(AWSTimestamp.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT")?.timeIntervalSince1970 == 784_111_777)
        #expect(AWSTimestamp.parseHTTPDate("Tue, 01 Sep 2026 10:00:00 GMT") != nil)
        for text in [
            "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun 06 Nov 1994 08:49:37 GMT ",
            "", "Sun, 06 Nov 1994 08:49:37 GMTX",
        ] {
            #expect(AWSTimestamp.parseHTTPDate(text) == nil, "\(text)")
        }
    }

    @Test("HTTP dates agree with Foundation for random instants, and a response's Date gives the clock offset")
    func httpDateAgreesAndOffset() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var random = SplitMix64(seed: 0x7231)
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800, using: &random)))
            #expect(AWSTimestamp.parseHTTPDate(formatter.string(from: date)) == date, "\(formatter.string(from: date))")
        }
        let response = xmlResponse(
            403, Fixtures.errorAWS(code: "SignatureDoesNotMatch", message: "Signature expired"),
            date: "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(response.date?.timeIntervalSince1970 == 784_111_777)
        do {
            _ = try GetSessionTokenResult(parsing: response)
            Issue.record("an error response decoded")
        } catch {
            let offset = error.serviceError?.clockOffset(from: Date(timeIntervalSince1970: 784_111_777 - 1200))
            #expect(offset == 1200)
        }
    }
}

@Suite("Timestamp parser robustness")
struct TimestampFuzzTests {
    @Test("Random and mutated timestamp texts never crash either parser, and what parses lies in 0000–9999")
    func fuzz() {
        var random = SplitMix64(seed: 0xDA7E_F022)
        let seeds = ["2011-07-11T19:55:29.611Z", "2026-11-22T11:03:12.494400+05:30", "Sun, 06 Nov 1994 08:49:37 GMT"]
        let alphabet = Array("0123456789-:T.Z+ ,GMTSunNov".unicodeScalars) + ["\u{0}", "é", "９"]
        for round in 0..<20_000 {
            var scalars = Array((seeds.randomElement(using: &random) ?? "").unicodeScalars)
            if round % 3 == 0 {
                scalars = (0..<Int.random(in: 0...35, using: &random)).map { _ in
                    alphabet.randomElement(using: &random) ?? "0"
                }
            } else {
                for _ in 0..<Int.random(in: 1...3, using: &random) where !scalars.isEmpty {
                    let at = Int.random(in: 0..<scalars.count, using: &random)
                    if Bool.random(using: &random) {
                        scalars[at] = alphabet.randomElement(using: &random) ?? "0"
                    } else {
                        scalars.remove(at: at)
                    }
                }
            }
            let text = String(String.UnicodeScalarView(scalars))
            for date in [AWSTimestamp.parseISO8601(text), AWSTimestamp.parseHTTPDate(text)].compactMap({ $0 }) {
                #expect(date.timeIntervalSince1970 > -62_167_300_000 && date.timeIntervalSince1970 < 253_402_400_000)
            }
        }
    }
}
