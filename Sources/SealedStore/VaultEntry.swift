import SystemSupport

/// One secret in the vault: a kind, a name unique within the kind, and named
/// fields. Kinds are open-ended so later secrets (long-term AWS keys, a
/// YubiKey's OATH access key) live beside TOTP accounts in the same file, and
/// a vault written by a newer latchkey keeps entries this one does not know.
public struct VaultEntry: Sendable {
    public struct Kind: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A TOTP or HOTP account (see ``OATHAccountFields``).
        public static let oathAccount = Kind(rawValue: "oath-account")
        /// Long-term AWS access keys for a profile.
        public static let awsAccessKey = Kind(rawValue: "aws-access-key")
        /// A YubiKey OATH applet's derived access key, by device id.
        public static let oathAccessKey = Kind(rawValue: "oath-access-key")
    }

    public var kind: Kind
    public var name: String
    /// Field values are bytes; secret ones are wiped when the entry goes away.
    public var fields: [String: SecretBytes]

    public init(kind: Kind, name: String, fields: [String: SecretBytes]) {
        self.kind = kind
        self.name = name
        self.fields = fields
    }

    public func text(_ field: String) -> String? {
        fields[field].flatMap { value in value.withUnsafeBytes { String(validating: $0, as: UTF8.self) } }
    }
}

/// The decrypted payload: a list of entries.
///
///     payload := 0x01 count:u32 entry*
///     entry   := kind:str name:str fieldCount:u16 (key:str value:bytes)*
///     str     := length:u16 utf8
///     bytes   := length:u32 raw
///
/// Entries are written sorted by (kind, name) and fields by key, so the same
/// contents always give the same plaintext.
public struct VaultContents: Sendable {
    static let formatVersion: UInt8 = 1
    static let maximumEntries = 100_000

    public private(set) var entries: [VaultEntry]
    /// Set by every change, so an update that changed nothing writes nothing.
    var isModified = false

    public init(entries: [VaultEntry] = []) { self.entries = entries }

    public func entries(of kind: VaultEntry.Kind) -> [VaultEntry] {
        entries.filter { $0.kind == kind }
    }

    public func entry(_ kind: VaultEntry.Kind, named name: String) -> VaultEntry? {
        entries.first { $0.kind == kind && $0.name == name }
    }

    /// Limits that keep every entry within what the payload format can hold.
    public static let maximumKindBytes = 255
    public static let maximumNameBytes = 4096
    public static let maximumFields = 256
    public static let maximumFieldKeyBytes = 255
    public static let maximumFieldValueBytes = 1 << 20

    /// Adds or replaces the entry with the same kind and name; refuses an
    /// entry the payload format could not hold.
    public mutating func upsert(_ entry: VaultEntry) throws(VaultEntryError) {
        guard (1...Self.maximumKindBytes).contains(entry.kind.rawValue.utf8.count),
              entry.name.utf8.count <= Self.maximumNameBytes,
              entry.fields.count <= Self.maximumFields,
              entry.fields.allSatisfy({ $0.key.utf8.count <= Self.maximumFieldKeyBytes && $0.value.count <= Self.maximumFieldValueBytes })
        else { throw VaultEntryError(name: String(entry.name.prefix(64))) }
        entries.removeAll { $0.kind == entry.kind && $0.name == entry.name }
        entries.append(entry)
        isModified = true
    }

    /// Removes an entry; returns whether it existed.
    @discardableResult
    public mutating func remove(_ kind: VaultEntry.Kind, named name: String) -> Bool {
        let before = entries.count
        entries.removeAll { $0.kind == kind && $0.name == name }
        if entries.count != before { isModified = true }
        return entries.count != before
    }

    func serialize() -> [UInt8] {
        var out: [UInt8] = [VaultContents.formatVersion]
        let sorted = entries.sorted { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }
        out.appendBigEndian(UInt32(sorted.count))
        for entry in sorted {
            out.appendString(entry.kind.rawValue)
            out.appendString(entry.name)
            out.appendBigEndian(UInt16(entry.fields.count))
            for (key, value) in entry.fields.sorted(by: { $0.key < $1.key }) {
                out.appendString(key)
                out.appendBigEndian(UInt32(value.count))
                value.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    init(parsing plaintext: [UInt8]) throws(VaultFormatError) {
        var reader = ByteReader(plaintext[...])
        guard reader.uint8() == VaultContents.formatVersion, let count = reader.uint32(),
              count <= VaultContents.maximumEntries else { throw .payloadDamaged }
        var entries: [VaultEntry] = []
        for _ in 0..<count {
            guard let kind = reader.string(), let name = reader.string(), let fieldCount = reader.uint16() else {
                throw .payloadDamaged
            }
            var fields: [String: SecretBytes] = [:]
            for _ in 0..<fieldCount {
                guard let key = reader.string(), let length = reader.uint32(),
                      let value = reader.bytes(Int(length)), fields[key] == nil else { throw .payloadDamaged }
                fields[key] = SecretBytes(Array(value))
            }
            guard !entries.contains(where: { $0.kind.rawValue == kind && $0.name == name }) else { throw .payloadDamaged }
            entries.append(VaultEntry(kind: VaultEntry.Kind(rawValue: kind), name: name, fields: fields))
        }
        guard reader.isAtEnd else { throw .payloadDamaged }
        self.entries = entries
    }
}

/// An entry too large for the vault's payload format.
public struct VaultEntryError: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var description: String {
        "the vault entry '\(name)' does not fit the vault format (a kind of 1–255 bytes, a name up to \(VaultContents.maximumNameBytes) bytes, up to \(VaultContents.maximumFields) fields of up to 1 MiB)"
    }
}
