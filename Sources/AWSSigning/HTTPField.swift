/// One HTTP header line, `Name: value`. Names compare case-insensitively
/// where it matters (``HTTPFields``); the value is kept as given.
public struct HTTPField: Sendable, Equatable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// The name in lower case (ASCII only, as HTTP field names are).
    public var lowercasedName: String { asciiLowercased(name) }
}

extension Array where Element == HTTPField {
    /// The first value of the field `name`, matched case-insensitively.
    public func value(of name: String) -> String? {
        let wanted = asciiLowercased(name)
        return first { $0.lowercasedName == wanted }?.value
    }

    /// Removes every field called `name` (case-insensitive).
    public mutating func removeAll(named name: String) {
        let wanted = asciiLowercased(name)
        removeAll { $0.lowercasedName == wanted }
    }
}

/// Lower-cases ASCII letters only; other bytes are left alone, so the result
/// does not depend on the locale or on Unicode case tables.
func asciiLowercased(_ text: String) -> String {
    String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
}
