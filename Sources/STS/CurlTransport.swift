import AWSSigning
import HTTP

/// The real transport: each POST (and `doctor`'s GET) through libcurl
/// (``CurlHTTPClient``).
///
/// The signed headers go out exactly as given, `Host` included, followed by
/// `User-Agent` when ``userAgent`` is set and the request has none; libcurl
/// adds `Content-Length` and `Accept` (neither is signed). The body is sent
/// byte for byte. When nothing usable comes back the ``HTTPError`` is thrown
/// as is, and ``STSClient`` / ``IAMClient`` report it as
/// ``STSClientError/transport(_:)``; any status with a body is a response.
/// A header libcurl could not send as signed throws ``UnsendableHeader``
/// (also a transport error to the clients) before anything is sent.
///
///     let client = STSClient(credentials: keys, endpoint: endpoint, transport: CurlTransport())
public struct CurlTransport: HTTPTransport, Sendable {
    public var client: CurlHTTPClient
    public var userAgent: String?

    public init(client: CurlHTTPClient = CurlHTTPClient(), userAgent: String? = "latchkey") {
        self.client = client
        self.userAgent = userAgent
    }

    public func trusting(caBundle path: String?) -> any HTTPTransport {
        var copy = self
        copy.client.caBundlePath = path
        return copy
    }

    /// A header that would not reach the server as signed.
    public struct UnsendableHeader: Error, Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var problem: String
        public var description: String { "cannot send the header \(name): it \(problem)" }
    }

    public func post(url: String, headers: [HTTPField], body: [UInt8]) throws -> TransportResponse {
        var fields = headers
        if let userAgent, fields.value(of: "User-Agent") == nil {
            fields.append(HTTPField("User-Agent", userAgent))
        }
        for field in fields {
            // libcurl drops a header whose value is empty (that is how it is
            // told to remove one), and CR, LF or NUL would split or cut the
            // line: either way the server would not see what was signed.
            if let problem = Self.problem(with: field) {
                throw UnsendableHeader(name: Self.printable(field.name), problem: problem)
            }
        }
        let response = try client.send(
            HTTPRequest(url: url, headers: fields.map { (name: $0.name, value: $0.value) }, body: body))
        return Self.transportResponse(response)
    }

    public func get(url: String, timeoutMilliseconds: Int) throws -> TransportResponse {
        var bounded = client
        bounded.timeoutMilliseconds = min(client.timeoutMilliseconds, timeoutMilliseconds)
        bounded.connectTimeoutMilliseconds = min(client.connectTimeoutMilliseconds, bounded.timeoutMilliseconds)
        let headers = userAgent.map { [(name: "User-Agent", value: $0)] } ?? []
        let response = try bounded.send(HTTPRequest(url: url, headers: headers))
        return Self.transportResponse(response)
    }

    private static func transportResponse(_ response: HTTPResponse) -> TransportResponse {
        TransportResponse(
            status: response.status, headers: response.headers.map { HTTPField($0.name, $0.value) },
            body: response.body)
    }

    static func problem(with field: HTTPField) -> String? {
        let isToken: (UInt8) -> Bool = { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
        guard !field.name.isEmpty, field.name.utf8.allSatisfy(isToken) else { return "has an invalid name" }
        if field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
            return "has a line break or NUL in its value"
        }
        if field.value.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return "has an empty value" }
        return nil
    }

    static func printable(_ name: String) -> String {
        String(decoding: name.utf8.prefix(64).map { $0 > 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
