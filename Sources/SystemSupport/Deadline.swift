#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A point in time on the monotonic clock, for bounded waits (a socket
/// answer, a child process, a terminal question): the one place latchkey
/// reads that clock in Swift.
public struct Deadline: Sendable {
    private let end: timespec

    public init(seconds: Double) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let whole = Int(seconds)
        var nanoseconds = now.tv_nsec + Int((seconds - Double(whole)) * 1e9)
        var secondsPart = now.tv_sec + whole
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            secondsPart += 1
        }
        end = timespec(tv_sec: secondsPart, tv_nsec: nanoseconds)
    }

    /// Whether the deadline has come.
    public var hasPassed: Bool { millisecondsLeft == 0 }

    /// Milliseconds until the deadline (0 once passed), capped for `poll`.
    public var millisecondsLeft: Int32 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let left = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1_000_000
        return Int32(clamping: max(0, left))
    }
}
