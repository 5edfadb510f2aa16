/// How the simulated person at the key behaves when a credential that needs
/// touch is asked for a code.
public enum TouchPolicy: Equatable, Sendable {
    /// The key is touched this many seconds after it starts to blink.
    case after(seconds: Double)
    /// Nobody touches it: after `timeout` seconds the key gives up, and the
    /// CALCULATE answers 6982 (what a real key does after about 15 s).
    case never(timeout: Double)

    public static let defaultTimeout: Double = 15
}

/// The button. `awaitTouch()` blocks until the key is touched (`true`) or
/// gives up (`false`).
public protocol TouchSensor {
    func awaitTouch() -> Bool
}

/// A button that follows a `TouchPolicy`, waiting with `wait`, which sleeps
/// for the given seconds and returns `false` if interrupted (the process is
/// shutting down: then the key counts as not touched).
public struct SimulatedTouch: TouchSensor {
    public var policy: TouchPolicy
    private let wait: (Double) -> Bool

    public init(policy: TouchPolicy, wait: @escaping (Double) -> Bool) {
        self.policy = policy
        self.wait = wait
    }

    public func awaitTouch() -> Bool {
        switch policy {
        case .after(let seconds):
            return seconds <= 0 || wait(seconds)
        case .never(let timeout):
            _ = wait(timeout)
            return false
        }
    }
}
