/// `otpauth://` URIs (the Key Uri Format of Google Authenticator, which AWS's
/// QR codes use):
///
///     otpauth://TYPE/[ISSUER:]ACCOUNT?secret=BASE32[&issuer=ISSUER]
///         [&algorithm=SHA1|SHA256|SHA512][&digits=6|7|8][&period=S][&counter=C]
///
/// The label and values are percent-encoded; the issuer may come from the
/// label prefix, the `issuer` parameter, or both (the parameter wins, as the
/// format's authors recommend). Unknown parameters (`image`, …) are ignored.
public enum OTPAuthURI {
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case notOTPAuth
        case unknownType
        case missingLabel
        case badPercentEncoding
        case missingSecret
        case duplicateParameter(String)
        case invalidSecret(Base32.DecodingError)
        case invalidValue(parameter: String)
        case invalidCredential(OATHCredentialError)

        public var description: String {
            switch self {
            case .notOTPAuth: "not an otpauth:// URI"
            case .unknownType: "the URI's type must be totp or hotp"
            case .missingLabel: "the URI has no account label"
            case .badPercentEncoding: "the URI has invalid percent-encoding or is not UTF-8"
            case .missingSecret: "the URI has no secret parameter"
            case .duplicateParameter(let name): "the URI repeats the \(name) parameter"
            case .invalidSecret(let error): "the URI's secret is invalid: \(error)"
            case .invalidValue(let name): "the URI's \(name) parameter is invalid"
            case .invalidCredential(let error): "the URI describes an invalid account: \(error)"
            }
        }
    }

    /// Whether `text` looks like a URI rather than a bare base32 secret.
    public static func isURI(_ text: some StringProtocol) -> Bool {
        text.lowercased().hasPrefix("otpauth:")
    }

    public static func parse(_ text: String) throws(ParseError) -> OATHCredential {
        let scheme = "otpauth://"
        guard text.utf8.count > scheme.utf8.count,
              text.prefix(scheme.count).lowercased() == scheme else { throw .notOTPAuth }
        let rest = text.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/") else { throw .missingLabel }
        let type = rest[..<slash].lowercased()
        guard type == "totp" || type == "hotp" else { throw .unknownType }

        let afterType = rest[rest.index(after: slash)...]
        let labelPart: Substring
        let queryPart: Substring
        if let question = afterType.firstIndex(of: "?") {
            labelPart = afterType[..<question]
            queryPart = afterType[afterType.index(after: question)...]
        } else {
            labelPart = afterType
            queryPart = ""
        }
        let label = try percentDecode(labelPart, plusIsSpace: false)
        guard !label.isEmpty else { throw .missingLabel }

        // The label splits at its first colon scalar, not Character: a name
        // that starts with a combining mark joins the colon into one
        // Character. Spaces before the name are dropped whether or not an
        // issuer precedes it, so a name never starts with one and every
        // formatted label reads back as the same account.
        var labelIssuer: String?
        var account = Substring(label)
        let scalars = label.unicodeScalars
        if let colon = scalars.firstIndex(of: ":") {
            labelIssuer = String(scalars[..<colon])
            account = Substring(scalars[scalars.index(after: colon)...])
            if labelIssuer?.isEmpty == true { labelIssuer = nil }
        }
        let accountName = String(account.unicodeScalars.drop(while: { $0 == " " }))
        guard !accountName.isEmpty else { throw .missingLabel }

        var parameters: [String: String] = [:]
        for pair in queryPart.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring
            if let eq = pair.firstIndex(of: "=") {
                key = pair[..<eq]
                value = pair[pair.index(after: eq)...]
            } else {
                key = pair
                value = ""
            }
            let name = try percentDecode(key, plusIsSpace: true).lowercased()
            guard parameters[name] == nil else { throw .duplicateParameter(name) }
            parameters[name] = try percentDecode(value, plusIsSpace: true)
        }

        guard let secretText = parameters["secret"], !secretText.isEmpty else { throw .missingSecret }
        let secret: [UInt8]
        do { secret = try Base32.decode(secretText) } catch { throw .invalidSecret(error) }

        var algorithm = OATHAlgorithm.sha1
        if let value = parameters["algorithm"] {
            guard let parsed = OATHAlgorithm(name: value) else { throw .invalidValue(parameter: "algorithm") }
            algorithm = parsed
        }
        var digits = 6
        if let value = parameters["digits"] {
            guard let parsed = decimal(value).flatMap({ Int(exactly: $0) }), OTP.validDigits.contains(parsed) else { throw .invalidValue(parameter: "digits") }
            digits = parsed
        }
        let kind: OATHKind
        if type == "totp" {
            var period = OATHCredential.defaultPeriod
            if let value = parameters["period"] {
                guard let parsed = decimal(value).flatMap({ Int(exactly: $0) }), (1...86_400).contains(parsed) else { throw .invalidValue(parameter: "period") }
                period = parsed
            }
            kind = .totp(period: period)
        } else {
            var counter: UInt64 = 0
            if let value = parameters["counter"] {
                guard let parsed = decimal(value) else { throw .invalidValue(parameter: "counter") }
                counter = parsed
            }
            kind = .hotp(counter: counter)
        }
        var issuer = labelIssuer
        if let value = parameters["issuer"], !value.isEmpty { issuer = value }

        let credential = OATHCredential(issuer: issuer, name: accountName, kind: kind, algorithm: algorithm, digits: digits, secret: secret)
        do { try credential.validate() } catch { throw .invalidCredential(error) }
        return credential
    }

    /// The URI for `credential`. Parameters equal to the defaults are still
    /// written, so every app reads the same account.
    public static func format(_ credential: OATHCredential) -> String {
        var label = ""
        if let issuer = credential.issuer {
            label = percentEncode(issuer) + ":"
        } else if credential.name.unicodeScalars.contains(":") {
            // An empty issuer prefix keeps a name such as an MFA ARN whole:
            // parsers split the label at its first colon. Looked for as a
            // scalar, as `parse` splits: a colon followed by a combining
            // mark is no ":" Character.
            label = ":"
        }
        label += percentEncode(credential.name)
        var query = "secret=" + Base32.encode(credential.secret)
        if let issuer = credential.issuer { query += "&issuer=" + percentEncode(issuer) }
        query += "&algorithm=\(credential.algorithm.rawValue)&digits=\(credential.digits)"
        switch credential.kind {
        case .totp(let period): return "otpauth://totp/\(label)?\(query)&period=\(period)"
        case .hotp(let counter): return "otpauth://hotp/\(label)?\(query)&counter=\(counter)"
        }
    }

    /// A plain decimal number: ASCII digits only (no sign, no spaces).
    static func decimal(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return UInt64(text)
    }

    // MARK: - Percent-encoding

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecode(_ text: Substring, plusIsSpace: Bool) throws(ParseError) -> String {
        var out: [UInt8] = []
        var bytes = text.utf8[...]
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = bytes.popFirst().flatMap(hexValue), let low = bytes.popFirst().flatMap(hexValue) else {
                    throw .badPercentEncoding
                }
                out.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                out.append(UInt8(ascii: " "))
            default:
                out.append(byte)
            }
        }
        guard let decoded = String(validating: out, as: UTF8.self) else { throw .badPercentEncoding }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
