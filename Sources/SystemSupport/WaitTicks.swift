#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Something a thread does while it waits for a slow call of its own: the
/// touch prompt's countdown while the key waits for a finger.
///
/// ``during(firstAfterMilliseconds:everyMilliseconds:tick:_:)`` arms a tick
/// for the calling thread while its body runs; the waits that can last
/// (``BoundedCall``'s wait for its worker, a direct-CCID read) end their
/// sleep when the tick is due, run it, and go on waiting. There is no
/// thread of its own: a prompt that never comes due costs nothing (a
/// thread for it cost a `clone`, its stack and a join on every code).
///
/// A wait that does not ask (a call run on the caller's thread because no
/// worker could be started) shows no ticks.
public enum WaitTicks {
    /// Runs `body` with `tick` armed for this thread: first after
    /// `first` milliseconds, then every `interval` milliseconds, each time
    /// from a wait inside `body`, on this thread.
    public static func during<T>(
        firstAfterMilliseconds first: Int, everyMilliseconds interval: Int, tick: () -> Void, _ body: () throws -> T
    ) rethrows -> T {
        try withoutActuallyEscaping(tick) { tick in
            guard let key else { return try body() }
            let armed = Armed(first: first, interval: interval, tick: tick)
            let outer = pthread_getspecific(key)
            pthread_setspecific(key, Unmanaged.passUnretained(armed).toOpaque())
            defer { pthread_setspecific(key, outer) }
            return try withExtendedLifetime(armed) { try body() }
        }
    }

    /// Milliseconds until this thread's tick is due (0: now); `nil` when
    /// none is armed.
    public static func millisecondsUntilDue() -> Int? {
        current.map { Int($0.due.millisecondsLeft) }
    }

    /// Runs this thread's tick if it is due, and sets the next one.
    public static func runIfDue() {
        guard let armed = current, armed.due.hasPassed else { return }
        armed.tick()
        armed.due = Deadline(seconds: Double(armed.interval) / 1000)
    }

    private static var current: Armed? {
        guard let key else { return nil }
        return pthread_getspecific(key).map { Unmanaged<Armed>.fromOpaque($0).takeUnretainedValue() }
    }

    /// The thread-specific slot holding the armed tick, made once; `nil`
    /// when the process has used up its slots (then nothing ticks).
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        return pthread_key_create(&key, nil) == 0 ? key : nil
    }()

    private final class Armed {
        var due: Deadline
        let interval: Int
        let tick: () -> Void

        init(first: Int, interval: Int, tick: @escaping () -> Void) {
            due = Deadline(seconds: Double(first) / 1000)
            self.interval = interval
            self.tick = tick
        }
    }
}
