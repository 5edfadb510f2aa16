/// An AWS access key: long-term (`AKIA…`) or temporary (`ASIA…` with a
/// session token).
///
/// The description never shows the secret key or the session token, so a
/// value can be logged or put in an error without leaking them.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Present for temporary credentials; sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        // An empty token (an empty AWS_SESSION_TOKEN, say) means none: sent
        // as an empty header it would be dropped by HTTP stacks and break the
        // signature.
        self.sessionToken = sessionToken?.isEmpty == true ? nil : sessionToken
    }

    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>"
            + (sessionToken == nil ? ")" : ", sessionToken: <redacted>)")
    }

    public var debugDescription: String { description }

    /// Keeps `dump` and the debugger from printing the secrets.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": accessKeyID, "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
            ])
    }
}
