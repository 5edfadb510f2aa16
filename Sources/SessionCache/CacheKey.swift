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
        // A loop rather than joined(separator:), which the stdlib runs
        // unspecialized: its first call made the runtime resolve the
        // generic iterator types by name (3 % of a warm start's samples).
        var text = kind
        for name in parts.keys.sorted() {
            text += "\n" + name + "=" + parts[name]!
        }
        return text
    }

    /// A file name: a short kind prefix and the SHA-256 of ``canonicalText``
    /// (the parts are not secret, but hashing keeps names short and safe).
    public var fileName: String {
        kind + "-" + lowercaseHex(SHA256Digest.hash(Array(canonicalText.utf8)))
    }

    /// Whether `name` has the form of ``fileName``: a kind of lowercase
    /// letters and dashes, a dash, and 64 lowercase hex digits.
    public static func isFileName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard utf8.count > 65, utf8[utf8.count - 65] == UInt8(ascii: "-") else { return false }
        let kind = utf8[..<(utf8.count - 65)]
        let digest = utf8.suffix(64)
        return kind.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: "-") }
            && digest.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    public var description: String { "\(kind)(\(canonicalText.split(separator: "\n").dropFirst().joined(separator: ", ")))" }
}
