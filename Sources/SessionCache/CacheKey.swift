import AWSSigning

/// What a cached session answers for: every input that changes STS's answer
/// (whose keys, which MFA device, which role, how long, which endpoint…),
/// as named parts. Two requests with the same parts may share a session;
/// any difference gets a session of its own.
///
///     let key = CacheKey("session-token", ["source": "key:AKIA…", "mfa": serial, "duration": "43200"])
///     key.fileName  // "session-token-<64 hex digits>"
public struct CacheKey: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var kind: String
    public var parts: [String: String]

    public init(_ kind: String, _ parts: [String: String]) {
        self.kind = kind
        self.parts = parts
    }

    /// The canonical text that is hashed: the kind, then the parts sorted by
    /// name, one `name=value` per line (values cannot hold a newline that
    /// matters: they come from one-line config values).
    public var canonicalText: String {
        ([kind] + parts.keys.sorted().map { "\($0)=\(parts[$0]!)" }).joined(separator: "\n")
    }

    /// A file name: a short kind prefix and the SHA-256 of ``canonicalText``
    /// (the parts are not secret, but hashing keeps names short and safe).
    public var fileName: String {
        kind + "-" + lowercaseHex(SHA256Digest.hash(Array(canonicalText.utf8)))
    }

    public var description: String { "\(kind)(\(canonicalText.split(separator: "\n").dropFirst().joined(separator: ", ")))" }
}
