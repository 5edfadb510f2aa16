#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import CProcessControl

/// Another program latchkey runs (`udevadm`, a source profile's
/// `credential_process`), with one policy for all of them:
///
/// - the environment given, less latchkey's own secrets
///   (``Environment/forChild``);
/// - SIGPIPE, SIGTERM, SIGINT, SIGHUP and SIGQUIT at their defaults and no
///   signal blocked, whatever latchkey did with them;
/// - the core-size limit the user set, not latchkey's 0
///   (``ProcessHardening/withInheritedCoreLimit(_:)``);
/// - standard output read through a pipe, at most ``outputLimit`` bytes;
/// - killed (SIGKILL) after ``timeoutSeconds`` when there is a limit.
///
/// The corresponding C function is `posix_spawn`.
public struct Subprocess {
    public enum Input: Sendable { case null, inherit }
    public enum ErrorOutput: Sendable { case inherit, intoOutput }
    /// What to do with output beyond ``outputLimit``.
    public enum Overflow: Sendable {
        /// Keep the last ``outputLimit`` bytes (a log tail for a message).
        case keepLast
        /// Stop: the run throws `E2BIG` (the output was to be parsed).
        case fail
    }

    /// How a run ended.
    public struct Outcome: Sendable {
        /// The exit status; `nil` when killed by a signal or the time limit.
        public var status: Int32?
        /// The signal that ended it, if one did.
        public var signal: Int32?
        public var output: [UInt8]
        public var timedOut: Bool

        /// The exit status as a shell reports it: 128 + the signal when killed.
        public var shellStatus: Int32 { status ?? 128 + (signal ?? 0) }
    }

    public var path: String
    public var arguments: [String]
    public var environment: Environment
    public var input: Input = .null
    public var errorOutput: ErrorOutput = .inherit
    public var outputLimit = 64 << 10
    public var overflow: Overflow = .fail
    public var timeoutSeconds: Int?

    public init(_ path: String, _ arguments: [String], environment: Environment) {
        self.path = path
        self.arguments = arguments
        self.environment = environment
    }

    public func run() throws(SystemError) -> Outcome {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { throw SystemError("cannot create a pipe for", path: path) }
        // Close-on-exec, so the program holds only the copies on its fd 1 (and 2).
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var readEnd = pipeEnds[0]
        defer { if readEnd >= 0 { close(readEnd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input == .null { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        if errorOutput == .intoOutput { posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2) }

        var pid: pid_t = 0
        let spawned = spawn { attributes, argv, envp in posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
        close(pipeEnds[1])
        guard spawned == 0 else { throw SystemError("cannot run", path: path, errno: Errno(rawValue: spawned)) }

        let deadline = timeoutSeconds.map { Deadline(seconds: Double($0)) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        var tooLarge = false
        while readEnd >= 0 {
            var wait: Int32 = -1
            if let deadline {
                guard !deadline.hasPassed else {
                    timedOut = true
                    break
                }
                wait = min(deadline.millisecondsLeft, 1000)
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, wait)
            if ready < 0 && Errno.current != .interrupted { break }
            guard ready > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(contentsOf: chunk.prefix(count))
                if output.count > outputLimit {
                    guard overflow == .keepLast else {
                        tooLarge = true
                        break
                    }
                    output.removeFirst(output.count - outputLimit)
                }
            } else if count == 0 || Errno.current != .interrupted {
                close(readEnd)
                readEnd = -1
            }
        }
        chunk.wipe()
        // The output has ended; give the program what is left of the time
        // to exit, then kill it (a program whose output overflowed at once).
        var status: Int32 = 0
        var reaped = false
        while !timedOut && !tooLarge {
            let result = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if result == pid {
                reaped = true
                break
            }
            if result < 0 && Errno.current != .interrupted { break }
            if let deadline, result == 0 {
                if deadline.hasPassed { timedOut = true } else { usleep(20_000) }
            }
        }
        if !reaped {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && Errno.current == .interrupted {}
        }
        if tooLarge {
            output.wipe()
            throw SystemError("more than \(outputLimit) bytes of output from", path: path, errno: Errno(rawValue: E2BIG))
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let exited = status & 0x7F == 0
        return Outcome(
            status: exited && !timedOut ? (status >> 8) & 0xFF : nil, signal: exited ? nil : status & 0x7F, output: output,
            timedOut: timedOut)
    }
}

// MARK: - Spawning

extension Subprocess {
    /// Calls `start` (`posix_spawn` or `posix_spawnp`) with the policy every
    /// program gets: no signal blocked, SIGPIPE, SIGTERM, SIGINT, SIGHUP and
    /// SIGQUIT at their defaults, the environment less latchkey's secrets,
    /// the user's core limit. Returns what `start` returns.
    fileprivate func spawn(
        _ start: (inout posix_spawnattr_t, [UnsafeMutablePointer<CChar>?], [UnsafeMutablePointer<CChar>?]) -> Int32
    ) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.forChild.variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        return ProcessHardening.withInheritedCoreLimit { start(&attributes, argv, envp) }
    }
}

// MARK: - A command in the foreground

extension Subprocess {
    /// Runs the program with latchkey's standard streams (the person's
    /// terminal) and waits for it, as a shell runs a command: SIGINT and
    /// SIGQUIT from the terminal reach the program by themselves (latchkey
    /// ignores them meanwhile), SIGTERM and SIGHUP sent to latchkey are
    /// passed on. ``path`` is looked up in `PATH` when it has no slash.
    ///
    /// The corresponding C functions are `posix_spawnp` and `waitpid`.
    public func runAttached() throws(SystemError) -> Outcome {
        latchkey_forward_signals(0)
        var pid: pid_t = 0
        let spawned = spawn { attributes, argv, envp in posix_spawnp(&pid, path, nil, &attributes, argv, envp) }
        guard spawned == 0 else { throw SystemError("cannot run", path: path, errno: Errno(rawValue: spawned)) }
        latchkey_forward_signals(pid)

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard Errno.current == .interrupted else { throw SystemError("cannot wait for", path: path) }
        }
        latchkey_forward_signals(0)
        let exited = status & 0x7F == 0
        return Outcome(status: exited ? (status >> 8) & 0xFF : nil, signal: exited ? nil : status & 0x7F, output: [], timedOut: false)
    }

    /// Waits until SIGINT, SIGTERM or SIGHUP arrives, which then no longer
    /// end the process (`serve` stops its server and exits 0). Returns the
    /// signal.
    public static func awaitTerminationSignal() throws(SystemError) -> Int32 {
        try TerminationSignals().wait()
    }
}
