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
/// exits). Its thread stays with it until it returns, if ever.
///
/// Threads are plain POSIX threads with a semaphore each, not libdispatch,
/// whose first use starts a pool, a manager thread with epoll, an eventfd
/// and a timerfd — measurable on `code --yubikey`, which makes four such
/// calls (connect, begin the transaction, SELECT, CALCULATE). A thread that
/// finished its call waits for the next one; a new thread is started only
/// when none is waiting (the first call, a call made while another thread's
/// call runs, or after an overrun), so calls made one after another all run
/// on the same thread.
public enum BoundedCall {
    /// `call`'s value, or `nil` when it did not return within `seconds`.
    /// When the system will not start a thread (EAGAIN: the process or user
    /// is at its thread limit), the call runs on the caller's thread,
    /// without the limit, rather than not at all.
    public static func run<Value: Sendable>(within seconds: Int, _ call: @escaping @Sendable () -> Value) -> Value? {
        run(within: seconds, on: .shared, call)
    }

    /// As ``run(within:_:)``, on `pool`'s threads (a test's own pool sees
    /// no other suite's calls).
    static func run<Value: Sendable>(within seconds: Int, on pool: WorkerPool, _ call: @escaping @Sendable () -> Value) -> Value? {
        let job = Job<Value>(call)
        guard pool.submit(job) else { return call() }
        guard job.wait(seconds: seconds) else { return nil }
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

        func run(then free: () -> Void) {
            let value = work()
            result.withLock { $0 = value }
            // The worker is free before the caller is woken: a caller that
            // makes its next call at once finds this thread, not a new one.
            free()
            sem_post(done)
        }

        /// Whether the call finished within `seconds` (monotonic clock). A
        /// tick armed on this thread (``WaitTicks``) runs here while the call
        /// lasts.
        func wait(seconds: Int) -> Bool {
            guard WaitTicks.millisecondsUntilDue() != nil else { return latchkey_semaphore_wait(done, seconds) == 0 }
            let end = Deadline(seconds: Double(seconds))
            while true {
                let left = Int(end.millisecondsLeft)
                let slice = min(left, WaitTicks.millisecondsUntilDue() ?? left)
                if latchkey_semaphore_wait_milliseconds(done, slice) == 0 { return true }
                if left == 0 { return false }
                WaitTicks.runIfDue()
            }
        }
    }
}

/// What a worker thread runs.
private protocol Runnable: AnyObject, Sendable {
    func run(then free: () -> Void)
}

extension BoundedCall.Job: Runnable {}

/// The worker threads calls run on. A worker waits here between jobs, so
/// one whose call overran is not here (until that call returns).
final class WorkerPool: Sendable {
    /// The pool every ``BoundedCall/run(within:_:)`` uses.
    static let shared = WorkerPool()

    private let idle = Mutex<[Worker]>([])
    /// How many threads this pool has started.
    let threadsStarted = Atomic<Int>(0)

    /// Hands `job` to a waiting worker, or to a new one when none waits;
    /// false when no thread could be started.
    fileprivate func submit(_ job: any Runnable) -> Bool {
        guard let worker = idle.withLock({ $0.popLast() }) ?? started() else { return false }
        worker.hand(job)
        return true
    }

    /// `worker` is free for the next job.
    fileprivate func rejoin(_ worker: Worker) {
        idle.withLock { $0.append(worker) }
    }

    /// A worker on a thread of its own, or `nil` when none could be started.
    private func started() -> Worker? {
        let worker = Worker(pool: self)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(worker).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue().loop()
        }, context)
        guard result == 0 else {
            Unmanaged<Worker>.fromOpaque(context).release()
            return nil
        }
        pthread_detach(thread)
        threadsStarted.add(1, ordering: .relaxed)
        return worker
    }
}

/// A thread that runs one job at a time, handed to it in `next`.
private final class Worker: @unchecked Sendable {
    // @unchecked: `next` is a Mutex; `pending` a POSIX semaphore; `pool`
    // is written only in init.
    private let next = Mutex<(any Runnable)?>(nil)
    private let pending = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let pool: WorkerPool

    init(pool: WorkerPool) {
        self.pool = pool
        sem_init(pending, 0, 0)
    }

    // Only a worker whose thread never started ends (a started one is held
    // by its thread for good).
    deinit {
        sem_destroy(pending)
        pending.deallocate()
    }

    func hand(_ job: any Runnable) {
        next.withLock { $0 = job }
        sem_post(pending)
    }

    /// Runs jobs until the process ends (the thread holds `self`).
    func loop() -> Never {
        while true {
            while sem_wait(pending) != 0 {}
            guard let job = next.withLock({ job in defer { job = nil }; return job }) else { continue }
            job.run { pool.rejoin(self) }
        }
    }
}
