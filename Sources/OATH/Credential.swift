/// HOTP counts events; TOTP counts time steps.
public enum OATHKind: Equatable, Sendable {
    case totp(period: Int)
    case hotp(counter: UInt64)

    public var isTOTP: Bool { if case .totp = self { true } else { false } }

    /// The high nibble of the YKOATH type/algorithm byte.
    public var ykoathCode: UInt8 { isTOTP ? 0x20 : 0x10 }
}

/// One OATH account: what a YubiKey slot or an authenticator app holds.
///
/// `secret` is the raw key. Callers own its lifetime and wipe it when done;
/// nothing here prints it (`description` shows the id only).
public struct OATHCredential: Equatable, Sendable, CustomStringConvertible {
    public static let defaultPeriod = 30

    public var issuer: String?
    public var name: String
    public var kind: OATHKind
    public var algorithm: OATHAlgorithm
    public var digits: Int
    public var secret: [UInt8]

    public init(
        issuer: String? = nil, name: String, kind: OATHKind = .totp(period: defaultPeriod),
        algorithm: OATHAlgorithm = .sha1, digits: Int = 6, secret: [UInt8]
    ) {
        self.issuer = issuer
        self.name = name
        self.kind = kind
        self.algorithm = algorithm
        self.digits = digits
        self.secret = secret
    }

    /// The YubiKey-style id: `[period/][issuer:]name`.
    public var id: CredentialID { CredentialID(issuer: issuer, name: name, period: period) }

    public var period: Int? { if case .totp(let period) = kind { period } else { nil } }

    public var description: String { "\(id)" }

    /// Checks what every consumer of a credential relies on.
    public func validate() throws(OATHCredentialError) {
        guard !name.isEmpty else { throw .emptyName }
        guard !OATHCredential.hasControlCharacters(name), !OATHCredential.hasControlCharacters(issuer ?? "") else {
            throw .controlCharacters
        }
        guard OTP.validDigits.contains(digits) else { throw .invalidDigits(digits) }
        if case .totp(let period) = kind, !(1...86_400).contains(period) { throw .invalidPeriod(period) }
        guard !secret.isEmpty else { throw .emptySecret }
        guard secret.count <= 1024 else { throw .secretTooLong }
        // A colon scalar, as ids and URI labels are split: a colon joined
        // with a combining mark is no ":" Character.
        if let issuer, issuer.isEmpty || issuer.unicodeScalars.contains(":") { throw .invalidIssuer }
        guard id.bytes.count <= CredentialID.maximumLength else { throw .idTooLong }
    }

    /// Whether `text` holds C0 or C1 control characters or DEL, which would
    /// break one-line messages and reach terminals raw.
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    /// The code for this credential at `unixTime` (TOTP) or at its counter (HOTP).
    public func code(at unixTime: UInt64) -> String {
        switch kind {
        case .totp(let period):
            OTP.totp(secret: secret, at: unixTime, period: period, algorithm: algorithm, digits: digits)
        case .hotp(let counter):
            OTP.hotp(secret: secret, counter: counter, algorithm: algorithm, digits: digits)
        }
    }
}

public enum OATHCredentialError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyName, emptySecret, secretTooLong, invalidIssuer, idTooLong, controlCharacters
    case invalidDigits(Int)
    case invalidPeriod(Int)

    public var description: String {
        switch self {
        case .emptyName: "the account name is empty"
        case .controlCharacters: "the account name or issuer contains control characters"
        case .emptySecret: "the secret is empty"
        case .secretTooLong: "the secret is longer than 1024 bytes"
        case .invalidIssuer: "the issuer must be non-empty and contain no ':'"
        case .idTooLong: "the account id is longer than \(CredentialID.maximumLength) bytes (a YubiKey's limit)"
        case .invalidDigits(let d): "digits must be 6, 7 or 8, not \(d)"
        case .invalidPeriod(let p): "the period must be 1 to 86400 seconds, not \(p)"
        }
    }
}

/// A credential id as YubiKeys, ykman and Yubico Authenticator write it:
/// `[<period>/][<issuer>:]<name>`, the period only for TOTP with a period
/// other than 30. The same account name therefore means the same thing on a
/// key and in the sealed store.
///
/// AWS MFA ARNs (`arn:aws:iam::123456789012:mfa/alice`) contain colons; used
/// as a name with no issuer, the id is the ARN unchanged.
public struct CredentialID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// A YubiKey stores names of at most 64 bytes.
    public static let maximumLength = 64

    public var issuer: String?
    public var name: String
    /// The TOTP period; `nil` for HOTP.
    public var period: Int?

    public init(issuer: String?, name: String, period: Int?) {
        self.issuer = issuer
        self.name = name
        self.period = period
    }

    /// The id as text.
    public var description: String {
        var text = ""
        if let period, period != OATHCredential.defaultPeriod { text += "\(period)/" }
        if let issuer { text += issuer + ":" }
        return text + name
    }

    public var bytes: [UInt8] { Array(description.utf8) }

    /// Splits an id read from a key, following ykman's rule
    /// `^((\d+)/)?(([^:]+):)?(.+)$` for TOTP. HOTP ids carry no period.
    /// The separators are found as Unicode scalars, as ykman's regular
    /// expression finds them: a "/" or ":" joined with a combining mark is
    /// no Character of its own.
    public init(parsing text: String, isTOTP: Bool) {
        // A slice of the string's own view: building a new view would append
        // scalar by scalar (1.7 % of `code --yubikey`'s `perf` samples).
        var rest = text.unicodeScalars[...]
        var period: Int? = isTOTP ? OATHCredential.defaultPeriod : nil
        if isTOTP, let slash = rest.firstIndex(of: "/"), slash != rest.startIndex,
           rest[..<slash].allSatisfy({ ("0"..."9").contains($0) }),
           rest.index(after: slash) != rest.endIndex,
           let value = Int(String(rest[..<slash])) {
            period = value
            rest = rest[rest.index(after: slash)...]
        }
        var issuer: String?
        if let colon = rest.firstIndex(of: ":"), colon != rest.startIndex, rest.index(after: colon) != rest.endIndex {
            issuer = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        self.init(issuer: issuer, name: String(rest), period: period)
    }

    public static func < (lhs: CredentialID, rhs: CredentialID) -> Bool {
        lhs.description.lowercased() < rhs.description.lowercased()
    }
}

/// Picks one id from a list the way `latchkey code NAME` does: an exact id
/// wins; otherwise a case-insensitive substring that matches exactly one id.
public enum CredentialMatch: Equatable, Sendable {
    case found(String)
    case none(candidates: [String])
    case ambiguous([String])

    public static func select(_ query: String?, from ids: [String]) -> CredentialMatch {
        guard let query, !query.isEmpty else {
            return ids.count == 1 ? .found(ids[0]) : (ids.isEmpty ? .none(candidates: []) : .ambiguous(ids))
        }
        if ids.contains(query) { return .found(query) }
        let needle = query.lowercased()
        let hits = ids.filter { $0.lowercased().contains(needle) }
        switch hits.count {
        case 1: return .found(hits[0])
        case 0: return .none(candidates: ids)
        default: return .ambiguous(hits)
        }
    }
}
