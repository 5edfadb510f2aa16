import CProcessControl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps the secrets in this process's memory (long-term AWS keys, the
/// vault's passphrase and seeds, session credentials) out of core files and
/// out of reach of other processes of the same user.
///
/// `main` calls ``protectSecrets()`` before any command runs. The warm
/// `credential-process` path answers before it: the call cost that path
/// about 1 ms (20 %) in `latchkey-bench interleave`, though the two system
/// calls take microseconds (the time is spent off the CPU, cause not found),
/// and that path holds only what this user's own files hold.
public enum ProcessHardening {
    /// Makes the process not dumpable and sets its core-size limit to 0:
    ///
    /// - `prctl(PR_SET_DUMPABLE, 0)`: no core dump (while `fs.suid_dumpable`
    ///   is 0, the default), and `/proc/PID/mem`, `/proc/PID/environ` and
    ///   `ptrace` attach (`gdb -p`) are closed to other processes of the same
    ///   user; only root keeps them. The process's `/proc/PID` files then
    ///   belong to root.
    /// - `setrlimit(RLIMIT_CORE)` with a soft limit of 0, for systems where
    ///   `fs.suid_dumpable` is 2 (non-dumpable processes dump too, readable by
    ///   root only). The hard limit stays, and children get the soft limit
    ///   latchkey started with (``withInheritedCoreLimit(_:)``).
    ///
    /// Best effort: neither call fails for an ordinary process, and when one
    /// does (a seccomp filter, an odd kernel) nothing is said, since the
    /// person could not act on it and the command should still run.
    ///
    /// The dumpable flag is reset by `execve` of an ordinary binary, so the
    /// programs latchkey runs (`exec`'s command, a `credential_process`,
    /// `udevadm`) are dumpable as usual.
    public static func protectSecrets() {
        _ = latchkey_set_not_dumpable()
        var limit = rlimit()
        guard getrlimit(coreResource, &limit) == 0 else { return }
        inheritedCoreLimit = limit.rlim_cur
        limit.rlim_cur = 0
        _ = setrlimit(coreResource, &limit)
    }

    /// Runs `body` (which starts another program: `posix_spawn`, `execvp`)
    /// with the core-size limit latchkey started with, so the program gets
    /// the limit its user set, then sets it back to 0. This process stays
    /// not dumpable meanwhile, so it writes no core in between.
    public static func withInheritedCoreLimit<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        guard let inherited = inheritedCoreLimit else { return try body() }
        var limit = rlimit()
        guard getrlimit(coreResource, &limit) == 0 else { return try body() }
        let current = limit.rlim_cur
        limit.rlim_cur = min(inherited, limit.rlim_max)
        _ = setrlimit(coreResource, &limit)
        defer {
            limit.rlim_cur = current
            _ = setrlimit(coreResource, &limit)
        }
        return try body()
    }

    /// The soft core-size limit before ``protectSecrets()``; `nil` before it
    /// ran. Written once, by `main` before it starts any thread, and only
    /// read afterwards, hence `nonisolated(unsafe)`.
    nonisolated(unsafe) private static var inheritedCoreLimit: rlim_t?

    #if canImport(Glibc)
    private static let coreResource = __rlimit_resource_t(RLIMIT_CORE.rawValue)
    #else
    private static let coreResource = RLIMIT_CORE
    #endif
}
