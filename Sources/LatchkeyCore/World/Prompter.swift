import DesktopNotifications
import SystemSupport

/// The person latchkey may ask for a secret or show a live status to:
/// the controlling terminal, or nobody (cron, CI, a service, an IDE's
/// `credential_process`). Prompts never go to stdout or stderr, which
/// `credential_process` callers capture.
public protocol Prompter {
    /// Whether anyone can be asked (a terminal is there).
    var canAsk: Bool { get }
    /// Shows `prompt` and reads one line, with echo off when `secret`.
    /// `nil` when there is nobody to ask, or at end of input.
    func ask(_ prompt: String, secret: Bool) throws -> SecretBytes?
    /// Text for the person only (a countdown, a status line). Dropped when
    /// there is nobody.
    func show(_ text: String)
    /// Asks a question (echo on) that must be answered within `seconds`:
    /// the agent's `--confirm`, which holds every other request while it
    /// waits. A late answer is an error (SystemError, ETIMEDOUT).
    func ask(_ prompt: String, withinSeconds seconds: Int) throws -> SecretBytes?
}

extension Prompter {
    /// A prompter that cannot time its questions just asks.
    public func ask(_ prompt: String, withinSeconds seconds: Int) throws -> SecretBytes? {
        try ask(prompt, secret: false)
    }

    /// Asks for a secret and, when `confirm`, for it again: an empty answer
    /// or two different ones are errors, so nothing changes by mistake.
    /// `nil` when there is nobody to ask.
    public func askSecret(_ prompt: String, confirm: Bool, what: String) throws -> SecretBytes? {
        guard canAsk else { return nil }
        guard let first = try ask(prompt, secret: true), !first.isEmpty else {
            throw LatchkeyError(.invalidInput, "no \(what) was entered")
        }
        if confirm {
            guard let second = try ask("Repeat it: ", secret: true),
                second.withUnsafeBytes({ first.constantTimeEquals(Array($0)) })
            else { throw LatchkeyError(.invalidInput, "the two \(what)s differ; nothing was changed") }
        }
        return first
    }
}

/// `/dev/tty`, opened for each question (a process without a controlling
/// terminal gets `nil` at once instead of a prompt that waits forever).
public struct TerminalPrompter: Prompter {
    public init() {}

    public var canAsk: Bool { Terminal.open() != nil }

    public func ask(_ prompt: String, secret: Bool) throws -> SecretBytes? {
        guard let tty = Terminal.open() else { return nil }
        if secret { return try tty.readSecret(prompt: prompt) }
        tty.write(prompt)
        return try tty.readLine()
    }

    public func show(_ text: String) {
        Terminal.open()?.write(text)
    }

    public func ask(_ prompt: String, withinSeconds seconds: Int) throws -> SecretBytes? {
        guard let tty = Terminal.open() else { return nil }
        tty.write(prompt)
        return try tty.readLine(withinSeconds: seconds)
    }
}

/// A way to reach the person when there is no terminal: a desktop
/// notification ("Touch your YubiKey for admin, asked by devbox-3").
public protocol Notifier {
    /// Shows `summary` and `body`; a handle for ``close(_:)``, or `nil` when
    /// nothing could be shown. Never fails, never waits long.
    func show(summary: String, body: String) -> UInt32?
    func close(_ id: UInt32)
}

/// The freedesktop notification service on the session D-Bus.
struct DesktopNotifications: Notifier {
    var notifier: DesktopNotifier

    /// The session bus `DBUS_SESSION_BUS_ADDRESS` names, if there is one.
    static func sessionBus() -> (any Notifier)? {
        DesktopNotifier(environment: .process).map(DesktopNotifications.init)
    }

    func show(summary: String, body: String) -> UInt32? {
        notifier.notify(summary: summary, body: body, timeoutMilliseconds: Int32(TouchPrompt.keyWaitSeconds * 1000))
    }

    func close(_ id: UInt32) { notifier.close(id) }
}

/// Nobody to ask: every question is answered `nil`.
public struct NoPrompter: Prompter {
    public init() {}
    public var canAsk: Bool { false }
    public func ask(_ prompt: String, secret: Bool) throws -> SecretBytes? { nil }
    public func show(_ text: String) {}
}
