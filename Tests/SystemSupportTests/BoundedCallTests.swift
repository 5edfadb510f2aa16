import Glibc
import Synchronization
@testable import SystemSupport
import Testing

@Suite("BoundedCall: calls on worker threads, limits, ticks while waiting", .serialized)
struct BoundedCallTests {
    @Test("Calls made at once from several threads each get their own answer")
    func concurrentCallers() async {
        // A single hand-over slot once lost all but one of these: the others
        // waited out their limit and got nil.
        let pool = WorkerPool()
        let answers = await withTaskGroup(of: (Int, Int?).self) { group in
            for caller in 0..<8 {
                group.addTask {
                    (caller, BoundedCall.run(within: 10, on: pool) { () -> Int in
                        usleep(50_000)
                        return caller * 10
                    })
                }
            }
            var answers: [Int: Int?] = [:]
            for await (caller, answer) in group { answers[caller] = answer }
            return answers
        }
        #expect(answers.count == 8)
        for (caller, answer) in answers { #expect(answer == caller * 10) }
    }

    @Test("Calls one after another reuse a waiting worker instead of starting a thread each")
    func workersReused() {
        // The worker is back among the waiting ones before its caller wakes,
        // so calls made one after another all run on the pool's one thread.
        // (A pool of the test's own: other suites' calls use the shared one.)
        let pool = WorkerPool()
        let threads = (0..<20).map { _ in BoundedCall.run(within: 10, on: pool) { UInt(pthread_self()) } }
        #expect(threads.allSatisfy { $0 != nil })
        #expect(Set(threads.compactMap { $0 }).count == 1, "\(Set(threads.compactMap { $0 }).count) threads for 20 calls")
        #expect(pool.threadsStarted.load(ordering: .relaxed) == 1)
    }

    @Test("A call that overruns is abandoned with nil, and the next call is answered at once")
    func overrunThenNext() {
        let clock = ContinuousClock()
        let start = clock.now
        #expect(BoundedCall.run(within: 1) { () -> Int in sleep(3); return 1 } == nil)
        #expect(clock.now - start < .seconds(2.5))
        let next = clock.now
        #expect(BoundedCall.run(within: 5) { 42 } == 42)
        #expect(clock.now - next < .seconds(1))
    }

    @Test("A tick armed on the waiting thread runs during a slow call, on that thread, and not after it")
    func ticksWhileWaiting() {
        let caller = pthread_self()
        var ticks = 0
        var onCaller = true
        let answer = WaitTicks.during(firstAfterMilliseconds: 100, everyMilliseconds: 100, tick: {
            ticks += 1
            onCaller = onCaller && pthread_equal(pthread_self(), caller) != 0
        }) {
            BoundedCall.run(within: 10) { () -> Int in
                usleep(650_000)
                return 7
            }
        }
        #expect(answer == 7)
        // Due at 100, 200, … 600 ms: six, give or take a slow machine.
        #expect((3...7).contains(ticks), "\(ticks) ticks")
        #expect(onCaller)
        let after = ticks
        _ = BoundedCall.run(within: 10) { () -> Int in usleep(300_000); return 0 }
        #expect(ticks == after)
    }

    @Test("A call that answers before the first tick is due shows no tick")
    func fastCallNoTick() {
        var ticks = 0
        let answer = WaitTicks.during(firstAfterMilliseconds: 500, everyMilliseconds: 1000, tick: { ticks += 1 }) {
            BoundedCall.run(within: 10) { 3 }
        }
        #expect(answer == 3)
        #expect(ticks == 0)
    }

    @Test("A tick still runs while a call overruns its limit, and the limit still holds")
    func ticksUntilOverrun() {
        var ticks = 0
        let clock = ContinuousClock()
        let start = clock.now
        let answer = WaitTicks.during(firstAfterMilliseconds: 200, everyMilliseconds: 200, tick: { ticks += 1 }) {
            BoundedCall.run(within: 1) { () -> Int in sleep(3); return 1 }
        }
        #expect(answer == nil)
        #expect(clock.now - start < .seconds(2.5))
        #expect((2...6).contains(ticks), "\(ticks) ticks")
    }

    @Test("Without a tick armed there is none to wait for")
    func nothingArmed() {
        #expect(WaitTicks.millisecondsUntilDue() == nil)
        WaitTicks.during(firstAfterMilliseconds: 10_000, everyMilliseconds: 1000, tick: {}) {
            #expect((9_000...10_000).contains(WaitTicks.millisecondsUntilDue() ?? -1))
        }
        #expect(WaitTicks.millisecondsUntilDue() == nil)
    }
}
