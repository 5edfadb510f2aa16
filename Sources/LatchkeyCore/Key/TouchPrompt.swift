import SystemSupport

/// Tells the person to touch the key — only if the key is still thinking
/// after half a second, which is how a touch-required CALCULATE looks from
/// outside (accounts that need no touch answer in milliseconds, so they
/// never see it). On a terminal it counts down the seconds the key will
/// wait; without one, one line on stderr; never stdout.
///
/// The ticks run on the thread that waits for the key, from inside that
/// wait (``WaitTicks``): no thread is started, and nothing (not even the
/// terminal) is opened unless the prompt comes due.
final class TouchPrompt {
    static let delayMilliseconds = 500
    /// How long a YubiKey waits for a touch before answering 6982.
    static let keyWaitSeconds = 15

    private var shown = false
    private var secondsLeft = TouchPrompt.keyWaitSeconds
    private let prompter: any Prompter
    /// Whether there is a terminal to count down on; asked at the first tick.
    private lazy var onTerminal = prompter.canAsk
    private let standardError: (String) -> Void
    /// "Touch your YubiKey", or "Touch your YubiKey for admin, asked by devbox-3".
    private let request: String
    private let makeNotifier: () -> (any Notifier)?
    /// The notification shown, to close when the key answers.
    private var notification: (notifier: any Notifier, id: UInt32)?

    init(world: World) {
        prompter = world.prompter
        standardError = world.output.writeError
        request = "Touch your YubiKey" + (world.touchReason.map { " " + $0 } ?? "")
        makeNotifier = world.notifier
    }

    /// Runs `body` (a CALCULATE that may wait for a touch) with the prompt armed.
    func around<T>(_ body: () throws -> T) rethrows -> T {
        defer { finish() }
        return try WaitTicks.during(
            firstAfterMilliseconds: TouchPrompt.delayMilliseconds, everyMilliseconds: 1000, tick: tick, body)
    }

    private func tick() {
        if onTerminal {
            prompter.show("\r\u{1B}[K\(request)… (\(max(secondsLeft, 0)) s)")
            secondsLeft -= 1
        } else if !shown {
            standardError("\(request)…\n")
            // No terminal (the agent in the background, credential_process
            // under an IDE): stderr may be captured, so a notification too.
            if let notifier = makeNotifier(),
                let id = notifier.show(summary: request, body: "latchkey waits \(TouchPrompt.keyWaitSeconds) s for the touch.")
            {
                notification = (notifier, id)
            }
        }
        shown = true
    }

    /// Clears the countdown and closes the notification, after the last tick.
    private func finish() {
        if shown, onTerminal { prompter.show("\r\u{1B}[K") }
        if let (notifier, id) = notification { notifier.close(id) }
        notification = nil
    }
}
