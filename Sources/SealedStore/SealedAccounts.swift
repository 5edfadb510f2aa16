import OATH
import SystemSupport

/// TOTP/HOTP accounts as vault entries of kind ``VaultEntry/Kind/oathAccount``,
/// named by their credential id.
///
/// Fields: `secret` (raw key bytes), `type` (`totp`/`hotp`), `algorithm`,
/// `digits`, `period` or `counter`, `account`, and `issuer` when there is one.
public enum SealedAccounts {
    public static func entry(for credential: OATHCredential) -> VaultEntry {
        var fields: [String: SecretBytes] = [
            "secret": SecretBytes(credential.secret),
            "algorithm": text(credential.algorithm.rawValue),
            "digits": text(String(credential.digits)),
            "account": text(credential.name),
        ]
        switch credential.kind {
        case .totp(let period):
            fields["type"] = text("totp")
            fields["period"] = text(String(period))
        case .hotp(let counter):
            fields["type"] = text("hotp")
            fields["counter"] = text(String(counter))
        }
        if let issuer = credential.issuer { fields["issuer"] = text(issuer) }
        return VaultEntry(kind: .oathAccount, name: credential.id.description, fields: fields)
    }

    /// The credential an entry holds, or `nil` if the entry is malformed.
    public static func credential(from entry: VaultEntry) -> OATHCredential? {
        guard entry.kind == .oathAccount, let secret = entry.fields["secret"],
              let name = entry.text("account"),
              let algorithm = entry.text("algorithm").flatMap(OATHAlgorithm.init(name:)),
              let digits = entry.text("digits").flatMap({ Int($0) })
        else { return nil }
        let kind: OATHKind
        switch entry.text("type") {
        case "totp":
            guard let period = entry.text("period").flatMap({ Int($0) }) else { return nil }
            kind = .totp(period: period)
        case "hotp":
            guard let counter = entry.text("counter").flatMap({ UInt64($0) }) else { return nil }
            kind = .hotp(counter: counter)
        default:
            return nil
        }
        let credential = OATHCredential(
            issuer: entry.text("issuer"), name: name, kind: kind, algorithm: algorithm, digits: digits, secret: secret.bytes)
        guard (try? credential.validate()) != nil else { return nil }
        return credential
    }

    /// Every well-formed account, sorted by id.
    public static func all(in contents: VaultContents) -> [OATHCredential] {
        contents.entries(of: .oathAccount).compactMap(credential(from:)).sorted { $0.id < $1.id }
    }

    private static func text(_ value: String) -> SecretBytes { SecretBytes(Array(value.utf8)) }
}
