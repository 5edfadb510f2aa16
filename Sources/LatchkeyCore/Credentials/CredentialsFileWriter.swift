import AWSConfig
import CredentialFlow
import SessionCache
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `auth --write-profile NAME`: puts the session into section `[NAME]` of
/// the shared credentials file, leaving every other byte as it was.
///
/// The file is replaced atomically (0600) while latchkey's lock for it is
/// held, so two latchkey runs cannot lose each other's sections. It refuses
/// a symbolic link (replacing it would cut the link a dotfile manager made)
/// and a section that holds long-term keys (they would be lost).
public enum CredentialsFileWriter {
    public static func write(_ session: CachedSession, profile name: String, plan: CredentialPlan, world: World, cache: SessionCache) throws {
        guard let paths = SharedConfigPaths(environment: world.environment) else {
            throw LatchkeyError(.failure, "cannot find the home directory: set HOME or AWS_SHARED_CREDENTIALS_FILE")
        }
        let path = paths.credentials
        if case .sharedFile(let profile, _)? = plan.step.rootKeys, profile == name {
            throw LatchkeyError(.invalidInput, "profile '\(name)' holds the long-term keys these credentials come from; write the session to another profile")
        }
        let lock = try SharedFileLock.hold(.credentials, in: cache)
        defer { withExtendedLifetime(lock) {} }

        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
            throw LatchkeyError(.invalidInput, "\(path) is a symbolic link; latchkey will not replace it (point AWS_SHARED_CREDENTIALS_FILE at the real file)")
        }
        var existing = try PrivateFiles.read(path, limit: 4 << 20) ?? []
        defer { existing.wipe() }
        let current = try SharedConfig.parse(config: nil, configPath: paths.config, credentials: existing, credentialsPath: path)
        if let section = current.credentialsFileProfiles[name], section.nonEmpty("aws_access_key_id") != nil, section.nonEmpty("aws_session_token") == nil {
            throw LatchkeyError(.invalidInput, "profile '\(name)' in \(path) holds long-term keys (no aws_session_token); latchkey will not overwrite them")
        }
        var properties = [
            CredentialsFileEditor.Property("aws_access_key_id", session.credentials.accessKeyID),
            CredentialsFileEditor.Property("aws_secret_access_key", session.credentials.secretAccessKey),
        ]
        if let token = session.credentials.sessionToken {
            properties.append(.init("aws_session_token", token))
        }
        properties.append(.init("latchkey_expiration", session.expirationText))
        var updated: [UInt8]
        do {
            updated = try CredentialsFileEditor.replacingSection(named: name, with: properties, in: existing)
        } catch {
            throw LatchkeyError(.invalidInput, "cannot write profile '\(name)': \(error)")
        }
        defer { updated.wipe() }
        let directory = PrivateFiles.parentDirectory(of: path)
        if !PrivateFiles.exists(directory) { try PrivateFiles.ensurePrivateDirectory(directory) }
        try PrivateFiles.writeAtomically(path, updated)
    }
}
