import CProcessControl
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a C call that may block without end on a thread of its own, while
/// the caller waits at most a given time: pcsc-lite's transmit to a card
/// that never answers, tpm2-tss's command to a TPM that never answers.
/// Neither library can cancel such a call.
///
/// A call that overruns is abandoned, not stopped. It may still finish, or
/// not, at any time, so it must own everything it touches (copies, or
/// objects it keeps alive itself), and whatever it uses must never be
/// released by anyone else (the caller reports the error and the process
/// exits). Its thread stays with it; the next call gets a new thread.
///
/// One thread is started on first use and reused for every later call: a
/// plain POSIX thread and two semaphores, not libdispatch, whose first use
/// starts a pool, a manager thread with epoll, an eventfd and a timerfd —
/// measurable on `code --yubikey`, which makes about six such calls.
public enum BoundedCall {
    /// `call`'s value, or `nil` when it did not return within `seconds`.
    /// When the system will not start a thread (EAGAIN: the process or user
    /// is at its thread limit), the call runs on the caller's thread,
    /// without the limit, rather than not at all.
    public static func run<Value: Sendable>(within seconds: Int, _ call: @escaping @Sendable () -> Value) -> Value? {
        let job = Job<Value>(call)
        guard Worker.submit(job) else { return call() }
        guard job.wait(seconds: seconds) else {
            Worker.abandon()
            return nil
        }
        return job.result.withLock { $0 }
    }

    /// One call and its result, handed to the worker and waited for here.
    fileprivate final class Job<Value: Sendable>: @unchecked Sendable {
        // @unchecked: `result` is a Mutex; `done` is a POSIX semaphore,
        // made for the threads to share; `work` is written only in init.
        let result = Mutex<Value?>(nil)
        private let work: @Sendable () -> Value
        private let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

        init(_ work: @escaping @Sendable () -> Value) {
            self.work = work
            sem_init(done, 0, 0)
        }

        // The worker holds the job while it runs, so this comes after the
        // call finished, abandoned or not.
        deinit {
            sem_destroy(done)
            done.deallocate()
        }

        func run() {
            let value = work()
            result.withLock { $0 = value }
            sem_post(done)
        }

        /// Whether the call finished within `seconds` (monotonic clock).
        func wait(seconds: Int) -> Bool { latchkey_semaphore_wait(done, seconds) == 0 }
    }
}

/// What the worker thread runs.
private protocol Runnable: AnyObject, Sendable {
    func run()
}

extension BoundedCall.Job: Runnable {}

/// The thread calls run on: it takes one job at a time from `next`.
private final class Worker: @unchecked Sendable {
    // @unchecked: `next` is a Mutex; `pending` a POSIX semaphore.
    private let next = Mutex<(any Runnable)?>(nil)
    private let pending = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    /// The worker new jobs go to; `nil` until the first job, and again after
    /// a job overran (its worker is left to it).
    private static let current = Mutex<Worker?>(nil)

    private init() {
        sem_init(pending, 0, 0)
    }

    // Only a worker whose thread never started ends (a started one is held
    // by its thread for good).
    deinit {
        sem_destroy(pending)
        pending.deallocate()
    }

    /// Hands `job` to the worker, starting one when there is none; false
    /// when no thread could be started.
    static func submit(_ job: any Runnable) -> Bool {
        let worker = current.withLock { current -> Worker? in
            if let worker = current { return worker }
            let worker = Worker()
            guard worker.start() else { return nil }
            current = worker
            return worker
        }
        guard let worker else { return false }
        worker.next.withLock { $0 = job }
        sem_post(worker.pending)
        return true
    }

    /// The current worker is busy with a call that overran: later jobs go
    /// to a new one.
    static func abandon() {
        current.withLock { $0 = nil }
    }

    private func start() -> Bool {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue().loop()
        }, context)
        guard started == 0 else {
            Unmanaged<Worker>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// Runs jobs until the process ends (the thread holds `self`).
    private func loop() -> Never {
        while true {
            while sem_wait(pending) != 0 {}
            if let job = next.withLock({ job in defer { job = nil }; return job }) { job.run() }
        }
    }
}
