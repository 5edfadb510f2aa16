import AWSConfig
import SessionCache
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The profile's section of `~/.aws/config` (AWS_CONFIG_FILE), rewritten
/// atomically under latchkey's lock with every other byte kept.
public struct ProfileConfigFile {
    var path: String
    var profile: String
    var cache: SessionCache

    public init(world: World, profile: String) throws {
        guard let paths = SharedConfigPaths(environment: world.environment),
            let cache = SessionCache.standard(in: world.environment)
        else {
            throw LatchkeyError(.failure, "cannot find the home directory: set HOME or AWS_CONFIG_FILE")
        }
        path = paths.config
        self.profile = profile
        self.cache = cache
    }

    private func properties(serial: String, source: String) -> [ConfigFileEditor.Property] {
        [.init("mfa_serial", serial), .init("latchkey_mfa", source)]
    }

    /// The file as it would be written, without writing it.
    private func edited(serial: String, source: String) throws -> [UInt8] {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
            throw LatchkeyError(.invalidInput, "\(path) is a symbolic link; latchkey will not replace it (point AWS_CONFIG_FILE at the real file)")
        }
        let existing = try PrivateFiles.read(path, limit: 4 << 20) ?? []
        do {
            return try ConfigFileEditor.settingProperties(properties(serial: serial, source: source), inProfile: profile, in: existing)
        } catch {
            throw LatchkeyError(.invalidInput, "cannot write profile '\(profile)' to \(path): \(error)")
        }
    }

    public func check(serial: String, source: String) throws {
        _ = try edited(serial: serial, source: source)
    }

    public func write(serial: String, source: String) throws {
        let lock = try SharedFileLock.hold(.config, in: cache)
        defer { withExtendedLifetime(lock) {} }
        let updated = try edited(serial: serial, source: source)
        let directory = PrivateFiles.parentDirectory(of: path)
        if !PrivateFiles.exists(directory) { try PrivateFiles.ensurePrivateDirectory(directory) }
        try PrivateFiles.writeAtomically(path, updated)
    }
}
