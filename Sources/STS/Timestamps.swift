import AWSSigning
import FoundationEssentials

/// The two timestamp formats STS traffic carries, read and written without
/// Foundation's formatters.
///
/// ISO 8601 / RFC 3339, as in `<Expiration>`:
///
///     2011-07-15T23:28:33.359Z      YYYY-MM-DD 'T' hh:mm:ss [.fraction] (Z | ±hh:mm | ±hhmm)
///
/// The fraction may have any number of digits (AWS sends 0, 3 or 6); `T`
/// and `Z` may be lower-case. IMF-fixdate (RFC 7231 §7.1.1.1), as in the
/// HTTP `Date` header:
///
///     Sun, 06 Nov 1994 08:49:37 GMT
public enum AWSTimestamp {
    /// The instant an ISO-8601 timestamp names, or `nil` if it is malformed
    /// or names an impossible date.
    public static func parseISO8601(_ text: some StringProtocol) -> Date? {
        var reader = DigitReader(Array(text.utf8)[...])
        guard let year = reader.number(digits: 4), reader.expect("-"),
            let month = reader.number(digits: 2), reader.expect("-"),
            let day = reader.number(digits: 2), reader.expectAny(["T", "t"]),
            let hour = reader.number(digits: 2), reader.expect(":"),
            let minute = reader.number(digits: 2), reader.expect(":"),
            let second = reader.number(digits: 2)
        else { return nil }

        var fraction = 0.0
        if reader.expect(".") {
            guard let value = reader.fraction() else { return nil }
            fraction = value
        }

        var offsetSeconds: Int64 = 0
        if reader.expectAny(["Z", "z"]) {
            offsetSeconds = 0
        } else if let sign = reader.sign() {
            guard let offsetHours = reader.number(digits: 2), offsetHours <= 23 else { return nil }
            _ = reader.expect(":")
            guard let offsetMinutes = reader.number(digits: 2), offsetMinutes <= 59 else { return nil }
            offsetSeconds = sign * Int64(offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard reader.isAtEnd,
            let seconds = UTCDateTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
                .secondsSince1970
        else { return nil }
        return Date(timeIntervalSince1970: Double(seconds - offsetSeconds) + fraction)
    }

    /// The instant an IMF-fixdate names, or `nil`. The obsolete RFC 850 and
    /// asctime forms are not accepted.
    public static func parseHTTPDate(_ text: some StringProtocol) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 29 else { return nil }
        let dayName = String(decoding: bytes[0..<3], as: UTF8.self)
        let monthName = String(decoding: bytes[8..<11], as: UTF8.self)
        guard dayNames.contains(dayName), let monthIndex = monthNames.firstIndex(of: monthName) else { return nil }
        var reader = DigitReader(bytes[3...])
        guard reader.expect(","), reader.expect(" "), let day = reader.number(digits: 2), reader.expect(" ") else {
            return nil
        }
        reader.skip(3)
        guard reader.expect(" "), let year = reader.number(digits: 4), reader.expect(" "),
            let hour = reader.number(digits: 2), reader.expect(":"),
            let minute = reader.number(digits: 2), reader.expect(":"),
            let second = reader.number(digits: 2), reader.expect(" "),
            reader.expect("G"), reader.expect("M"), reader.expect("T"), reader.isAtEnd,
            let seconds = UTCDateTime(
                year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute,
                second: second
            ).secondsSince1970
        else { return nil }
        return Date(timeIntervalSince1970: Double(seconds))
    }

    /// `2026-01-02T03:04:05Z`: RFC 3339 in UTC without a fraction, as
    /// `credential_process` output and `AWS_CREDENTIAL_EXPIRATION` use it.
    /// The fraction of a second is dropped.
    public static func iso8601(_ date: Date) -> String {
        UTCDateTime(secondsSince1970: epochSeconds(date)).iso8601
    }

    static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}

/// Whole seconds since the epoch, rounded down, clamped to ±10^15 (and 0
/// for NaN) so that no `Date` can trap the conversion.
func epochSeconds(_ date: Date) -> Int64 {
    let value = date.timeIntervalSince1970.rounded(.down)
    guard value.isFinite else { return value > 0 ? 1_000_000_000_000_000 : (value < 0 ? -1_000_000_000_000_000 : 0) }
    return Int64(max(-1e15, min(1e15, value)))
}

/// Reads fixed-width decimal fields and punctuation from a byte slice.
private struct DigitReader {
    var rest: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    var isAtEnd: Bool { rest.isEmpty }

    mutating func number(digits count: Int) -> Int? {
        guard rest.count >= count else { return nil }
        var value = 0
        for byte in rest.prefix(count) {
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        rest = rest.dropFirst(count)
        return value
    }

    /// One or more digits after a decimal point, as a fraction of a second.
    /// Digits past the ninth are read and ignored.
    mutating func fraction() -> Double? {
        var value = 0.0
        var scale = 1.0
        var count = 0
        while let byte = rest.first, (0x30...0x39).contains(byte) {
            if count < 9 {
                scale /= 10
                value += Double(byte - 0x30) * scale
            }
            count += 1
            rest = rest.dropFirst()
        }
        return count > 0 ? value : nil
    }

    mutating func expect(_ character: Unicode.Scalar) -> Bool {
        guard let byte = rest.first, UInt32(byte) == character.value else { return false }
        rest = rest.dropFirst()
        return true
    }

    mutating func expectAny(_ characters: [Unicode.Scalar]) -> Bool {
        characters.contains { expect($0) }
    }

    /// `+` → 1, `-` → -1.
    mutating func sign() -> Int64? {
        if expect("+") { return 1 }
        if expect("-") { return -1 }
        return nil
    }

    mutating func skip(_ count: Int) { rest = rest.dropFirst(count) }
}
