import Crypto

/// The hash behind an OATH credential's HMAC.
public enum OATHAlgorithm: String, CaseIterable, Sendable, Codable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    /// Parses `SHA1`, `sha256`, `SHA-512` and the like.
    public init?(name: some StringProtocol) {
        let normalized = String(name.uppercased().filter { $0 != "-" })
        guard let value = OATHAlgorithm(rawValue: normalized) else { return nil }
        self = value
    }

    /// The hash's block size: longer secrets are hashed before use.
    public var blockSize: Int { self == .sha512 ? 128 : 64 }

    /// The low nibble of the YKOATH type/algorithm byte.
    public var ykoathCode: UInt8 {
        switch self {
        case .sha1: 1
        case .sha256: 2
        case .sha512: 3
        }
    }

    public init?(ykoathCode: UInt8) {
        switch ykoathCode {
        case 1: self = .sha1
        case 2: self = .sha256
        case 3: self = .sha512
        default: return nil
        }
    }

    /// HMAC(secret, message) with this hash. HMAC itself replaces a key longer
    /// than the block by its hash (RFC 2104), so long secrets need no special
    /// handling here.
    public func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let symmetric = SymmetricKey(data: key)
        switch self {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: symmetric))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: symmetric))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: symmetric))
        }
    }

    /// The secret as a key device stores it: hashed when longer than the
    /// block, then zero-padded to 14 bytes (padding does not change an HMAC).
    public func deviceKey(for secret: [UInt8]) -> [UInt8] {
        var key: [UInt8]
        if secret.count > blockSize {
            switch self {
            case .sha1: key = Array(Insecure.SHA1.hash(data: secret))
            case .sha256: key = Array(SHA256.hash(data: secret))
            case .sha512: key = Array(SHA512.hash(data: secret))
            }
        } else {
            key = secret
        }
        if key.count < 14 { key += [UInt8](repeating: 0, count: 14 - key.count) }
        return key
    }
}

/// HOTP (RFC 4226) and TOTP (RFC 6238).
public enum OTP {
    /// The digit counts YubiKeys and authenticator apps accept.
    public static let validDigits: ClosedRange<Int> = 6...8

    /// The HOTP value for `counter`.
    public static func hotp(secret: [UInt8], counter: UInt64, algorithm: OATHAlgorithm, digits: Int) -> String {
        var mac = algorithm.hmac(key: secret, message: message(counter: counter))
        defer { mac.wipeBytes() }
        return code(fromHMAC: mac, digits: digits)
    }

    /// What HOTP feeds the HMAC: the counter as 8 big-endian bytes (RFC 4226
    /// section 5.2), for a device that computes the HMAC itself.
    public static func message(counter: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * $0)) }
    }

    /// The TOTP time step for `unixTime` (the HOTP counter TOTP uses).
    public static func timeStep(at unixTime: UInt64, period: Int) -> UInt64 {
        unixTime / UInt64(max(period, 1))
    }

    /// The TOTP value at `unixTime`.
    public static func totp(secret: [UInt8], at unixTime: UInt64, period: Int, algorithm: OATHAlgorithm, digits: Int) -> String {
        hotp(secret: secret, counter: timeStep(at: unixTime, period: period), algorithm: algorithm, digits: digits)
    }

    /// RFC 4226 dynamic truncation of a full HMAC, then the decimal code.
    public static func code(fromHMAC mac: [UInt8]) -> UInt32 {
        guard let last = mac.last, mac.count >= 20 else { return 0 }
        let offset = Int(last & 0x0F)
        return truncatedValue(mac[offset..<(offset + 4)])
    }

    public static func code(fromHMAC mac: [UInt8], digits: Int) -> String {
        format(code(fromHMAC: mac), digits: digits)
    }

    /// The 31-bit value of four truncated bytes (what a YubiKey's `76` tag
    /// carries after its digits byte). Inlinable, so each caller gets a copy
    /// for its own collection type: unspecialized, the first call made the
    /// runtime build the metadata of the generic prefix's iterator.
    @inlinable
    public static func truncatedValue<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var value: UInt32 = 0
        for byte in bytes.prefix(4) { value = (value << 8) | UInt32(byte) }
        return value & 0x7FFF_FFFF
    }

    /// `value mod 10^digits`, zero-padded to `digits`.
    public static func format(_ value: UInt32, digits: Int) -> String {
        let digits = min(max(digits, 1), 10)
        var modulus: UInt64 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(UInt64(value) % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }
}
