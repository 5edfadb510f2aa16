import Foundation
import TestSupport
import Testing

@testable import AWSSigning

@Suite("SigV4 building blocks")
struct SigV4PartsTests {
    @Test("The signing key chain gives AWS's documented example key for 20120215/us-east-1/iam")
    func documentedSigningKey() {
        let key = SigV4Signer.signingKey(
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", dateStamp: "20120215",
            region: "us-east-1", service: "iam")
        let bytes = key.withUnsafeBytes { Array($0) }
        #expect(lowercaseHex(bytes) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test("Percent-encoding keeps only RFC 3986 unreserved bytes and upper-cases the hex")
    func percentEncoding() {
        #expect(AWSPercentEncoding.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(AWSPercentEncoding.encode("a b+c=d&e/f:g") == "a%20b%2Bc%3Dd%26e%2Ff%3Ag")
        #expect(AWSPercentEncoding.encode("/a b/", keepSlash: true) == "/a%20b/")
        #expect(AWSPercentEncoding.encode("\u{1234}") == "%E1%88%B4")
        #expect(AWSPercentEncoding.encode("*") == "%2A")
        #expect(AWSPercentEncoding.encode("") == "")
    }

    @Test("Every byte value is encoded exactly as Foundation's strict RFC 3986 allowed set would")
    func percentEncodingAllBytes() {
        var unreserved = CharacterSet()
        unreserved.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        for scalar in (1...0x7F).compactMap(Unicode.Scalar.init) + ["é", "😀", "\u{10FFFF}"] {
            let text = String(scalar)
            #expect(AWSPercentEncoding.encode(text) == text.addingPercentEncoding(withAllowedCharacters: unreserved))
        }
    }

    @Test("Canonical URIs drop dot segments and repeated slashes and keep a trailing slash")
    func canonicalURI() {
        #expect(SigV4Signer.canonicalURI("") == "/")
        #expect(SigV4Signer.canonicalURI("/") == "/")
        #expect(SigV4Signer.canonicalURI("//example//") == "/example/")
        #expect(SigV4Signer.canonicalURI("/a/b/../c/./d") == "/a/c/d")
        #expect(SigV4Signer.canonicalURI("/../../x") == "/x")
        #expect(SigV4Signer.canonicalURI("/sts/") == "/sts/")
        #expect(SigV4Signer.canonicalURI("/a b/$") == "/a%20b/%24")
    }

    @Test("Canonical query strings sort by encoded name then value and keep empty values")
    func canonicalQuery() {
        let items: [SigV4Request.QueryItem] = [
            .init("b", "2"), .init("a", ""), .init("B", "1"), .init("a", "z"),
            .init("a", "A"), .init("~", "x y"),
        ]
        #expect(SigV4Signer.canonicalQuery(items) == "B=1&a=&a=A&a=z&b=2&~=x%20y")
        #expect(SigV4Signer.canonicalQuery([]) == "")
    }

    @Test("Header values are trimmed and inner whitespace runs collapse to one space")
    func headerTrimming() {
        #expect(SigV4Signer.collapseWhitespace("  a \t b\n\n c  ") == "a b c")
        #expect(SigV4Signer.collapseWhitespace("") == "")
        #expect(SigV4Signer.collapseWhitespace(" \t ") == "")
        #expect(SigV4Signer.collapseWhitespace("\"a   b\"") == "\"a b\"")
    }

    @Test("The query-API POST signs content-type;host;x-amz-date, plus x-amz-security-token with a session token")
    func queryAPISignedHeaders() {
        let request = SigV4Request(
            method: "POST",
            headers: [
                HTTPField("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                HTTPField("Host", "sts.eu-west-1.amazonaws.com"),
            ],
            body: Array("Action=GetCallerIdentity&Version=2011-06-15".utf8))
        let long = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s"),
            region: "eu-west-1", service: "sts")
        #expect(
            long.sign(request, secondsSince1970: 0).authorization.contains(
                "Credential=AKID/19700101/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, "))
        var temporary = long
        temporary.credentials.sessionToken = "token"
        #expect(
            temporary.sign(request, secondsSince1970: 0).authorization.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "))
    }

    @Test("Credentials never show the secret key or session token in descriptions or dumps")
    func credentialsRedacted() {
        let credentials = AWSCredentials(
            accessKeyID: "ASIAEXAMPLE", secretAccessKey: "SECRETSECRET",
            sessionToken: "TOKENTOKEN")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [
            credentials.description, String(describing: credentials), String(reflecting: credentials),
            "\(credentials)", dumped,
        ] {
            #expect(text.contains("ASIAEXAMPLE"))
            #expect(!text.contains("SECRETSECRET"))
            #expect(!text.contains("TOKENTOKEN"))
        }
    }
}

@Suite("UTC date-time arithmetic")
struct UTCDateTimeTests {
    @Test("Known instants convert both ways")
    func knownInstants() {
        let cases: [(Int64, UTCDateTime)] = [
            (0, UTCDateTime(year: 1970, month: 1, day: 1)),
            (-1, UTCDateTime(year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59)),
            (951_782_400, UTCDateTime(year: 2000, month: 2, day: 29)),
            (1_440_938_160, UTCDateTime(year: 2015, month: 8, day: 30, hour: 12, minute: 36)),
            (253_402_300_799, UTCDateTime(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59)),
            (-62_167_219_200, UTCDateTime(year: 0, month: 1, day: 1)),
        ]
        for (seconds, date) in cases {
            #expect(UTCDateTime(secondsSince1970: seconds) == date)
            #expect(date.secondsSince1970 == seconds)
        }
        #expect(UTCDateTime(secondsSince1970: 1_440_938_160).amzDate == "20150830T123600Z")
        #expect(UTCDateTime(secondsSince1970: 1_440_938_160).dateStamp == "20150830")
        #expect(UTCDateTime(secondsSince1970: 1_440_938_160).iso8601 == "2015-08-30T12:36:00Z")
    }

    @Test("Out-of-range fields have no epoch value")
    func invalidFields() {
        #expect(UTCDateTime(year: 2023, month: 2, day: 29).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2024, month: 2, day: 29).secondsSince1970 != nil)
        #expect(UTCDateTime(year: 1900, month: 2, day: 29).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2023, month: 4, day: 31).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2023, month: 13, day: 1).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2023, month: 0, day: 1).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2023, month: 1, day: 0).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2023, month: 1, day: 1, hour: 24).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 2023, month: 1, day: 1, minute: 60).secondsSince1970 == nil)
        #expect(UTCDateTime(year: 10000, month: 1, day: 1).secondsSince1970 == nil)
    }

    /// Foundation's Gregorian calendar switches to the Julian one before
    /// 15 October 1582, so the comparison starts in 1600.
    @Test("Random instants from 1600 to 9999 agree with Foundation's Gregorian calendar; extremes do not trap")
    func agreesWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<5000 {
            let seconds = Int64.random(in: -11_676_096_000...253_402_300_799, using: &random)
            let mine = UTCDateTime(secondsSince1970: seconds)
            let theirs = calendar.dateComponents(
                [.year, .month, .day, .hour, .minute, .second],
                from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(
                [mine.year, mine.month, mine.day, mine.hour, mine.minute, mine.second]
                    == [theirs.year, theirs.month, theirs.day, theirs.hour, theirs.minute, theirs.second])
            #expect(mine.secondsSince1970 == seconds)
        }
        _ = UTCDateTime(secondsSince1970: .max).amzDate
        _ = UTCDateTime(secondsSince1970: .min).amzDate
    }
}

