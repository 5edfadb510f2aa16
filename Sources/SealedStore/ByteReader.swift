/// Reads big-endian fields from an untrusted byte slice, checking every length
/// against what is left. Nothing here can trap on any input.
struct ByteReader {
    private(set) var remaining: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { remaining = bytes }

    var isAtEnd: Bool { remaining.isEmpty }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining.count >= count else { return nil }
        let field = remaining.prefix(count)
        remaining = remaining.dropFirst(count)
        return field
    }

    mutating func uint8() -> UInt8? { remaining.popFirst() }

    mutating func uint16() -> UInt16? {
        guard let field = bytes(2) else { return nil }
        return field.reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func uint32() -> UInt32? {
        guard let field = bytes(4) else { return nil }
        return field.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A UTF-8 string behind a 16-bit length.
    mutating func string() -> String? {
        guard let length = uint16(), let field = bytes(Int(length)) else { return nil }
        return String(validating: field, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    mutating func appendBigEndian(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    /// A UTF-8 string behind a 16-bit length (callers keep strings short).
    mutating func appendString(_ text: String) {
        let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
        appendBigEndian(UInt16(utf8.count))
        append(contentsOf: utf8)
    }
}
