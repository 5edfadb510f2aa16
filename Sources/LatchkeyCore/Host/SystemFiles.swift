import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Files that belong to the system rather than to the user: rule files
/// other programs (udevd, polkitd) read, so they are 0644 and their
/// directories 0755, unlike ``PrivateFiles``' 0600/0700.
public enum SystemFiles {
    /// Replaces `path` with `bytes` atomically, with mode 0644.
    ///
    /// The bytes are first written and flushed under a hidden name in the same
    /// directory by ``PrivateFiles/writeAtomically(_:_:)`` (0600), then made
    /// 0644 and renamed over `path`, so `path` only ever holds the old file or
    /// the complete new one, already 0644. The hidden name does not end in
    /// `.rules`, so neither udevd nor polkitd reads it meanwhile.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        let directory = PrivateFiles.parentDirectory(of: path)
        let staging = "\(directory)/.\(PrivateFiles.baseName(of: path)).\(getpid()).staged"
        do {
            try PrivateFiles.writeAtomically(staging, bytes)
        } catch {
            // Name the file being installed, not the temporary one.
            throw SystemError("cannot write", path: path, errno: error.errno)
        }
        guard chmod(staging, 0o644) == 0, rename(staging, path) == 0 else {
            let failure = SystemError("cannot install", path: path)
            unlink(staging)
            throw failure
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// The directories below `root` that `path` (below `root` too) needs and
    /// that do not exist yet, outermost first.
    public static func missingDirectories(for path: String, below root: String) -> [String] {
        var missing: [String] = []
        var directory = PrivateFiles.parentDirectory(of: path)
        while directory.count > root.count, !PrivateFiles.exists(directory) {
            missing.insert(directory, at: 0)
            directory = PrivateFiles.parentDirectory(of: directory)
        }
        return missing
    }

    /// Creates `directory` with mode 0755 whatever the umask (its parent must exist).
    public static func makeDirectory(_ directory: String) throws(SystemError) {
        if mkdir(directory, 0o755) != 0 && Errno.current != .exists {
            throw SystemError("cannot create directory", path: directory)
        }
        guard chmod(directory, 0o755) == 0 else { throw SystemError("cannot chmod", path: directory) }
    }

    /// The first of `path`'s components below `root` (the file itself
    /// included) that is a symbolic link, or `nil`; components that do not
    /// exist end the search (nothing below them can be a link).
    public static func firstSymbolicLink(from root: String, to path: String) -> String? {
        guard path.hasPrefix(root + "/") else { return nil }
        var current = root
        for component in path.dropFirst(root.count + 1).split(separator: "/") {
            current += "/" + component
            var info = stat()
            guard lstat(current, &info) == 0 else { return nil }
            if (info.st_mode & S_IFMT) == S_IFLNK { return current }
        }
        return nil
    }

    /// Whether `path` is an executable regular file (following links).
    public static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    /// Whether `path` is a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in `directory`, sorted, without `.` and `..`; empty when it
    /// cannot be read.
    public static func names(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The target of the symbolic link at `path`, or `nil` when it is not one.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A small text file's contents (links followed), or `nil` when it is
    /// absent, unreadable, not a regular file or over `limit` bytes.
    public static func readText(_ path: String, limit: Int = 1 << 20) -> String? {
        guard let bytes = try? PrivateFiles.read(path, limit: limit, followLinks: true) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
