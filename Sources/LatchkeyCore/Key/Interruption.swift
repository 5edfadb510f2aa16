import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM turned into a flag that a long USB exchange checks
/// between reads, so it can power the card off and release the interface
/// before the process ends. Only while the key is open over direct CCID:
/// through pcscd, pcscd itself cleans up after a process that dies, and
/// before and after the key (an STS call, say) Ctrl-C ends latchkey as
/// usual.
enum Interruption {
    private static let flag = Atomic<Bool>(false)

    static var happened: Bool { flag.load(ordering: .relaxed) }

    /// Runs `body` with the flag armed, then puts back the dispositions
    /// SIGINT and SIGTERM had (default, or ignored when started in the
    /// background by a shell).
    static func armed<T>(_ body: () throws -> T) rethrows -> T {
        // Storing to a lock-free atomic is async-signal-safe.
        let handler: @convention(c) (Int32) -> Void = { _ in Interruption.flag.store(true, ordering: .relaxed) }
        let previousInterrupt = signal(SIGINT, handler)
        let previousTerminate = signal(SIGTERM, handler)
        defer {
            signal(SIGINT, previousInterrupt)
            signal(SIGTERM, previousTerminate)
        }
        return try body()
    }
}
