import Synchronization
import SystemSupport

/// A time limit on the pcsc-lite calls that wait for a card: `SCardConnect`,
/// `SCardBeginTransaction` and `SCardTransmit`.
///
/// pcsc-lite's client waits for pcscd's answer without a limit
/// (`MessageReceive` polls with timeout -1, pcsc-lite 1.9.9), and pcscd waits
/// for the reader's driver as long as the driver waits for the card. A USB
/// CCID reader gives up on a mute card, but vsmartcard's vpcd waits forever
/// for a virtual card that took an APDU and never answered; pcscd then also
/// holds every later `SCardConnect` to that reader. Without a limit latchkey
/// would hang with it — and so would the AWS CLI waiting on
/// `credential-process`.
///
/// So each such call runs through ``BoundedCall`` (on a worker thread) while the caller waits at
/// most `seconds`. A call that overruns is abandoned, not cancelled (pcsc-lite
/// has no way to cancel a transmit): it keeps the context's mutex, so every
/// later call on the same context (even `SCardDisconnect` and
/// `SCardReleaseContext`) would wait behind it. Once a call has overrun, the
/// context and its cards make no more calls: they throw the same timeout, and
/// their `deinit`s release nothing. The process reports the error and exits;
/// exiting closes its socket to pcscd, which frees what it held once the
/// card answers or goes away.
final class CallLimit: Sendable {
    let seconds: Int
    /// The function whose call overran, once one has.
    private let overrun = Mutex<String?>(nil)

    init(seconds: Int) { self.seconds = seconds }

    var hasOverrun: Bool { overrun.withLock { $0 != nil } }

    /// Throws the overrun's timeout if a call on this context has overrun.
    func ensureUsable() throws(PCSCError) {
        if let function = overrun.withLock({ $0 }) { throw timeout(function) }
    }

    /// Runs `call` (a pcsc-lite call returning its `LONG` result and a value)
    /// on another thread and waits for it at most `seconds`. The call must own
    /// everything it touches: after an overrun it may still run, or finish,
    /// at any time.
    func run<Value: Sendable>(
        _ function: String, _ call: @escaping @Sendable () -> (result: Int, value: Value)
    ) throws(PCSCError) -> Value {
        try ensureUsable()
        guard let done = BoundedCall.run(within: seconds, call) else {
            overrun.withLock { $0 = $0 ?? function }
            throw timeout(function)
        }
        try check(done.result, function)
        return done.value
    }

    private func timeout(_ function: String) -> PCSCError {
        PCSCError(code: PCSCError.timeoutCode, function: function, abandonedAfter: seconds)
    }
}
