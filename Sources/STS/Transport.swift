import AWSSigning
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Sends one HTTP request and returns the response, whatever its status:
/// signed POSTs to STS and IAM, and the unsigned GET with which `doctor`
/// reads STS's clock.
///
/// A POST's headers are complete and signed; the transport adds
/// `Content-Length` and may add `User-Agent`, and must send the body as is.
/// It throws only when there is no response (connection, TLS, timeout).
public protocol HTTPTransport {
    func post(url: String, headers: [HTTPField], body: [UInt8]) throws -> TransportResponse
    /// A GET without credentials that gives up after `timeoutMilliseconds`
    /// when that is shorter than the transport's own limit.
    func get(url: String, timeoutMilliseconds: Int) throws -> TransportResponse
    /// This transport verifying TLS servers against the CA bundle at `path`
    /// (`nil`: the system's). Transports without TLS return themselves.
    func trusting(caBundle path: String?) -> any HTTPTransport
}

extension HTTPTransport {
    public func trusting(caBundle path: String?) -> any HTTPTransport { self }

    /// Stand-ins that play STS answer POSTs only.
    public func get(url: String, timeoutMilliseconds: Int) throws -> TransportResponse {
        throw GetNotServed(url: url)
    }
}

/// What a transport that answers POSTs only throws for a GET.
public struct GetNotServed: Error, Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var description: String { "this transport sends no GET (\(url))" }
}

/// The time source for signing and the waits between attempts.
public protocol RequestClock {
    func now() -> Date
    func sleep(for duration: Duration)
}

extension RequestClock {
    /// Whole seconds since the Unix epoch (TOTP steps, cache expiry).
    public var unixTime: UInt64 { UInt64(max(0, now().timeIntervalSince1970.rounded(.down))) }
}

/// The real clock. The corresponding C function for ``sleep(for:)`` is `nanosleep`.
public struct SystemClock: RequestClock, Sendable {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return }
        var request = timespec(tv_sec: Int(clamping: seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// An HTTP response as the transport hands it over.
public struct TransportResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [HTTPField]
    public var body: [UInt8]

    public init(status: Int, headers: [HTTPField] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The `Date` header as an instant, when present and well-formed.
    public var date: Date? { headers.value(of: "Date").flatMap { AWSTimestamp.parseHTTPDate($0) } }
}
