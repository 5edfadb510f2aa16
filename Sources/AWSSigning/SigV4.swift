import Crypto

/// An HTTP request to be signed: the parts SigV4 covers.
///
/// `path` and the query items are given decoded; the signer encodes them.
/// The headers are signed as given (all of them except `Authorization`), so
/// a caller lists exactly the headers it will send: for the query API that
/// is `Content-Type` and `Host`, and the signer adds `X-Amz-Date` and, with
/// temporary credentials, `X-Amz-Security-Token`.
public struct SigV4Request: Sendable, Equatable {
    public struct QueryItem: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var method: String
    /// The decoded path, `/` for the query API.
    public var path: String
    public var query: [QueryItem]
    public var headers: [HTTPField]
    public var body: [UInt8]

    public init(
        method: String, path: String = "/", query: [QueryItem] = [], headers: [HTTPField], body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// The outcome of signing: the headers to send and the intermediate texts
/// (which tests compare with published vectors).
public struct SigV4Signature: Sendable, Equatable {
    /// The request's headers plus `X-Amz-Date`, `X-Amz-Security-Token` (with
    /// temporary credentials) and `Authorization`.
    public var headers: [HTTPField]
    public var canonicalRequest: String
    public var stringToSign: String
    /// 64 lower-case hex digits.
    public var signature: String
    /// `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
    /// SignedHeaders=host;x-amz-date, Signature=…`
    public var authorization: String
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) in the header form.
///
///     CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
///                        (lowercase-name:trimmed-value \n)* \n
///                        signed;header;names \n hex(SHA256(body))
///     StringToSign     = "AWS4-HMAC-SHA256" \n yyyyMMddTHHmmssZ \n
///                        yyyyMMdd/region/service/aws4_request \n
///                        hex(SHA256(CanonicalRequest))
///     SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyyMMdd),
///                        region), service), "aws4_request")
///     Signature        = hex(HMAC(SigningKey, StringToSign))
///
/// Header values are trimmed and runs of whitespace inside them become one
/// space; repeated headers are joined with `,` in the order given. Query
/// items are sorted by encoded name, then encoded value. The path has its
/// `.`/`..` segments and repeated slashes removed (as every service but S3
/// expects) and is then encoded once.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public static let algorithm = "AWS4-HMAC-SHA256"

    /// Signs `request` as of `time` (seconds since the epoch, UTC).
    public func sign(_ request: SigV4Request, secondsSince1970 time: Int64) -> SigV4Signature {
        let when = UTCDateTime(secondsSince1970: time)
        var headers = request.headers
        headers.removeAll(named: "authorization")
        headers.removeAll(named: "x-amz-date")
        headers.append(HTTPField("X-Amz-Date", when.amzDate))
        if let token = credentials.sessionToken {
            headers.removeAll(named: "x-amz-security-token")
            headers.append(HTTPField("X-Amz-Security-Token", token))
        }
        var unsigned = request
        unsigned.headers = headers
        let (canonical, signedHeaders) = Self.canonicalRequest(unsigned)
        let scope = "\(when.dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = Self.stringToSign(canonicalRequest: canonical, amzDate: when.amzDate, scope: scope)
        let key = Self.signingKey(
            secretAccessKey: credentials.secretAccessKey, dateStamp: when.dateStamp,
            region: region, service: service)
        let signature = lowercaseHex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        headers.append(HTTPField("Authorization", authorization))
        return SigV4Signature(
            headers: headers, canonicalRequest: canonical, stringToSign: stringToSign, signature: signature,
            authorization: authorization)
    }

    // MARK: - The steps, each on its own for tests

    /// The canonical request and the `;`-joined signed header names.
    public static func canonicalRequest(_ request: SigV4Request) -> (text: String, signedHeaders: String) {
        var grouped: [String: [String]] = [:]
        for field in request.headers {
            let name = field.lowercasedName
            guard name != "authorization" else { continue }
            grouped[name, default: []].append(collapseWhitespace(field.value))
        }
        let names = grouped.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var text = request.method + "\n" + canonicalURI(request.path) + "\n" + canonicalQuery(request.query) + "\n"
        for name in names {
            text += name + ":" + (grouped[name] ?? []).joined(separator: ",") + "\n"
        }
        let signedHeaders = names.joined(separator: ";")
        text += "\n" + signedHeaders + "\n" + lowercaseHex(SHA256.hash(data: request.body))
        return (text, signedHeaders)
    }

    public static func stringToSign(canonicalRequest: String, amzDate: String, scope: String) -> String {
        algorithm + "\n" + amzDate + "\n" + scope + "\n"
            + lowercaseHex(SHA256.hash(data: Array(canonicalRequest.utf8)))
    }

    /// The HMAC chain "AWS4" + secret → date → region → service → "aws4_request".
    public static func signingKey(secretAccessKey: String, dateStamp: String, region: String, service: String)
        -> SymmetricKey
    {
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    /// The path with dot segments and empty segments removed, each segment
    /// percent-encoded; a trailing slash is kept. An empty path is `/`.
    public static func canonicalURI(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        var result = "/" + segments.map { AWSPercentEncoding.encode($0) }.joined(separator: "/")
        if path.hasSuffix("/") && result != "/" { result += "/" }
        return result
    }

    /// `name=value` pairs, encoded, sorted by name then value, joined by `&`.
    public static func canonicalQuery(_ items: [SigV4Request.QueryItem]) -> String {
        items.map { (Array(AWSPercentEncoding.encode($0.name).utf8), Array(AWSPercentEncoding.encode($0.value).utf8)) }
            .sorted { a, b in
                a.0 == b.0 ? a.1.lexicographicallyPrecedes(b.1) : a.0.lexicographicallyPrecedes(b.0)
            }
            .map { String(decoding: $0.0, as: UTF8.self) + "=" + String(decoding: $0.1, as: UTF8.self) }
            .joined(separator: "&")
    }

    /// Trims a header value and turns each run of spaces, tabs and line
    /// breaks inside it into one space.
    static func collapseWhitespace(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
