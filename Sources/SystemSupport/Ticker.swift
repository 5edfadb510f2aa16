import CProcessControl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Calls `tick` on a thread of its own after a first delay and then every
/// interval, until ``stop()``, which returns once the thread has ended: no
/// tick runs after it, so `tick` and the code after `stop()` never overlap.
/// (The touch prompt's countdown; a POSIX thread rather than a libdispatch
/// timer, whose first use starts a manager thread, epoll and a timerfd.)
public final class Ticker: @unchecked Sendable {
    // @unchecked: `stopped` is a POSIX semaphore made to be shared; `tick`
    // and the delays are written only in init; `thread` only by start and stop.
    private let stopped = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let firstDelayMilliseconds: Int
    private let intervalMilliseconds: Int
    private let tick: @Sendable () -> Void
    private var thread: pthread_t?

    public init(firstAfterMilliseconds first: Int, everyMilliseconds interval: Int, _ tick: @escaping @Sendable () -> Void) {
        firstDelayMilliseconds = first
        intervalMilliseconds = interval
        self.tick = tick
        sem_init(stopped, 0, 0)
    }

    deinit {
        stop()
        sem_destroy(stopped)
        stopped.deallocate()
    }

    /// Starts the thread; false when the system would not make one (then
    /// there are no ticks).
    @discardableResult
    public func start() -> Bool {
        guard thread == nil else { return true }
        var started = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&started, nil, { context in
            let ticker = Unmanaged<Ticker>.fromOpaque(context!).takeRetainedValue()
            ticker.run()
            return nil
        }, context) == 0 else {
            Unmanaged<Ticker>.fromOpaque(context).release()
            return false
        }
        thread = started
        return true
    }

    /// Ends the ticks and waits for the thread.
    public func stop() {
        guard let running = thread else { return }
        thread = nil
        sem_post(stopped)
        pthread_join(running, nil)
    }

    private func run() {
        var delay = firstDelayMilliseconds
        // Each wait ends early when stop() posts the semaphore.
        while latchkey_semaphore_wait_milliseconds(stopped, delay) != 0 {
            tick()
            delay = intervalMilliseconds
        }
    }
}
