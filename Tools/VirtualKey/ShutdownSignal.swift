import Glibc
import Synchronization

/// The write end of the self-pipe, for the signal handler (which may only
/// make async-signal-safe calls: `write` is one; an atomic load is a plain
/// load). -1 until `ShutdownSignal.install` runs.
private let signalPipeWriteEnd = Atomic<Int32>(-1)

/// SIGTERM and SIGINT as a readable file descriptor (the self-pipe trick):
/// the handler writes the signal number into a pipe, so a `poll` on the
/// vpcd socket, or a touch wait, wakes up and the key shuts down cleanly.
/// (Glibc's Swift module exposes neither `signalfd` nor `ppoll`.)
public final class ShutdownSignal {
    /// Readable once a signal has arrived.
    public let fd: Int32
    private let writeEnd: Int32

    private init(readEnd: Int32, writeEnd: Int32) {
        fd = readEnd
        self.writeEnd = writeEnd
    }

    /// Installs the handler for `signals` and unblocks them on the calling
    /// thread, which should be the one that waits. Call once per process.
    public static func install(_ signals: [Int32] = [SIGTERM, SIGINT]) throws -> ShutdownSignal {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw StateFile.Failure.system(call: "pipe", path: "", errno: errno) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        signalPipeWriteEnd.store(ends[1], ordering: .sequentiallyConsistent)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(signalPipeWriteEnd.load(ordering: .relaxed), &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals {
            sigaction(signal, &action, nil)
            sigaddset(&mask, signal)
        }
        // A parent may have spawned us with these blocked (threads of test
        // runners block most signals, and children inherit the mask): then
        // the handler would never run.
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        return ShutdownSignal(readEnd: ends[0], writeEnd: ends[1])
    }

    /// Whether a signal has arrived (does not consume it).
    public var isRequested: Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// Sleeps for `seconds`; `false` if a signal cut the sleep short.
    public func sleep(_ seconds: Double) -> Bool {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let deadline = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9 + max(seconds, 0)
        while true {
            clock_gettime(CLOCK_MONOTONIC, &clock)
            let left = deadline - (Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9)
            if left <= 0 { return true }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
            if ready > 0 { return false }
        }
    }
}
