import Dispatch
import SystemSupport

/// Tells the person to touch the key — only if the key is still thinking
/// after half a second, which is how a touch-required CALCULATE looks from
/// outside (accounts that need no touch answer in milliseconds, so they
/// never see it). On a terminal it counts down the seconds the key will
/// wait; without one, one line on stderr; never stdout.
final class TouchPrompt: @unchecked Sendable {
    // @unchecked: all mutable state is touched only on `queue`.
    static let delayMilliseconds = 500
    /// How long a YubiKey waits for a touch before answering 6982.
    static let keyWaitSeconds = 15

    private let queue = DispatchQueue(label: "latchkey.touch-prompt")
    private var timer: DispatchSourceTimer?
    private var shown = false
    private var secondsLeft = TouchPrompt.keyWaitSeconds
    private let prompter: any Prompter
    private let onTerminal: Bool
    private let standardError: (String) -> Void
    /// "Touch your YubiKey", or "Touch your YubiKey for admin, asked by devbox-3".
    private let request: String

    init(world: World) {
        prompter = world.prompter
        onTerminal = world.prompter.canAsk
        standardError = world.output.writeError
        request = "Touch your YubiKey" + (world.touchReason.map { " " + $0 } ?? "")
    }

    /// Runs `body` (a CALCULATE that may wait for a touch) with the prompt armed.
    func around<T>(_ body: () throws -> T) rethrows -> T {
        start()
        defer { stop() }
        return try body()
    }

    private func start() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(TouchPrompt.delayMilliseconds), repeating: .seconds(1))
        timer.setEventHandler { [self] in tick() }
        queue.sync { self.timer = timer }
        timer.resume()
    }

    private func tick() {
        if onTerminal {
            prompter.show("\r\u{1B}[K\(request)… (\(max(secondsLeft, 0)) s)")
            secondsLeft -= 1
        } else if !shown {
            standardError("\(request)…\n")
        }
        shown = true
    }

    private func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
            if shown, onTerminal { prompter.show("\r\u{1B}[K") }
        }
    }
}
