import CDBusShim
import Synchronization
import SystemSupport

/// Desktop notifications through the freedesktop notification service
/// (`org.freedesktop.Notifications` on the session D-Bus), for prompts that
/// must reach a person when latchkey has no terminal.
///
/// libdbus-1 (`libdbus-1.so.3`) is loaded with dlopen when a notifier is
/// made, and the bus is reached only at the first ``notify(summary:body:timeoutMilliseconds:)``;
/// make one only when a prompt is about to be shown, so no other start-up
/// pays for either. Nothing here prints, throws, or waits without a bound:
/// a missing bus, a dead socket, a bus without the service, or a server that
/// never answers each give `nil` within the reply timeout.
public struct DesktopNotifier: Sendable {
    private let bus: SessionBus

    /// `nil` when `DBUS_SESSION_BUS_ADDRESS` is unset or has no `unix:`
    /// entry, or libdbus-1 is missing; never fails otherwise.
    public init?(environment: Environment) {
        self.init(environment: environment, replyTimeoutMilliseconds: 2000)
    }

    /// As ``init(environment:)``, with the longest wait for the bus and the
    /// service together in one call (connecting and the call share it).
    public init?(environment: Environment, replyTimeoutMilliseconds: Int32) {
        guard let given = environment["DBUS_SESSION_BUS_ADDRESS"],
            let address = SessionBusAddress.local(given),
            latchkey_dbus_load() == LATCHKEY_DBUS_OK
        else { return nil }
        bus = SessionBus(address: address, timeout: .milliseconds(max(replyTimeoutMilliseconds, 1)))
    }

    /// Shows a notification: `Notify("latchkey", 0, "", summary, body, [],
    /// {"urgency": byte 2, "transient": true}, timeoutMilliseconds)`. Returns
    /// the server's id for ``close(_:)``, or `nil` when there is no bus, no
    /// notification service, no answer in time, or any other error.
    /// The corresponding D-Bus method is `org.freedesktop.Notifications.Notify`.
    public func notify(summary: String, body: String, timeoutMilliseconds: Int32) -> UInt32? {
        bus.withConnection { connection, remaining in
            var id: UInt32 = 0
            let status = Self.cString(summary) { summary in
                Self.cString(body) { body in
                    latchkey_dbus_notify(
                        connection, "latchkey", summary, body, timeoutMilliseconds, Self.criticalUrgency, remaining, &id)
                }
            }
            return status == LATCHKEY_DBUS_OK ? id : nil
        }
    }

    /// Closes a notification ``notify(summary:body:timeoutMilliseconds:)``
    /// showed; errors are ignored. The corresponding D-Bus method is
    /// `org.freedesktop.Notifications.CloseNotification`.
    public func close(_ id: UInt32) {
        _ = bus.withConnection { connection, remaining in
            latchkey_dbus_close_notification(connection, id, remaining) == LATCHKEY_DBUS_OK ? () : nil
        }
    }

    /// The spec's urgency levels are 0 low, 1 normal, 2 critical: a touch
    /// is wanted now.
    static let criticalUrgency: UInt8 = 2

    /// `text` as a C string for D-Bus, which carries no NUL inside a string
    /// (Swift strings are valid UTF-8, which libdbus insists on).
    private static func cString<R>(_ text: String, _ body: (UnsafePointer<CChar>) -> R) -> R {
        let cleaned = text.contains("\0") ? text.split(separator: "\0", omittingEmptySubsequences: false).joined() : text
        return cleaned.withCString(body)
    }
}

/// Which parts of a session bus address latchkey will use.
enum SessionBusAddress {
    /// The `unix:` entries of a D-Bus address list (`transport:key=value,…;…`),
    /// or `nil` when there are none. Other transports are left out on
    /// purpose: `autolaunch:` and `unixexec:` start programs, and `tcp:`
    /// connects with a wait only the kernel bounds.
    static func local(_ address: String) -> String? {
        let entries = address.split(separator: ";").filter { $0.hasPrefix("unix:") }
        return entries.isEmpty ? nil : entries.joined(separator: ";")
    }
}

/// One private connection to the session bus, made at first use, kept for
/// the close that follows a notify (servers may tie a notification to its
/// sender), and made again if the bus dropped it.
final class SessionBus: Sendable {
    let address: String
    let timeout: Duration
    /// The connection, used by one caller at a time.
    private let connection = Mutex<BusConnection?>(nil)

    init(address: String, timeout: Duration) {
        self.address = address
        self.timeout = timeout
    }

    /// Runs `call` with a live connection and the milliseconds left of the
    /// timeout; `nil` if the bus cannot be reached in time.
    func withConnection<R>(_ call: (OpaquePointer, Int32) -> R?) -> R? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        func remaining() -> Int32? {
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { return nil }
            let (seconds, attoseconds) = left.components
            return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
        }
        return connection.withLock { current -> R? in
            if let open = current, latchkey_dbus_is_connected(open.handle) == 0 { current = nil }
            if current == nil {
                guard let left = remaining() else { return nil }
                current = address.withCString { latchkey_dbus_connect($0, left) }.map(BusConnection.init)
            }
            guard let open = current, let left = remaining() else { return nil }
            return call(open.handle, left)
        }
    }
}

/// A private libdbus connection, closed and released with its owner.
/// `@unchecked Sendable`: it lives only inside ``SessionBus``'s mutex, so one
/// thread at a time uses it (libdbus's threads are initialised besides).
final class BusConnection: @unchecked Sendable {
    let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    /// The corresponding C functions are `dbus_connection_close` and `dbus_connection_unref`.
    deinit { latchkey_dbus_disconnect(handle) }
}
