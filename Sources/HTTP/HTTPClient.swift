import CCurlShim

/// One HTTP request: a GET when `body` is `nil`, else a POST.
public struct HTTPRequest: Sendable {
    public var url: String
    /// Sent as given, in order. A `Host` header given here is the one sent
    /// (SigV4 signs it, so it must match).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// The final response's headers (after any 100 Continue).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Splits a raw header block into the last response's header lines.
    static func parseHeaders(_ raw: String) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for line in raw.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            if line.hasPrefix("HTTP/") { result = []; continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).trimmingSpaces()
            let value = String(line[line.index(after: colon)...]).trimmingSpaces()
            result.append((name, value))
        }
        return result
    }
}

/// A failed exchange: nothing usable came back.
public struct HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case libraryUnavailable, timedOut, cannotResolve, cannotConnect, tls, responseTooLarge, other
    }

    public var kind: Kind
    public var url: String
    public var message: String

    public var description: String {
        switch kind {
        case .libraryUnavailable: "cannot make HTTP requests: \(message)"
        case .timedOut: "\(url) did not answer in time (\(message))"
        case .cannotResolve: "cannot resolve the host of \(url) (\(message))"
        case .cannotConnect: "cannot connect to \(url) (\(message))"
        case .tls: "TLS with \(url) failed: \(message)"
        case .responseTooLarge: "the response from \(url) is larger than expected"
        case .other: "request to \(url) failed: \(message)"
        }
    }
}

/// HTTP through libcurl, loaded with `dlopen` the first time a request is
/// made: commands that make no request never load it. TLS certificates and
/// host names are always verified; redirects are not followed.
public struct CurlHTTPClient: Sendable {
    public var timeoutMilliseconds: Int
    public var connectTimeoutMilliseconds: Int
    public var maximumResponseBytes: Int
    /// A CA bundle (PEM file) to verify servers against instead of the
    /// system's (`AWS_CA_BUNDLE`, `ca_bundle`). The corresponding libcurl
    /// option is `CURLOPT_CAINFO`.
    public var caBundlePath: String?

    public init(timeoutMilliseconds: Int = 15_000, connectTimeoutMilliseconds: Int = 5_000, maximumResponseBytes: Int = 1 << 20) {
        self.timeoutMilliseconds = timeoutMilliseconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.maximumResponseBytes = maximumResponseBytes
    }

    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        // "Expect:" stops curl from waiting for 100 Continue on larger bodies.
        let lines = request.headers.map { "\($0.name): \($0.value)" } + ["Expect:"]
        var raw = latchkey_http_response()
        defer { latchkey_http_response_free(&raw) }
        let code = withCStrings(lines) { pointers in
            pointers.withUnsafeBufferPointer { headerArray in
                let body = request.body ?? []
                return body.withUnsafeBufferPointer { bodyPointer in
                    latchkey_http_request(
                        request.url, headerArray.baseAddress, headerArray.count,
                        request.body == nil ? nil : (bodyPointer.baseAddress ?? UnsafePointer(bitPattern: 1)), body.count,
                        timeoutMilliseconds, connectTimeoutMilliseconds, maximumResponseBytes, caBundlePath, &raw)
                }
            }
        }
        let message = withUnsafeBytes(of: raw.error) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        guard code == 0 else {
            throw HTTPError(kind: CurlHTTPClient.kind(of: code), url: request.url, message: message)
        }
        let body = raw.body.map { Array(UnsafeBufferPointer(start: $0, count: raw.body_length)) } ?? []
        let headerText = raw.headers.map { String(cString: $0) } ?? ""
        return HTTPResponse(status: Int(raw.status), headers: HTTPResponse.parseHeaders(headerText), body: body)
    }

    /// CURLcode values (curl.h) grouped into what a person can act on.
    static func kind(of code: Int32) -> HTTPError.Kind {
        switch code {
        case -1: .libraryUnavailable
        case 28: .timedOut  // CURLE_OPERATION_TIMEDOUT
        case 5, 6: .cannotResolve  // proxy, host
        case 7: .cannotConnect  // CURLE_COULDNT_CONNECT
        case 35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91: .tls
        case 23, 63: .responseTooLarge  // write refused by the size limit
        default: .other
        }
    }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let owned: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for pointer in owned { free(pointer) } }
    return body(owned.map { UnsafePointer($0) })
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while scalars.first == " " || scalars.first == "\t" { scalars.removeFirst() }
        while scalars.last == " " || scalars.last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
