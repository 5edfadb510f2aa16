#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// File operations for small private files: the vault, its lock, caches.
///
/// Every file is created 0600 and every directory 0700, whatever the umask.
/// Writes replace a file atomically: a temporary file in the same directory is
/// written, flushed with `fsync`, and renamed over the target, and then the
/// directory is flushed, so a reader sees either the old file or the new one
/// and a crash never leaves a half-written file behind.
public enum PrivateFiles {
    /// The largest file ``read(_:limit:)`` accepts by default (16 MiB).
    public static let defaultReadLimit = 16 << 20

    /// The contents of a regular file, or `nil` when it does not exist.
    ///
    /// Refuses to follow a symbolic link at the last path component (unless
    /// `followLinks`) and refuses anything that is not a regular file or larger than `limit`.
    public static func read(_ path: String, limit: Int = defaultReadLimit, followLinks: Bool = false) throws(SystemError) -> [UInt8]? {
        guard let (fd, _) = try openRegularFile(path, limit: limit, followLinks: followLinks) else { return nil }
        defer { close(fd) }
        return try readAll(fd: fd, limit: limit, path: path)
    }

    /// What ``readIfTrusted(_:limit:)`` found.
    public enum TrustedRead: Equatable {
        case missing
        /// The file is there, but someone else may have put it there or changed it.
        case untrusted(TrustProblem)
        case contents([UInt8])
    }

    /// Why a file or directory cannot be trusted to hold this user's private data.
    public enum TrustProblem: Equatable, Sendable, CustomStringConvertible {
        case symbolicLink
        case notADirectory
        case otherOwner(uid: UInt32, user: UInt32)
        case writableByOthers(mode: UInt32)

        public var description: String {
            switch self {
            case .symbolicLink: "it is a symbolic link"
            case .notADirectory: "it is not a directory"
            case .otherOwner(let uid, let user): "it belongs to uid \(uid), not to this user (uid \(user))"
            case .writableByOthers(let mode): "group or others may write to it (mode \(String(mode, radix: 8)))"
            }
        }
    }

    /// Like ``read(_:limit:followLinks:)``, for files another user must not
    /// be able to plant: a symbolic link, a file of another owner, or one
    /// that group or others may write is not read. Costs no more system
    /// calls than ``read(_:limit:followLinks:)`` (the checks use its `fstat`)
    /// but one `geteuid` per process.
    public static func readIfTrusted(_ path: String, limit: Int = defaultReadLimit) throws(SystemError) -> TrustedRead {
        let opened: (Int32, stat)?
        do throws(SystemError) {
            opened = try openRegularFile(path, limit: limit, followLinks: false)
        } catch where error.errno == .loop {
            return .untrusted(.symbolicLink)
        }
        guard let (fd, info) = opened else { return .missing }
        defer { close(fd) }
        if let problem = trustProblem(owner: info.st_uid, mode: info.st_mode) { return .untrusted(problem) }
        return .contents(try readAll(fd: fd, limit: limit, path: path))
    }

    /// This process's effective uid, asked once (`geteuid`): latchkey never
    /// changes it, and the warm credential-process path checks two owners.
    private static let effectiveUser: uid_t = geteuid()

