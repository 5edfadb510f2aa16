/// A request parameter that STS or IAM would reject, caught before sending.
///
/// Descriptions name the parameter and the rule, never the value (a token
/// code or external id is not for logs).
public struct STSValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Rule: Sendable, Equatable {
        case missing
        case range(ClosedRange<Int>)
        case length(ClosedRange<Int>)
        case characters(String)
        case sixDigits
        case tooMany(Int)
        /// `SerialNumber` and `TokenCode` go together.
        case requiresBoth(String, String)
    }

    public var parameter: String
    public var rule: Rule

    public init(_ parameter: String, _ rule: Rule) {
        self.parameter = parameter
        self.rule = rule
    }

    public var description: String {
        switch rule {
        case .missing: "\(parameter) is required"
        case .range(let range): "\(parameter) must be between \(range.lowerBound) and \(range.upperBound)"
        case .length(let range):
            "\(parameter) must be \(range.lowerBound) to \(range.upperBound) characters long"
        case .characters(let allowed): "\(parameter) may only contain \(allowed)"
        case .sixDigits: "\(parameter) must be exactly 6 digits"
        case .tooMany(let maximum): "at most \(maximum) \(parameter) are allowed"
        case .requiresBoth(let a, let b): "\(a) and \(b) must be given together"
        }
    }
}

/// The parameter rules from the STS and IAM API references.
enum Check {
    /// `[\w+=,.@-]`: RoleSessionName, SourceIdentity, UserName.
    static let sessionNameCharacters = CharacterClass(extra: "+=,.@-", name: "letters, digits and _+=,.@-")
    /// `[\w+=/:,.@-]`: SerialNumber.
    /// `[\w]`: letters, digits and underscore (access key ids).
    static let wordCharacters = CharacterClass(extra: "", name: "letters, digits and _")
    static let serialNumberCharacters = CharacterClass(extra: "+=/:,.@-", name: "letters, digits and _+=/:,.@-")
    /// `[\w+=,.@:/-]`: ExternalId.
    static let externalIDCharacters = CharacterClass(extra: "+=,.@:/-", name: "letters, digits and _+=,.@:/-")

    /// ASCII letters, digits, `_` and the extra characters (`\w` in AWS's
    /// patterns is ASCII-only).
    struct CharacterClass {
        var extra: Set<UInt8>
        var name: String
        init(extra: String, name: String) {
            self.extra = Set(extra.utf8)
            self.name = name
        }
        func contains(_ byte: UInt8) -> Bool {
            (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == UInt8(ascii: "_") || extra.contains(byte)
        }
    }

    static func range(_ value: Int?, _ parameter: String, _ range: ClosedRange<Int>) throws(STSValidationError) {
        guard let value else { return }
        guard range.contains(value) else { throw STSValidationError(parameter, .range(range)) }
    }

    /// Length in Unicode scalars (what AWS counts) and, when given, allowed characters.
    static func text(
        _ value: String?, _ parameter: String, length: ClosedRange<Int>, characters: CharacterClass? = nil
    ) throws(STSValidationError) {
        guard let value else { return }
        guard length.contains(value.unicodeScalars.count) else { throw STSValidationError(parameter, .length(length)) }
        if let characters, !value.utf8.allSatisfy(characters.contains) {
            throw STSValidationError(parameter, .characters(characters.name))
        }
    }

    /// Printable text: no control characters other than tab, CR and LF.
    static func printable(_ value: String?, _ parameter: String) throws(STSValidationError) {
        guard let value else { return }
        let ok = value.unicodeScalars.allSatisfy { scalar in
            scalar == "\t" || scalar == "\n" || scalar == "\r" || (scalar.value >= 0x20 && scalar.value != 0x7F)
        }
        guard ok else { throw STSValidationError(parameter, .characters("printable characters")) }
    }

    static func tokenCode(_ value: String?) throws(STSValidationError) {
        try sixDigits(value, "TokenCode")
    }

    static func sixDigits(_ value: String?, _ parameter: String) throws(STSValidationError) {
        guard let value else { return }
        guard value.utf8.count == 6, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw STSValidationError(parameter, .sixDigits)
        }
    }

    static func mfa(serialNumber: String?, tokenCode: String?) throws(STSValidationError) {
        guard (serialNumber == nil) == (tokenCode == nil) else {
            throw STSValidationError("SerialNumber", .requiresBoth("SerialNumber", "TokenCode"))
        }
        try text(serialNumber, "SerialNumber", length: 9...256, characters: serialNumberCharacters)
        try Check.tokenCode(tokenCode)
    }
}
