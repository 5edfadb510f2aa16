/// Hiding secrets when profiles are printed.
///
/// A key is secret when it is one of the credential keys
/// (`aws_secret_access_key`, `aws_session_token`, the legacy
/// `aws_security_token`) or its name contains `secret`, `token`,
/// `password` or `passphrase`. Secret values print as `<redacted>`, in
/// sub-property blocks too.
public enum ConfigRedaction {
    public static let placeholder = "<redacted>"

    public static func isSecret(key: String) -> Bool {
        let key = lowercasedKey(key)
        return ["secret", "token", "password", "passphrase"].contains { key.contains($0) }
    }

    public static func redact(_ value: ConfigValue, key: String) -> ConfigValue {
        switch value {
        case .text:
            return isSecret(key: key) ? .text(placeholder) : value
        case .subProperties(let values):
            var result: [String: String] = [:]
            for (subKey, subValue) in values {
                result[subKey] = isSecret(key: key) || isSecret(key: subKey) ? placeholder : subValue
            }
            return .subProperties(result)
        }
    }
}

extension ConfigSection {
    /// A copy with every secret value replaced by `<redacted>`.
    public func redacted() -> ConfigSection {
        var copy = self
        for (key, value) in properties { copy.properties[key] = ConfigRedaction.redact(value, key: key) }
        return copy
    }
}

/// The shared config as JSON-ready data:
///
///     {"profiles": {"NAME": {"key": "value", "s3": {"sub_key": "value"}}},
///      "sso_sessions": {"NAME": {...}}}
///
/// Encode it with any `Encoder` (a JSON encoder with sorted keys gives a
/// stable text).
public struct SharedConfigDocument: Sendable, Equatable, Encodable {
    public var profiles: [String: [String: ConfigValue]]
    public var ssoSessions: [String: [String: ConfigValue]]

    enum CodingKeys: String, CodingKey {
        case profiles
        case ssoSessions = "sso_sessions"
    }
}

extension SharedConfig {
    /// The merged profiles and the SSO sessions, secrets redacted unless
    /// `redactingSecrets` is false.
    public func document(redactingSecrets: Bool = true) -> SharedConfigDocument {
        func shape(_ sections: [String: ConfigSection]) -> [String: [String: ConfigValue]] {
            var result: [String: [String: ConfigValue]] = [:]
            for (name, section) in sections {
                result[name] = (redactingSecrets ? section.redacted() : section).properties
            }
            return result
        }
        return SharedConfigDocument(profiles: shape(profiles), ssoSessions: shape(ssoSessions))
    }
}
