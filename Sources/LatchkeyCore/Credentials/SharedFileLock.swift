import SessionCache
import SystemSupport

/// The lock latchkey holds while it rewrites one of the AWS shared files:
/// one lock per file, in latchkey's cache directory, taken by every writer
/// of that file (the credentials file: `auth --write-profile`, `keys
/// rotate`; the config file: `mfa enroll`, `keys rotate`). Two latchkey runs
/// that edit the same file therefore cannot lose each other's change.
enum SharedFileLock {
    enum File: String {
        case config = "config-file"
        case credentials = "credentials-file"
    }

    /// The lock's path for `file`.
    static func path(of file: File, in cache: SessionCache) -> String {
        cache.directory + "/" + file.rawValue + ".lock"
    }

    /// Waits up to 30 s for `file`'s lock and holds it until the lock is released.
    static func hold(_ file: File, in cache: SessionCache) throws -> FileLock {
        try PrivateFiles.ensurePrivateDirectory(cache.directory)
        return try FileLock(exclusive: path(of: file, in: cache), timeoutSeconds: 30)
    }
}
