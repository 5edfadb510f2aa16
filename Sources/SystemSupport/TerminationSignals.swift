import CProcessControl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SIGINT, SIGTERM and SIGHUP turned into bytes on a pipe, for a process
/// that must stop in order (`serve`, `agent`): from ``init()`` on they no
/// longer end the process; each one's number can be read from
/// ``readDescriptor`` (wait for it with `poll`, or with ``wait()``). The
/// pipe stays open for the rest of the process (the handler may write to it). The
/// handler is CProcessControl's, a few lines of async-signal-safe C.
public final class TerminationSignals {
    /// Readable once a signal has arrived.
    public let readDescriptor: Int32
    private let writeDescriptor: Int32

    public init() throws(SystemError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SystemError("cannot create a pipe") }
        (readDescriptor, writeDescriptor) = (ends[0], ends[1])
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        guard latchkey_signals_to_pipe(writeDescriptor) == 0 else { throw SystemError("cannot handle signals") }
        // A launcher may hand them over blocked (systemd-socket-activate
        // does): they must reach the handler.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&stopping, signal) }
        pthread_sigmask(SIG_UNBLOCK, &stopping, nil)
    }

    /// Blocks until a signal arrives; its number.
    public func wait() throws(SystemError) -> Int32 {
        var byte: UInt8 = 0
        while true {
            let count = read(readDescriptor, &byte, 1)
            if count == 1 { return Int32(byte) }
            if count < 0, Errno.current == .interrupted { continue }
            throw SystemError("cannot wait for a signal")
        }
    }

    /// "SIGTERM", "SIGINT" or "SIGHUP" for a number ``wait()`` returned.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "SIGTERM"
        }
    }
}
