/// RFC 3986 percent-encoding as SigV4 and the AWS query protocol use it:
/// every byte of the UTF-8 form except the unreserved set
/// `A–Z a–z 0–9 - . _ ~` becomes `%XY` with upper-case hex. A space is
/// `%20`, never `+`.
public enum AWSPercentEncoding {
    /// Encodes `text`; `keepSlash` leaves `/` alone (for URI paths).
    public static func encode(_ text: some StringProtocol, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(upperHexDigits[Int(byte >> 4)])
                out.append(upperHexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `byte` is in RFC 3986's unreserved set.
    public static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static let upperHexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)
}

/// Lower-case hex, as SigV4 prints hashes and signatures. Inlinable, so
/// callers in other modules get a copy for their own sequence type: run
/// unspecialized, it made the runtime resolve the sequence's iterator type
/// by name (3 % of a warm start's samples, for the cache file's name).
@inlinable
public func lowercaseHex(_ bytes: some Sequence<UInt8>) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}
