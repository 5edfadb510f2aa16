import FoundationEssentials

/// An error response from STS or IAM.
///
/// AWS sends
///
///     <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
///       <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>…</Message></Error>
///       <RequestId>…</RequestId>
///     </ErrorResponse>
///
/// and moto wraps the `Error` in `<Errors>`; the first `Error` element at any
/// depth is read. ``kind`` sorts the cases a caller acts on.
public struct STSError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// AccessDenied "MultiFactorAuthentication failed with invalid MFA one
        /// time pass code": the code was wrong, or already used (AWS accepts
        /// each code once).
        case wrongMFACode
        /// AccessDenied "MultiFactorAuthentication failed, unable to validate
        /// MFA code. Please verify your MFA serial number is valid …".
        case unknownMFASerial
        /// Any other AccessDenied.
        case accessDenied
        /// The (temporary) credentials used to sign have expired.
        case expiredToken
        /// The access key does not exist (or the session token is invalid).
        case invalidClientTokenID
        /// SignatureDoesNotMatch "Signature expired", "Signature not yet
        /// current", or RequestExpired: the local clock is off.
        case clockSkew
        /// Any other SignatureDoesNotMatch: usually a wrong secret key.
        case signatureDoesNotMatch
        /// Throttling / "Rate exceeded".
        case throttling
        /// The requested duration is longer than role chaining allows (1 hour).
        case roleChainingLimit
        case other
    }

    public var code: String
    public var message: String
    /// `Sender` or `Receiver`, when given.
    public var type: String?
    public var requestID: String?
    public var httpStatus: Int
    /// The response's `Date` header, so a caller can measure clock skew.
    public var serverDate: Date?

    public init(
        code: String, message: String, type: String? = nil, requestID: String? = nil, httpStatus: Int,
        serverDate: Date? = nil
    ) {
        self.code = code
        self.message = message
        self.type = type
        self.requestID = requestID
        self.httpStatus = httpStatus
        self.serverDate = serverDate
    }

    public var kind: Kind {
        switch code {
        case "AccessDenied":
            if message.contains("MultiFactorAuthentication failed with invalid MFA one time pass code") {
                return .wrongMFACode
            }
            if message.contains("MultiFactorAuthentication failed, unable to validate MFA code")
                || message.contains("verify your MFA serial number")
            {
                return .unknownMFASerial
            }
            return .accessDenied
        case "ExpiredToken", "ExpiredTokenException":
            return .expiredToken
        case "InvalidClientTokenId":
            return .invalidClientTokenID
        case "RequestExpired":
            return .clockSkew
        case "SignatureDoesNotMatch":
            if message.contains("Signature expired") || message.contains("Signature not yet current") {
                return .clockSkew
            }
            return .signatureDoesNotMatch
        case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
            return .throttling
        case "ValidationError" where message.contains("role chaining"):
            return .roleChainingLimit
        default:
            return message.contains("Rate exceeded") ? .throttling : .other
        }
    }

    /// When the refused request was signed, by the client's clock (set by
    /// the client that sent it).
    public var signedAt: Date?

    /// How far the server's clock was ahead of the client's when the request
    /// was signed, in seconds, when the response carried a `Date` header.
    public var clockOffset: Double? { signedAt.flatMap(clockOffset(from:)) }

    /// How far the server's clock is ahead of `localTime`, in seconds, when
    /// the response carried a `Date` header.
    public func clockOffset(from localTime: Date) -> Double? {
        serverDate.map { $0.timeIntervalSince(localTime) }
    }

    /// `AWS AccessDenied (HTTP 403): <message>`, on one line, the message
    /// cut to 300 characters.
    public var description: String {
        "AWS \(oneLine(code, limit: 64)) (HTTP \(httpStatus)): \(oneLine(message, limit: 300))"
    }
}

/// `text` with control characters as spaces, cut to `limit` characters.
func oneLine(_ text: String, limit: Int) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars.prefix(limit) {
        scalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
    }
    let cut = String(scalars)
    return text.unicodeScalars.count > limit ? cut + "…" : cut
}
