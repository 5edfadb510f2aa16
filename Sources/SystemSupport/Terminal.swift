#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The controlling terminal, opened as `/dev/tty`.
///
/// Prompts go here rather than to stdout or stderr: `credential_process`
/// callers pipe both, and a prompt there is never seen. A process without a
/// controlling terminal (cron, CI, a service) gets `nil` from ``open()``
/// instead of a prompt that waits forever.
public final class Terminal {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Opens `/dev/tty`, or returns `nil` when the process has no terminal.
    public static func open() -> Terminal? {
        let fd = Glibc.open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        return Terminal(fd: fd)
    }

    /// Whether standard output or error is this terminal (for live countdowns).
    public static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    public func write(_ text: String) {
        try? PrivateFiles.writeAll(fd: fd, Array(text.utf8))
    }

    /// Prints `prompt`, reads one line with echo turned off, and returns it
    /// without its line ending. Ctrl-C restores the echo before the process
    /// ends. Returns `nil` at end of input.
    public func readSecret(prompt: String, limit: Int = 4096) throws(SystemError) -> SecretBytes? {
        var saved = termios()
        let canDisableEcho = tcgetattr(fd, &saved) == 0
        if canDisableEcho {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            EchoGuard.arm(fd: fd, saved: saved)
            _ = tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if canDisableEcho {
                _ = tcsetattr(fd, TCSAFLUSH, &saved)
                EchoGuard.disarm()
            }
        }
        write(prompt)
        return try readLine(limit: limit)
    }

    /// Reads one line (echo as the terminal has it).
    /// With `withinSeconds`, a line not finished by then is an error with
    /// errno ETIMEDOUT (what was typed is dropped).
    public func readLine(limit: Int = 4096, withinSeconds: Int? = nil) throws(SystemError) -> SecretBytes? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        let deadline = withinSeconds.map { Deadline(seconds: Double($0)) }
        while true {
            if let deadline, !(try waitForInput(until: deadline)) {
                line.wipe()
                throw SystemError("no answer within \(withinSeconds!) s on", path: "/dev/tty", errno: Errno(rawValue: ETIMEDOUT))
            }
            let n = try retryingOnInterrupt("cannot read", path: "/dev/tty") { Glibc.read(fd, &byte, 1) }
            if n == 0 { if line.isEmpty { return nil } else { break } }
            if byte == UInt8(ascii: "\n") { break }
            guard line.count < limit else {
                line.wipe()
                throw SystemError("line too long on", path: "/dev/tty", errno: Errno(rawValue: E2BIG))
            }
            line.append(byte)
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return SecretBytes(consuming: &line)
    }

    /// Whether input came before `deadline`.
    private func waitForInput(until deadline: Deadline) throws(SystemError) -> Bool {
        while true {
            guard !deadline.hasPassed else { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, deadline.millisecondsLeft)
            if ready > 0 { return true }
            if ready < 0, errno != EINTR { throw SystemError("cannot wait on", path: "/dev/tty", errno: Errno(rawValue: errno)) }
        }
    }
}

/// Restores terminal echo if SIGINT or SIGTERM arrives while a secret prompt
/// has it turned off, then lets the signal end the process as usual.
private enum EchoGuard {
    // nonisolated(unsafe): written only on the main thread before the handler
    // is installed and read only by the handler, which runs on that thread.
    nonisolated(unsafe) static var fd: Int32 = -1
    nonisolated(unsafe) static var saved = termios()

    static func arm(fd: Int32, saved: termios) {
        EchoGuard.fd = fd
        EchoGuard.saved = saved
        signal(SIGINT, echoGuardHandler)
        signal(SIGTERM, echoGuardHandler)
    }

    static func disarm() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        fd = -1
    }
}

private func echoGuardHandler(_ signo: Int32) {
    if EchoGuard.fd >= 0 { _ = tcsetattr(EchoGuard.fd, TCSANOW, &EchoGuard.saved) }
    signal(signo, SIG_DFL)
    raise(signo)
}

/// Standard streams, written with `write(2)` so nothing is buffered past exit.
public enum StandardStream {
    public static func out(_ text: String) { try? PrivateFiles.writeAll(fd: 1, Array(text.utf8)) }
    public static func error(_ text: String) { try? PrivateFiles.writeAll(fd: 2, Array(text.utf8)) }

    /// Reads all of standard input, up to `limit` bytes.
    public static func readInput(limit: Int = 64 << 10) throws(SystemError) -> [UInt8] {
        try PrivateFiles.readAll(fd: 0, limit: limit, path: "stdin")
    }
}

/// Seconds since the Unix epoch, from the real-time clock.
public func currentUnixTime() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(max(0, now.tv_sec))
}
