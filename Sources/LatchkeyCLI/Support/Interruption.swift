import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM turned into a flag that a long USB exchange checks
/// between reads, so it can power the card off and release the interface
/// before the process ends. Installed only on the direct CCID path: through
/// pcscd, pcscd itself cleans up after a process that dies.
enum Interruption {
    private static let flag = Atomic<Bool>(false)

    static var happened: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        // Storing to a lock-free atomic is async-signal-safe.
        let handler: @convention(c) (Int32) -> Void = { _ in Interruption.flag.store(true, ordering: .relaxed) }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
