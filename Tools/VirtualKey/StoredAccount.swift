import OATH

/// One credential as the virtual key holds it: what a PUT stored.
///
/// In the state file (JSON):
///
///     {"name": "Example:alice",          // or "nameHex": "…" when not UTF-8
///      "type": "TOTP", "algorithm": "SHA1", "digits": 6,
///      "secret": "3132…",                 // hex, as the key keeps it
///      "touch": false, "onlyIncreasing": false, "counter": 0}
///
/// `counter` is the HOTP moving factor the next code uses (the PUT's `7A`
/// IMF, then one more per CALCULATE); TOTP accounts keep it at 0.
public struct StoredAccount: Equatable, Sendable {
    public enum AccountType: String, Codable, Sendable {
        case hotp = "HOTP"
        case totp = "TOTP"

        /// The high nibble of the YKOATH type/algorithm byte.
        public var ykoathCode: UInt8 { self == .hotp ? 0x10 : 0x20 }

        public init?(ykoathCode: UInt8) {
            switch ykoathCode & 0xF0 {
            case 0x10: self = .hotp
            case 0x20: self = .totp
            default: return nil
            }
        }
    }

    /// A YubiKey keeps names of 1 to 64 bytes.
    public static let nameLengths: ClosedRange<Int> = 1...64
    /// The digit counts the key accepts in a PUT.
    public static let digitCounts: ClosedRange<UInt8> = 6...8

    public var name: [UInt8]
    public var type: AccountType
    public var algorithm: OATHAlgorithm
    public var digits: UInt8
    /// The HMAC key: hashed by the key when longer than the hash block.
    public var secret: [UInt8]
    public var requiresTouch: Bool
    public var onlyIncreasing: Bool
    public var counter: UInt64

    public init(
        name: [UInt8], type: AccountType, algorithm: OATHAlgorithm, digits: UInt8, secret: [UInt8],
        requiresTouch: Bool = false, onlyIncreasing: Bool = false, counter: UInt64 = 0
    ) {
        self.name = name
        self.type = type
        self.algorithm = algorithm
        self.digits = digits
        self.secret = secret
        self.requiresTouch = requiresTouch
        self.onlyIncreasing = onlyIncreasing
        self.counter = counter
    }

    /// The YKOATH type/algorithm byte (`0x21` for TOTP SHA1).
    public var typeAlgorithm: UInt8 { type.ykoathCode | algorithm.ykoathCode }

    /// The name as text for people (hex when it is not UTF-8).
    public var displayName: String {
        String(validating: name, as: UTF8.self) ?? "0x" + Hex.encode(name)
    }
}

extension StoredAccount: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, nameHex, type, algorithm, digits, secret, touch, onlyIncreasing, counter
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try c.decodeIfPresent(String.self, forKey: .name) {
            name = Array(text.utf8)
        } else {
            let hex = try c.decode(String.self, forKey: .nameHex)
            guard let bytes = Hex.decode(hex) else {
                throw DecodingError.dataCorruptedError(forKey: .nameHex, in: c, debugDescription: "not hex")
            }
            name = bytes
        }
        guard Self.nameLengths.contains(name.count) else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "a name has 1 to 64 bytes")
        }
        type = try c.decode(AccountType.self, forKey: .type)
        algorithm = try c.decode(OATHAlgorithm.self, forKey: .algorithm)
        digits = try c.decode(UInt8.self, forKey: .digits)
        guard Self.digitCounts.contains(digits) else {
            throw DecodingError.dataCorruptedError(forKey: .digits, in: c, debugDescription: "digits must be 6 to 8")
        }
        guard let secretBytes = Hex.decode(try c.decode(String.self, forKey: .secret)) else {
            throw DecodingError.dataCorruptedError(forKey: .secret, in: c, debugDescription: "not hex")
        }
        secret = secretBytes
        requiresTouch = try c.decodeIfPresent(Bool.self, forKey: .touch) ?? false
        onlyIncreasing = try c.decodeIfPresent(Bool.self, forKey: .onlyIncreasing) ?? false
        counter = try c.decodeIfPresent(UInt64.self, forKey: .counter) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let text = String(validating: name, as: UTF8.self) {
            try c.encode(text, forKey: .name)
        } else {
            try c.encode(Hex.encode(name), forKey: .nameHex)
        }
        try c.encode(type, forKey: .type)
        try c.encode(algorithm, forKey: .algorithm)
        try c.encode(digits, forKey: .digits)
        try c.encode(Hex.encode(secret), forKey: .secret)
        try c.encode(requiresTouch, forKey: .touch)
        try c.encode(onlyIncreasing, forKey: .onlyIncreasing)
        try c.encode(counter, forKey: .counter)
    }
}
