import LoopbackHTTP
import Testing

/// The request parser on its own: what botocore and the AWS CLI send, and
/// each way a head is refused.
@Suite("HTTP request heads")
struct RequestHeadTests {
    static let botocore = Array(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:41873\r\nAccept-Encoding: identity\r\nAccept: application/json\r\nAuthorization: 0123abcd\r\nUser-Agent: Botocore/1.34\r\n\r\n"
            .utf8)

    @Test("botocore's GET parses: method, target, version, fields in order, names without case")
    func botocoreRequest() throws {
        let head = try #require(try HTTPRequestHead.parse(Self.botocore[...]))
        #expect(head.method == "GET" && head.target == "/" && head.version == "HTTP/1.1")
        #expect(head.fields.map(\.name) == ["Host", "Accept-Encoding", "Accept", "Authorization", "User-Agent"])
        #expect(head.values(named: "authorization") == ["0123abcd"])
        #expect(head.values(named: "X-Missing").isEmpty)
    }

    @Test("every proper prefix of a head is incomplete, not an error")
    func prefixesAreIncomplete() throws {
        for end in 0..<Self.botocore.count {
            #expect(try HTTPRequestHead.parse(Self.botocore[..<end]) == nil, "prefix of \(end) bytes")
        }
    }

    @Test("values lose surrounding blanks, keep inner ones; an empty value is allowed")
    func blanks() throws {
        let head = try #require(try HTTPRequestHead.parse(Array("GET /x HTTP/1.0\r\nA: \t one two \t\r\nB:\r\n\r\n".utf8)[...]))
        #expect(head.values(named: "a") == ["one two"] && head.values(named: "b") == [""] && head.version == "HTTP/1.0")
    }

    @Test(
        "malformed heads are refused with the status they earn",
        arguments: [
            ("GET / HTTP/1.1\nHost: x\n\n\r\n\r\n", HTTPRequestHead.ParseError.malformedRequestLine),
            ("get / HTTP/1.1\r\n\r\n", .malformedRequestLine),
            ("GET  / HTTP/1.1\r\n\r\n", .malformedRequestLine),
            ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
            ("GET / FTP/1.1\r\n\r\n", .malformedRequestLine),
            ("GET /\u{7f} HTTP/1.1\r\n\r\n", .malformedRequestLine),
            ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\n: empty name\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nA: x\r\n folded\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nA: x\u{1}y\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nA: caf\u{e9}\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", .bodyNotAllowed),
            ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", .bodyNotAllowed),
            ("GET / HTTP/1.1\r\n\r\nhello", .bodyNotAllowed),
        ])
    func refused(text: String, error: HTTPRequestHead.ParseError) {
        #expect(throws: error) { try HTTPRequestHead.parse(Array(text.utf8)[...]) }
    }

    @Test("Content-Length: 0 is no body")
    func zeroLength() throws {
        #expect(try HTTPRequestHead.parse(Array("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8)[...]) != nil)
    }

    @Test("size limits: a head without an end past the limit, a head over it, too many fields")
    func limits() throws {
        let limits = HTTPRequestHead.Limits(maximumHeadBytes: 64, maximumFields: 2)
        let endless = Array("GET / HTTP/1.1\r\nA: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 60)
        #expect(throws: HTTPRequestHead.ParseError.headTooLarge) { try HTTPRequestHead.parse(endless[...], limits: limits) }
        #expect(try HTTPRequestHead.parse(endless.prefix(63), limits: limits) == nil)
        let long = Array("GET / HTTP/1.1\r\nA: \(String(repeating: "a", count: 60))\r\n\r\n".utf8)
        #expect(throws: HTTPRequestHead.ParseError.headTooLarge) { try HTTPRequestHead.parse(long[...], limits: limits) }
        let many = Array("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".utf8)
        #expect(throws: HTTPRequestHead.ParseError.tooManyFields) { try HTTPRequestHead.parse(many[...], limits: limits) }
        #expect(HTTPRequestHead.ParseError.headTooLarge.status == 431 && HTTPRequestHead.ParseError.bodyNotAllowed.status == 413)
    }

    @Test("a parse of a slice that does not start at index 0 reads the same")
    func sliceIndices() throws {
        let padded = Array("xxxx".utf8) + Self.botocore
        let head = try #require(try HTTPRequestHead.parse(padded[4...]))
        #expect(head == (try HTTPRequestHead.parse(Self.botocore[...])))
    }
}
