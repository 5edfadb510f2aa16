/// YKOATH tags (Yubico's YKOATH specification).
public enum OATHTag {
    public static let name: UInt8 = 0x71
    public static let nameListEntry: UInt8 = 0x72
    public static let key: UInt8 = 0x73
    public static let challenge: UInt8 = 0x74
    public static let fullResponse: UInt8 = 0x75
    public static let truncatedResponse: UInt8 = 0x76
    public static let hotp: UInt8 = 0x77
    public static let property: UInt8 = 0x78
    public static let version: UInt8 = 0x79
    public static let imf: UInt8 = 0x7A
    public static let algorithm: UInt8 = 0x7B
    public static let touch: UInt8 = 0x7C
}

/// One tag-length-value item as YKOATH writes it.
///
/// Tags are one byte. Lengths are BER: `< 0x80` in one byte, else `81 xx`
/// or `82 xx xx`. One exception: the property tag `78` has no length at all;
/// it is always followed by exactly one byte (`78 <props>`).
public struct TLV: Equatable, Sendable {
    public var tag: UInt8
    public var value: [UInt8]

    public init(_ tag: UInt8, _ value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case truncated
        case unsupportedLength

        public var description: String {
            switch self {
            case .truncated: "a TLV item runs past the end of the data"
            case .unsupportedLength: "a TLV length uses a form YKOATH never sends"
            }
        }
    }

    /// Appends the wire form to `out`.
    public func serialize(into out: inout [UInt8]) {
        out.append(tag)
        if tag == OATHTag.property {
            out.append(value.first ?? 0)
            return
        }
        switch value.count {
        case ..<0x80: out.append(UInt8(value.count))
        case ..<0x100: out += [0x81, UInt8(value.count)]
        default: out += [0x82, UInt8(value.count >> 8 & 0xFF), UInt8(value.count & 0xFF)]
        }
        out += value
    }

    public static func serialize(_ items: [TLV]) -> [UInt8] {
        var out: [UInt8] = []
        for item in items { item.serialize(into: &out) }
        return out
    }

    /// Parses one item from the front of `data`, consuming it.
    public static func parse(from data: inout ArraySlice<UInt8>) throws(ParseError) -> TLV {
        guard let tag = data.popFirst() else { throw .truncated }
        if tag == OATHTag.property {
            guard let property = data.popFirst() else { throw .truncated }
            return TLV(tag, [property])
        }
        guard let first = data.popFirst() else { throw .truncated }
        let length: Int
        switch first {
        case ..<0x80:
            length = Int(first)
        case 0x81:
            guard let byte = data.popFirst() else { throw .truncated }
            length = Int(byte)
        case 0x82:
            guard let high = data.popFirst(), let low = data.popFirst() else { throw .truncated }
            length = Int(high) << 8 | Int(low)
        default:
            throw .unsupportedLength
        }
        guard data.count >= length else { throw .truncated }
        let value = Array(data.prefix(length))
        data = data.dropFirst(length)
        return TLV(tag, value)
    }

    /// Parses a whole buffer into items; trailing bytes that do not form an
    /// item are an error.
    public static func parseAll(_ bytes: [UInt8]) throws(ParseError) -> [TLV] {
        var data = bytes[...]
        var items: [TLV] = []
        while !data.isEmpty { items.append(try parse(from: &data)) }
        return items
    }
}

extension Array where Element == TLV {
    /// The value of the first item with `tag`.
    public func first(_ tag: UInt8) -> [UInt8]? { first(where: { $0.tag == tag })?.value }
}
