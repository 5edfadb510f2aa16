import SystemSupport

/// Long-term AWS access keys as vault entries of kind
/// ``VaultEntry/Kind/awsAccessKey``, named by profile.
///
/// Fields: `access_key_id` and `secret_access_key`.
public struct SealedAWSKey: Sendable {
    public var profile: String
    public var accessKeyID: String
    public var secretAccessKey: SecretBytes

    public init(profile: String, accessKeyID: String, secretAccessKey: SecretBytes) {
        self.profile = profile
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    public var entry: VaultEntry {
        VaultEntry(kind: .awsAccessKey, name: profile, fields: [
            "access_key_id": SecretBytes(Array(accessKeyID.utf8)),
            "secret_access_key": secretAccessKey,
        ])
    }

    /// The key an entry holds, or `nil` if the entry is malformed.
    public init?(_ entry: VaultEntry) {
        guard entry.kind == .awsAccessKey, let id = entry.text("access_key_id"), !id.isEmpty,
              let secret = entry.fields["secret_access_key"], !secret.isEmpty
        else { return nil }
        self.init(profile: entry.name, accessKeyID: id, secretAccessKey: secret)
    }

    /// Every well-formed key in the vault, sorted by profile.
    public static func all(in contents: VaultContents) -> [SealedAWSKey] {
        contents.entries(of: .awsAccessKey).compactMap(SealedAWSKey.init).sorted { $0.profile < $1.profile }
    }

    /// An access key id as AWS issues them: 16 to 128 upper-case letters and digits.
    public static func isValidAccessKeyID(_ text: String) -> Bool {
        (16...128).contains(text.utf8.count) && text.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// A secret access key: 16 to 128 printable ASCII characters without spaces.
    public static func isValidSecret(_ bytes: [UInt8]) -> Bool {
        (16...128).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
