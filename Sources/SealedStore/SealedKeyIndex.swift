import SystemSupport

/// A plain list of which profiles have keys sealed in the vault, and their
/// access key ids (`sealed-keys` beside the vault, 0600): `PROFILE AKID` per
/// line. Access key ids are not secret (AWS prints them in CloudTrail and
/// error messages), and knowing them without the passphrase lets a warm
/// `credential-process` find its cached session without unlocking anything.
///
/// The vault stays the authority: the index is rewritten from it under the
/// vault's lock whenever keys are added or removed (``rewrite(from:at:)``).
public enum SealedKeyIndex {
    public static func path(_ location: VaultLocation) -> String { location.directory + "/sealed-keys" }

    /// Profile → access key id; empty when there is no index.
    public static func read(at location: VaultLocation) -> [String: String] {
        guard let bytes = try? PrivateFiles.read(path(location), limit: 1 << 20) else { return [:] }
        var result: [String: String] = [:]
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2 else { continue }
            result[String(decoding: fields[0], as: UTF8.self)] = String(decoding: fields[1], as: UTF8.self)
        }
        return result
    }

    /// Rewrites the index to list exactly the keys in `contents`. Call it
    /// inside the `Vault.update` that changed them, so it holds the lock.
    public static func rewrite(from contents: VaultContents, at location: VaultLocation) throws(SystemError) {
        let lines = SealedAWSKey.all(in: contents).map { "\($0.profile) \($0.accessKeyID)\n" }.joined()
        try PrivateFiles.writeAtomically(path(location), Array(lines.utf8))
    }
}
