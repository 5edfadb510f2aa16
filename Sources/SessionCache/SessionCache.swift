import SystemSupport

/// latchkey's cache of temporary credentials: `$XDG_CACHE_HOME/latchkey/`
/// (else `~/.cache/latchkey/`), mode 0700, one 0600 file per ``CacheKey``
/// under `sessions/`, each written atomically.
///
/// Callers that may fetch a session take the key's lock first and read the
/// cache again under it (``withLock(_:timeoutSeconds:_:)``): when many
/// processes start at once on a cold cache, one fetches and the rest find
/// its result.
public struct SessionCache: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The standard place for `environment`, or `nil` without a home directory.
    public static func standard(in environment: Environment) -> SessionCache? {
        environment.xdgDirectory("XDG_CACHE_HOME", fallback: ".cache").map { SessionCache(directory: $0 + "/latchkey") }
    }

    public var sessionsDirectory: String { directory + "/sessions" }

    public func path(for key: CacheKey) -> String { sessionsDirectory + "/" + key.fileName }

    /// The cached session for `key`, if there is a well-formed one (expired
    /// or not: see ``fresh(_:now:minimumSecondsLeft:note:)``). Never creates anything.
    ///
    /// Only what this user alone could have written is read: the sessions
    /// directory and the file must belong to the user and be closed to
    /// writes by group and others, and neither may be a symbolic link.
    /// Otherwise the file is ignored and `note` is told why (one line). The
    /// checks cost one `lstat` of the directory; the file's are made on the
    /// `fstat` of the opened file that reading does anyway.
    public func read(_ key: CacheKey, note: (String) -> Void = { _ in }) -> CachedSession? {
        if let problem = PrivateFiles.directoryTrustProblem(sessionsDirectory) {
            note("latchkey: ignoring the session cache \(sessionsDirectory): \(problem)\n")
            return nil
        }
        let path = path(for: key)
        switch try? PrivateFiles.readIfTrusted(path, limit: CachedSession.maximumBytes) {
        case .contents(var contents):
            defer { contents.wipe() }
            return CachedSession(parsing: contents)
        case .untrusted(let problem):
            note("latchkey: ignoring the cached session \(path): \(problem)\n")
            return nil
        case .missing, nil:
            return nil
        }
    }

    /// The cached session for `key` when more than `minimumSecondsLeft`
    /// remain at `now` (15 minutes by default: an SDK asks again on every
    /// request once fewer remain). `note` as for ``read(_:note:)``.
    public func fresh(
        _ key: CacheKey, now: Int64, minimumSecondsLeft: Int64 = Self.reuseThreshold, note: (String) -> Void = { _ in }
    ) -> CachedSession? {
        guard let session = read(key, note: note), session.secondsLeft(at: now) > minimumSecondsLeft else { return nil }
        return session
    }

    public static let reuseThreshold: Int64 = 15 * 60

    /// Writes the session for `key`; refuses a sessions directory that is a
    /// symbolic link or belongs to another user (a directory of this user
    /// that others may write to is narrowed to 0700).
    public func write(_ session: CachedSession, for key: CacheKey) throws(SystemError) {
        try requireOwnDirectory(sessionsDirectory)
        try PrivateFiles.ensurePrivateDirectory(sessionsDirectory)
        var bytes = session.serialized
        defer { bytes.wipe() }
        try PrivateFiles.writeAtomically(path(for: key), bytes)
    }

    /// Removes the session for `key`; true when there was one.
    @discardableResult
    public func remove(_ key: CacheKey) throws(SystemError) -> Bool {
        try PrivateFiles.remove(path(for: key))
    }

    /// Removes every cached session (lock files stay: they hold nothing).
    /// Returns how many sessions were removed.
    ///
    /// Only regular files named as ``CacheKey/fileName`` names them go; a
    /// sessions directory that is a symbolic link or another user's is
    /// refused (``PrivateFiles/removeFiles(in:where:)``).
    @discardableResult
    public func removeAll() throws(SystemError) -> Int {
        try PrivateFiles.removeFiles(in: sessionsDirectory, where: CacheKey.isFileName)
    }

    /// Runs `body` holding the exclusive lock for `key`, waiting up to
    /// `timeoutSeconds` for another process to let go. `purpose` (what the
    /// holder will wait for) is kept in the lock file for a waiter's message.
    public func withLock<T>(
        _ key: CacheKey, timeoutSeconds: Double = Self.lockTimeout, purpose: String? = nil, _ body: () throws -> T
    ) throws -> T {
        try requireOwnDirectory(sessionsDirectory)
        try PrivateFiles.ensurePrivateDirectory(sessionsDirectory)
        let lock = try FileLock(exclusive: path(for: key) + ".lock", timeoutSeconds: timeoutSeconds, purpose: purpose)
        return try withExtendedLifetime(lock) { try body() }
    }

    private func requireOwnDirectory(_ path: String) throws(SystemError) {
        switch PrivateFiles.directoryTrustProblem(path) {
        case nil, .writableByOthers: return
        case let problem?: throw SystemError("will not write into", path: path, errno: .notPermitted, detail: problem.description)
        }
    }

    /// Long enough for another process to wait for a touch (a key gives up
    /// after about 15 s) and for STS to answer twice.
    public static let lockTimeout: Double = 120
}