    /// Why a directory cannot be trusted to hold this user's private files,
    /// or `nil` when it can or does not exist. One `lstat`.
    public static func directoryTrustProblem(_ path: String) -> TrustProblem? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return trustProblem(owner: info.st_uid, mode: info.st_mode)
        case S_IFLNK: return .symbolicLink
        default: return .notADirectory
        }
    }

    /// Another owner than this process's effective user, or write access for
    /// group or others: either lets someone else put contents there.
    public static func trustProblem(owner: uid_t, mode: mode_t) -> TrustProblem? {
        let user = effectiveUser
        if owner != user { return .otherOwner(uid: owner, user: user) }
        if mode & 0o022 != 0 { return .writableByOthers(mode: mode & 0o7777) }
        return nil
    }

    /// Opens a regular file for reading and `fstat`s it; `nil` when it does
    /// not exist.
    private static func openRegularFile(_ path: String, limit: Int, followLinks: Bool) throws(SystemError) -> (Int32, stat)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW))
        if fd < 0 {
            let err = Errno.current
            if err == .noEntry { return nil }
            throw SystemError("cannot open", path: path, errno: err)
        }
        var info = stat()
        var failure: SystemError?
        if fstat(fd, &info) != 0 {
            failure = SystemError("cannot stat", path: path)
        } else if (info.st_mode & S_IFMT) != S_IFREG {
            failure = SystemError("not a regular file:", path: path, errno: Errno(rawValue: EINVAL))
        } else if Int(info.st_size) > limit {
            failure = SystemError("file too large:", path: path, errno: Errno(rawValue: EFBIG))
        }
        if let failure {
            close(fd)
            throw failure
        }
        return (fd, info)
    }

    /// Reads a descriptor to its end, failing when more than `limit` bytes arrive.
    public static func readAll(fd: Int32, limit: Int, path: String? = nil) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        defer { chunk.wipe() }
        while true {
            let n = try retryingOnInterrupt("cannot read", path: path) {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { return result }
            guard result.count + n <= limit else {
                result.wipe()
                throw SystemError("input too large:", path: path ?? "stdin", errno: Errno(rawValue: EFBIG))
            }
            result.append(contentsOf: chunk[0..<n])
        }
    }

    /// Replaces `path` with `bytes` atomically, with mode 0600.
    ///
    /// The directory must exist. On any failure the temporary file is removed
    /// and `path` is left as it was.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        let directory = parentDirectory(of: path)
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        let temporary = "\(directory)/.\(baseName(of: path)).\(getpid()).\(String(random, radix: 36)).tmp"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemError("cannot create", path: temporary) }
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            // The umask may have narrowed the mode further; never widen it, but
            // make sure it is exactly 0600 even if the umask was unusual.
            guard fchmod(fd, 0o600) == 0 else { throw SystemError("cannot chmod", path: temporary) }
            try writeAll(fd: fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw SystemError("cannot flush", path: temporary) }
        }
        guard rename(temporary, path) == 0 else { throw SystemError("cannot replace", path: path) }
        committed = true
        syncDirectory(directory)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes.
    public static func writeAll(fd: Int32, _ bytes: [UInt8], path: String? = nil) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try retryingOnInterrupt("cannot write", path: path) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += n
        }
    }

    /// Creates `path` and any missing parents with mode 0700, and narrows an
    /// existing `path` to 0700 (parents that already exist are left alone).
    public static func ensurePrivateDirectory(_ path: String) throws(SystemError) {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw SystemError("not a directory:", path: path, errno: Errno(rawValue: ENOTDIR))
            }
            if info.st_mode & 0o077 != 0 {
                guard chmod(path, 0o700) == 0 else { throw SystemError("cannot chmod", path: path) }
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path, parent != "/", parent != "." {
            var parentInfo = stat()
            if stat(parent, &parentInfo) != 0 { try ensurePrivateDirectory(parent) }
        }
        if mkdir(path, 0o700) != 0 && Errno.current != .exists {
            throw SystemError("cannot create directory", path: path)
        }
        guard chmod(path, 0o700) == 0 else { throw SystemError("cannot chmod", path: path) }
    }

    /// Removes the file at `path` (a link itself, never its target); false
    /// when there was nothing to remove.
    @discardableResult
    public static func remove(_ path: String) throws(SystemError) -> Bool {
        if unlink(path) == 0 { return true }
        if Errno.current == .noEntry { return false }
        throw SystemError("cannot remove", path: path)
    }

    /// The names in directory `path` (without `.` and `..`); empty when it
    /// does not exist.
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else {
            if Errno.current == .noEntry { return [] }
            throw SystemError("cannot list", path: path)
        }
        defer { closedir(directory) }
        return entryNames(directory)
    }

    /// Removes the regular files in `directory` whose names `shouldRemove`
    /// accepts, and returns how many went; nothing when the directory does
    /// not exist.
    ///
    /// The directory is opened with `O_NOFOLLOW` and must belong to this
    /// user: a symbolic link or another's directory is refused, so the files
    /// removed are never someone else's. Entries are removed relative to the
    /// opened directory (`unlinkat`), so it cannot be swapped in between.
    public static func removeFiles(in directory: String, where shouldRemove: (String) -> Bool) throws(SystemError) -> Int {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let err = Errno.current
            if err == .noEntry { return 0 }
            if err == .loop || err.rawValue == ENOTDIR {
                let problem = directoryTrustProblem(directory) ?? .notADirectory
                throw SystemError("will not remove files in", path: directory, errno: err, detail: problem.description)
            }
            throw SystemError("cannot open", path: directory, errno: err)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("cannot stat", path: directory) }
        if info.st_uid != effectiveUser {
            let problem = TrustProblem.otherOwner(uid: info.st_uid, user: effectiveUser)
            throw SystemError("will not remove files in", path: directory, errno: .notPermitted, detail: problem.description)
        }
        var removed = 0
        for name in try directoryEntries(fd: fd, path: directory) where shouldRemove(name) {
            var entry = stat()
            guard fstatat(fd, name, &entry, AT_SYMLINK_NOFOLLOW) == 0, (entry.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlinkat(fd, name, 0) == 0 {
                removed += 1
            } else if Errno.current != .noEntry {
                throw SystemError("cannot remove", path: directory + "/" + name)
            }
        }
        return removed
    }

    private static func directoryEntries(fd: Int32, path: String) throws(SystemError) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let failure = SystemError("cannot list", path: path)
            if copy >= 0 { close(copy) }
            throw failure
        }
        defer { closedir(stream) }
        return entryNames(stream)
    }

    private static func entryNames(_ stream: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The mode bits (permissions only) of `path`, without following a link.
    public static func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode & 0o7777)
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// An exclusive advisory lock (`flock`) on a lock file, held until the value
/// is released. Processes that take the same lock file run one at a time.
public final class FileLock {
    private let fd: Int32
    public let path: String

