import AWSSigning

/// Temporary credentials as latchkey keeps them between runs, with what is
/// known about them (whose they are, which MFA device opened them).
///
/// On disk (0600, one file per cache key) they are short `name value` lines
/// under a version line, read without a JSON decoder so the warm
/// `credential-process` path stays cheap:
///
///     latchkey-session 1
///     expiration 1795000000
///     access_key_id ASIA…
///     secret_access_key …
///     session_token …
///     arn arn:aws:sts::123456789012:assumed-role/admin/alice
///     mfa_serial arn:aws:iam::123456789012:mfa/alice
///     end
///
/// The closing `end` line tells a complete file from a cut one, and unknown
/// names are refused, so damage never yields credentials with a field lost.
public struct CachedSession: Sendable, Equatable, CustomStringConvertible {
    public var credentials: AWSCredentials
    /// Seconds since the Unix epoch.
    public var expiration: Int64
    /// The ARN the credentials act as, when STS said.
    public var arn: String?
    /// The MFA device whose code opened this session (discovered devices
    /// are remembered here).
    public var mfaSerial: String?

    public init(credentials: AWSCredentials, expiration: Int64, arn: String? = nil, mfaSerial: String? = nil) {
        self.credentials = credentials
        self.expiration = expiration
        self.arn = arn
        self.mfaSerial = mfaSerial
    }

    public var description: String {
        "CachedSession(\(credentials.accessKeyID), expires \(expirationText))"
    }

    /// Seconds left at `now`; negative once expired.
    public func secondsLeft(at now: Int64) -> Int64 { expiration - now }

    /// `YYYY-MM-DDTHH:MM:SSZ`, the form `credential_process` wants.
    public var expirationText: String { UTCDateTime(secondsSince1970: expiration).iso8601 }

    static let versionLine = "latchkey-session 1"
    static let endLine = "end"
    static let fieldNames: Set<String> = [
        "expiration", "access_key_id", "secret_access_key", "session_token", "arn", "mfa_serial",
    ]
    static let maximumBytes = 64 << 10

    public var serialized: [UInt8] {
        var lines = [
            Self.versionLine,
            "expiration \(expiration)",
            "access_key_id \(credentials.accessKeyID)",
            "secret_access_key \(credentials.secretAccessKey)",
        ]
        if let token = credentials.sessionToken { lines.append("session_token \(token)") }
        if let arn { lines.append("arn \(arn)") }
        if let mfaSerial { lines.append("mfa_serial \(mfaSerial)") }
        lines.append(Self.endLine)
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Parses a cache file; `nil` for anything that is not a complete,
    /// well-formed entry of this version (the caller then fetches anew).
    public init?(parsing bytes: [UInt8]) {
        guard bytes.count <= Self.maximumBytes, bytes.last == UInt8(ascii: "\n") else { return nil }
        var fields: [String: String] = [:]
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        guard let first = lines.first, String(decoding: first, as: UTF8.self) == Self.versionLine else { return nil }
        lines = lines.dropFirst()
        guard let last = lines.last, String(decoding: last, as: UTF8.self) == Self.endLine else { return nil }
        lines = lines.dropLast()
        for line in lines {
            guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return nil }
            let name = String(decoding: line[line.startIndex..<space], as: UTF8.self)
            guard Self.fieldNames.contains(name) else { return nil }
            let value = line[(space + 1)...]
            // Printable ASCII only: tokens, keys and ARNs never hold more, and
            // a value with a control byte would corrupt shell output later.
            guard !value.isEmpty, value.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), fields[name] == nil else { return nil }
            fields[name] = String(decoding: value, as: UTF8.self)
        }
        guard let expirationText = fields["expiration"], let expiration = Int64(expirationText),
            let keyID = fields["access_key_id"], let secret = fields["secret_access_key"]
        else { return nil }
        self.init(
            credentials: AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: fields["session_token"]),
            expiration: expiration, arn: fields["arn"], mfaSerial: fields["mfa_serial"])
    }
}
