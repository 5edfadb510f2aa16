import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Another program latchkey runs (so far only `udevadm`, from `setup`).
public struct ExternalProgram {
    /// How a run ended.
    public struct Outcome {
        /// The exit status, or `nil` when it was killed by a signal or for
        /// taking longer than the time limit.
        public var status: Int32?
        /// stdout and stderr together, the last 4 KiB at most, trimmed.
        public var output: String
        public var timedOut: Bool

        /// The output's last line, for a one-line report.
        public var lastLine: String {
            output.split(separator: "\n").last.map(String.init) ?? ""
        }
    }

    public var path: String

    public init(path: String) { self.path = path }

    /// Runs the program with `arguments`, stdin from /dev/null, default
    /// signal handling, and `environment` less latchkey's secrets; kills it
    /// after `timeoutSeconds`. The corresponding C function is `posix_spawn`.
    public func run(_ arguments: [String], environment: Environment, timeoutSeconds: Int = 30) throws(SystemError) -> Outcome {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { throw SystemError("cannot create a pipe for", path: path) }
        // Close-on-exec, so the program holds only the copies on its fd 1 and 2.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var readEnd = pipeEnds[0]
        defer { if readEnd >= 0 { close(readEnd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)

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
        var pid: pid_t = 0
        let spawned = ProcessHardening.withInheritedCoreLimit { posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
        close(pipeEnds[1])
        guard spawned == 0 else { throw SystemError("cannot run", path: path, errno: Errno(rawValue: spawned)) }

        let deadline = monotonicSeconds() + UInt64(timeoutSeconds)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        while readEnd >= 0 {
            let remaining = Int64(deadline) - Int64(monotonicSeconds())
            guard remaining > 0 else {
                timedOut = true
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1)) * 1000)
            if ready < 0 && Errno.current != .interrupted { break }
            guard ready > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(contentsOf: chunk.prefix(count))
                if output.count > 4096 { output.removeFirst(output.count - 4096) }
            } else if count == 0 || Errno.current != .interrupted {
                close(readEnd)
                readEnd = -1
            }
        }
        // The output has ended; give the program what is left of the time
        // to exit, then kill it.
        var status: Int32 = 0
        while !timedOut {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && Errno.current != .interrupted) { break }
            if monotonicSeconds() >= deadline { timedOut = true } else { usleep(20_000) }
        }
        if timedOut {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && Errno.current == .interrupted {}
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7F == 0
        return Outcome(
            status: exited && !timedOut ? (status >> 8) & 0xFF : nil,
            output: trimmed(String(decoding: output, as: UTF8.self)), timedOut: timedOut)
    }
}

/// `text` without leading and trailing white space and newlines.
private func trimmed(_ text: String) -> String {
    var rest = Substring(text)
    while let first = rest.first, first.isWhitespace { rest.removeFirst() }
    while let last = rest.last, last.isWhitespace { rest.removeLast() }
    return String(rest)
}
