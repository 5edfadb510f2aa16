import OATH

/// Everything the virtual key remembers between runs: what a real key keeps
/// in its flash.
///
/// In the state file (JSON):
///
///     {"format": 1,
///      "salt": "4bb7a7fad7af401b",                         // SELECT's 71 value
///      "accessKey": {"algorithm": "SHA1", "key": "…"},   // only with a password
///      "accounts": [ … StoredAccount … ]}
///
/// The access key is what SET CODE delivered (PBKDF2 of the password,
/// derived by the client), never the password itself.
public struct KeyState: Equatable, Sendable {
    public struct AccessKey: Equatable, Sendable, Codable {
        public var algorithm: OATHAlgorithm
        public var key: [UInt8]

        public init(algorithm: OATHAlgorithm, key: [UInt8]) {
            self.algorithm = algorithm
            self.key = key
        }

        private enum CodingKeys: String, CodingKey { case algorithm, key }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            algorithm = try c.decode(OATHAlgorithm.self, forKey: .algorithm)
            guard let bytes = Hex.decode(try c.decode(String.self, forKey: .key)), !bytes.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .key, in: c, debugDescription: "not hex")
            }
            key = bytes
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(algorithm, forKey: .algorithm)
            try c.encode(Hex.encode(key), forKey: .key)
        }
    }

    /// The salt length a YubiKey uses (also the device id's source).
    public static let saltLength = 8

    public var salt: [UInt8]
    public var accessKey: AccessKey?
    public var accounts: [StoredAccount]

    public init(salt: [UInt8], accessKey: AccessKey? = nil, accounts: [StoredAccount] = []) {
        self.salt = salt
        self.accessKey = accessKey
        self.accounts = accounts
    }

    /// A factory-fresh key: no accounts, no password, a random salt.
    public static func fresh(random: some RandomSource) -> KeyState {
        KeyState(salt: random.bytes(saltLength))
    }

    public func index(ofAccountNamed name: [UInt8]) -> Int? {
        accounts.firstIndex { $0.name == name }
    }
}

extension KeyState: Codable {
    private enum CodingKeys: String, CodingKey { case format, salt, accessKey, accounts }

    /// The state file layout this code writes.
    public static let format = 1

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let format = try c.decodeIfPresent(Int.self, forKey: .format) ?? Self.format
        guard format == Self.format else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "unknown format \(format)")
        }
        guard let saltBytes = Hex.decode(try c.decode(String.self, forKey: .salt)), saltBytes.count == Self.saltLength else {
            throw DecodingError.dataCorruptedError(forKey: .salt, in: c, debugDescription: "the salt is 8 bytes of hex")
        }
        salt = saltBytes
        accessKey = try c.decodeIfPresent(AccessKey.self, forKey: .accessKey)
        accounts = try c.decodeIfPresent([StoredAccount].self, forKey: .accounts) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.format, forKey: .format)
        try c.encode(Hex.encode(salt), forKey: .salt)
        try c.encodeIfPresent(accessKey, forKey: .accessKey)
        try c.encode(accounts, forKey: .accounts)
    }
}
