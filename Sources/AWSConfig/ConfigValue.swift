/// A property's value: plain text, or a block of sub-properties.
///
///     region = eu-west-1              → .text("eu-west-1")
///     s3 =                            → .subProperties(["max_concurrent_requests": "10"])
///       max_concurrent_requests = 10
///
/// Encodes as a JSON string or a JSON object.
public enum ConfigValue: Sendable, Equatable, Hashable, Encodable {
    case text(String)
    case subProperties([String: String])

    /// The text, or `nil` for a sub-property block.
    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .subProperties(let values):
            var container = encoder.singleValueContainer()
            try container.encode(values)
        }
    }
}

/// One named section of the shared config: a profile (after merging the two
/// files), an `[sso-session NAME]` or a `[services NAME]`.
///
/// Keys are stored lower-cased; lookups lower-case the key they are given.
public struct ConfigSection: Sendable, Equatable {
    public var name: String
    public var properties: [String: ConfigValue]

    public init(name: String, properties: [String: ConfigValue] = [:]) {
        self.name = name
        self.properties = properties
    }

    /// A text property (keys are case-insensitive); `nil` when absent or a
    /// sub-property block.
    public subscript(key: String) -> String? {
        properties[lowercasedKey(key)]?.text
    }

    /// A text property that is present and not empty.
    public func nonEmpty(_ key: String) -> String? {
        guard let value = self[key], !value.isEmpty else { return nil }
        return value
    }

    /// The sub-properties under `key` (`s3 =` followed by indented lines),
    /// or `nil` when `key` is absent or plain text. A block kept as text
    /// because a line's name is invalid (its text starts with a newline)
    /// yields its valid lines.
    public func subProperties(_ key: String) -> [String: String]? {
        switch properties[lowercasedKey(key)] {
        case .subProperties(let values): return values
        case .text(let text) where text.hasPrefix("\n"): return ConfigFileParser.subProperties(inBlockText: text)
        default: return nil
        }
    }

    /// The property keys, sorted.
    public var keys: [String] { properties.keys.sorted() }
}

/// Lower-cases ASCII letters only (property names are ASCII by the rules).
func lowercasedKey(_ key: String) -> String {
    String(decoding: key.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
}
