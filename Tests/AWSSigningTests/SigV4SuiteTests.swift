import Foundation
import Testing

@testable import AWSSigning

/// The AWS SigV4 test suite (see `Vectors/README.md`): each case's request is
/// signed and the canonical request, string to sign and `Authorization`
/// header are compared with the published files.
@Suite("SigV4 test suite")
struct SigV4SuiteTests {
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")
    static let suiteTime: Int64 = 1_440_938_160  // 2015-08-30T12:36:00Z
    static let accessKey = "AKIDEXAMPLE"
    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// Every case directory under Vectors/ (those holding a `.req` file).
    static let cases: [String] = {
        let root = vectors.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var names: [String] = []
        while let item = walker.nextObject() as? String {
            if item.hasSuffix(".req") { names.append((item as NSString).deletingLastPathComponent) }
        }
        return names.sorted()
    }()

    struct Case {
        var request: SigV4Request
        var token: String?
        var canonicalRequest: String
        var stringToSign: String
        var authorization: String
    }

    static func load(_ name: String) throws -> Case {
        let base = vectors.appendingPathComponent(name).appendingPathComponent((name as NSString).lastPathComponent)
        func read(_ ext: String) throws -> String {
            try String(contentsOf: base.appendingPathExtension(ext), encoding: .utf8)
        }
        let creq = try read("creq")
        let token = creq.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
            .map { String($0.dropFirst("x-amz-security-token:".count)) }
        return Case(
            request: try RawRequest.parse(read("req")), token: token, canonicalRequest: creq,
            stringToSign: try read("sts"), authorization: try read("authz"))
    }

    @Test("The vectors directory holds the cases the brief names, and more")
    func suiteIsPresent() {
        for required in [
            "post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters", "get-vanilla",
            "get-vanilla-query-order-key-case", "post-vanilla", "post-header-key-sort", "get-header-value-trim",
            "post-sts-token/post-sts-header-before", "post-sts-token/post-sts-header-after",
        ] {
            #expect(Self.cases.contains(required), "missing vector \(required)")
        }
        #expect(Self.cases.count >= 30)
    }

    @Test(
        "Each suite case gives the published canonical request, string to sign and Authorization header",
        arguments: cases)
    func suiteCase(_ name: String) throws {
        let vector = try Self.load(name)
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: Self.accessKey, secretAccessKey: Self.secretKey,
                sessionToken: vector.token),
            region: "us-east-1", service: "service")
        let signed = signer.sign(vector.request, secondsSince1970: Self.suiteTime)
        #expect(signed.canonicalRequest == vector.canonicalRequest)
        #expect(signed.stringToSign == vector.stringToSign)
        #expect(signed.authorization == vector.authorization)
        #expect(signed.headers.value(of: "authorization") == vector.authorization)
        #expect(signed.headers.value(of: "x-amz-date") == "20150830T123600Z")
    }

    @Test("post-x-www-form-urlencoded signs to REFERENCE §5's ff118979… signature")
    func referenceExample() throws {
        let vector = try Self.load("post-x-www-form-urlencoded")
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: Self.accessKey, secretAccessKey: Self.secretKey),
            region: "us-east-1", service: "service")
        let signed = signer.sign(vector.request, secondsSince1970: Self.suiteTime)
        #expect(signed.signature == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
        #expect(
            signed.canonicalRequest.hasSuffix(
                "\ncontent-type;host;x-amz-date\n"
                    + "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"))
    }

    @Test("post-sts-header-after: a token added after signing leaves the signature that of post-vanilla")
    func tokenAfterSigning() throws {
        let after = try Self.load("post-sts-token/post-sts-header-after")
        let vanilla = try Self.load("post-vanilla")
        #expect(after.authorization == vanilla.authorization)
        #expect(after.token == nil)
    }

    @Test("Temporary credentials put X-Amz-Security-Token into the signed headers, replacing any stale one")
    func tokenIsSigned() throws {
        var vector = try Self.load("post-vanilla")
        vector.request.headers.append(HTTPField("x-amz-security-token", "stale"))
        let token =
            "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: Self.accessKey, secretAccessKey: Self.secretKey,
                sessionToken: token),
            region: "us-east-1", service: "service")
        let signed = signer.sign(vector.request, secondsSince1970: Self.suiteTime)
        // The same token as post-sts-header-before, so the same signature.
        let before = try Self.load("post-sts-token/post-sts-header-before")
        #expect(signed.authorization == before.authorization)
        #expect(signed.headers.filter { $0.lowercasedName == "x-amz-security-token" }.map(\.value) == [token])
    }
}

/// Reads a suite `.req` file: `METHOD target HTTP/1.1`, header lines (an
/// indented line continues the previous header), a blank line, the body.
enum RawRequest {
    struct Malformed: Error {}

    static func parse(_ text: String) throws -> SigV4Request {
        var lines = text.components(separatedBy: "\n")
        guard !lines.isEmpty else { throw Malformed() }
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " "),
            firstSpace < lastSpace
        else { throw Malformed() }
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])

        var headers: [HTTPField] = []
        var bodyLines: [String]? = nil
        for line in lines {
            if bodyLines != nil {
                bodyLines?.append(line)
            } else if line.isEmpty {
                bodyLines = []
            } else if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { throw Malformed() }
                headers[headers.count - 1].value += "\n" + line
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw Malformed() }
                headers.append(HTTPField(String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }

        var path = target
        var query: [SigV4Request.QueryItem] = []
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            for pair in target[target.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = try decode(String(parts[0]))
                let value = parts.count > 1 ? try decode(String(parts[1])) : ""
                query.append(.init(name, value))
            }
        }
        return SigV4Request(
            method: method, path: try decode(path), query: query, headers: headers,
            body: Array((bodyLines ?? []).joined(separator: "\n").utf8))
    }

    static func decode(_ text: String) throws -> String {
        guard let decoded = text.removingPercentEncoding else { throw Malformed() }
        return decoded
    }
}