    /// Opens (creating 0600 if needed) and locks `path`, waiting for any holder.
    /// The corresponding C function is `flock(LOCK_EX)`.
    public init(exclusive path: String) throws(SystemError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemError("cannot open lock", path: path) }
        do {
            try retryingOnInterrupt("cannot lock", path: path) { flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    /// Like ``init(exclusive:)``, but gives up after `timeoutSeconds` with
    /// `ETIMEDOUT` (polling every 20 ms, so a waiter never hangs forever
    /// behind a stuck holder).
    ///
    /// With a `purpose`, the holder writes `PID PURPOSE` into the lock file
    /// while it holds the lock (and empties it on release), and a waiter that
    /// gives up names them: "process 4242 holds it (waiting for …)".
    public init(exclusive path: String, timeoutSeconds: Double, purpose: String? = nil) throws(SystemError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SystemError("cannot open lock", path: path) }
        var waited = 0.0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = Errno.current
            guard failure.rawValue == EWOULDBLOCK || failure == .interrupted else {
                close(fd)
                throw SystemError("cannot lock", path: path, errno: failure)
            }
            guard waited < timeoutSeconds else {
                let holder = Self.holder(fd: fd)
                close(fd)
                throw SystemError(
                    "gave up after \(Self.secondsText(timeoutSeconds)) waiting for the lock", path: path,
                    errno: Errno(rawValue: ETIMEDOUT), detail: holder)
            }
            usleep(20_000)
            waited += 0.02
        }
        self.fd = fd
        self.path = path
        if let purpose {
            // Best effort: the note only helps a waiter explain the wait.
            let note = Array("\(getpid()) \(purpose)\n".utf8)
            if ftruncate(fd, 0) == 0 { _ = note.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
            wroteNote = true
        }
    }

    private var wroteNote = false

    /// Who holds the lock, from the `PID PURPOSE` line its holder wrote.
    private static func holder(fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let line = String(decoding: buffer.prefix(max(count, 0)).prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 1)
        // A process that has gone cannot hold a flock: the line is stale.
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, kill(pid, 0) == 0 || Errno.current == .notPermitted else {
            return "another process holds it"
        }
        return "process \(pid) holds it (\(parts[1]))"
    }

    private static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    deinit {
        if wroteNote { _ = ftruncate(fd, 0) }
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
