/// RFC 4648 base32, as authenticator apps and AWS use it for TOTP seeds.
///
/// Decoding accepts either case, with or without `=` padding, and ignores
/// spaces and hyphens (apps show seeds in groups). Leftover bits after the last
/// whole byte are ignored, as Python's `b32decode` (ykman) does.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8], padding: Bool = false) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 8 + 4) / 5 + 8)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        if padding { while output.count % 8 != 0 { output.append(UInt8(ascii: "=")) } }
        return String(decoding: output, as: UTF8.self)
    }

    public enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        /// A character outside the alphabet, at this (0-based) position. The
        /// character itself is not kept: the input is a secret.
        case invalidCharacter(position: Int)
        /// A length no encoder produces (1, 3 or 6 characters past a multiple of 8).
        case invalidLength
        case empty

        public var description: String {
            switch self {
            case .invalidCharacter(let position): "not base32: unexpected character at position \(position + 1)"
            case .invalidLength: "not base32: the length is not one an encoder produces"
            case .empty: "the secret is empty"
            }
        }
    }

    public static func decode(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        var symbols = 0
        var sawPadding = false
        for (position, char) in text.utf8.enumerated() {
            let value: UInt8
            switch char {
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "="):
                sawPadding = true
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = char - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = char - UInt8(ascii: "a")
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = char - UInt8(ascii: "2") + 26
            default: throw .invalidCharacter(position: position)
            }
            if sawPadding { throw .invalidCharacter(position: position) }
            symbols += 1
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        if symbols == 0 { throw .empty }
        switch symbols % 8 {
        case 1, 3, 6: output.wipeBytes(); throw .invalidLength
        default: break
        }
        return output
    }
}

extension Array where Element == UInt8 {
    /// Zeroes the bytes in place (the OATH layer's own wipe, so it needs no
    /// system module).
    mutating func wipeBytes() {
        for i in indices { self[i] = 0 }
    }
}
