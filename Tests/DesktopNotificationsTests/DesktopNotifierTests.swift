import DesktopNotifications
import Foundation
import SystemSupport
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Notifications on a real session bus (dbus-daemon started by the test) to
/// the fixture server (Tests/Support/Fixtures/notification_server.c), and
/// every way the bus can be missing: no crash, no hang, `nil`.
@Suite("Desktop notifications over the session D-Bus", .timeLimit(.minutes(1)))
struct DesktopNotifierTests {
    /// The Notify fields the fixture records, after the method name: app_name,
    /// replaces_id, app_icon, summary, body, action count, expire_timeout,
    /// urgency, transient, id.
    static func notifyFields(_ call: [String]) -> [String] { Array(call.dropFirst()) }

    @Test("Notify arrives with latchkey's summary, body, app name, urgency 2 and expiry; ids increase; close arrives with the id")
    func notifyAndClose() throws {
        let bus = try TestBus()
        let notifier = try #require(DesktopNotifier(environment: Environment(bus.environment)))
        let summary = "Touch your YubiKey for admin"
        let body = "asked by devbox-3\tat 12:00\nno terminal: ¡tócala! 🔑"
        let first = notifier.notify(summary: summary, body: body, timeoutMilliseconds: 15000)
        let second = notifier.notify(summary: "second\0prompt", body: "", timeoutMilliseconds: -1)
        #expect(first == 1 && second == 2, "\(String(describing: first)) \(String(describing: second))")
        notifier.close(1)

        let calls = bus.calls()
        #expect(calls.count == 3, "\(calls)")
        #expect(
            calls.first == [
                "Notify", "latchkey", "0", "", summary, "asked by devbox-3\\tat 12:00\\nno terminal: ¡tócala! 🔑", "0", "15000", "2", "1", "1",
            ], "\(calls)")
        // A NUL cannot travel in a D-Bus string: it is left out, not an error.
        #expect(calls.dropFirst().first == ["Notify", "latchkey", "0", "", "secondprompt", "", "0", "-1", "2", "1", "2"], "\(calls)")
        #expect(calls.last == ["CloseNotification", "1"], "\(calls)")
    }

    @Test("Debian's notify-send, given the same fields, records exactly what latchkey's call recorded")
    func sameAsNotifySend() async throws {
        let notifySend = try Programs.require("notify-send", package: "libnotify-bin")
        let bus = try TestBus()
        let notifier = try #require(DesktopNotifier(environment: Environment(bus.environment)))
        let summary = "Touch your YubiKey for admin"
        let body = "asked by devbox-3"
        let ours = try #require(notifier.notify(summary: summary, body: body, timeoutMilliseconds: 15000))
        let theirs = try await runProgram(
            notifySend, ["--app-name=latchkey", "--urgency=critical", "--transient", "--expire-time=15000", "--print-id", summary, body],
            environment: bus.environment, timeout: 30)
        #expect(theirs.status == 0, "\(theirs)")
        #expect(theirs.stdout == "2\n", "\(theirs)")

        let calls = bus.calls()
        try #require(calls.count == 2, "\(calls)")
        #expect(ours == 1)
        #expect(calls[0].dropLast() == calls[1].dropLast(), "latchkey \(calls[0]) vs notify-send \(calls[1])")
        #expect(calls.map { $0.last } == ["1", "2"], "\(calls)")
    }

    @Test("Many callers at once each get their own notification and id")
    func concurrentCallers() async throws {
        let bus = try TestBus()
        let notifier = try #require(DesktopNotifier(environment: Environment(bus.environment)))
        let ids = await withTaskGroup(of: UInt32?.self) { group in
            for caller in 0..<8 {
                group.addTask { notifier.notify(summary: "caller \(caller)", body: "", timeoutMilliseconds: 1000) }
            }
            return await group.reduce(into: [UInt32?]()) { $0.append($1) }
        }
        #expect(Set(ids.compactMap { $0 }) == Set(1...8), "\(ids)")
        #expect(Set(bus.calls().map { $0[4] }) == Set((0..<8).map { "caller \($0)" }), "\(bus.calls())")
    }

    @Test("No DBUS_SESSION_BUS_ADDRESS, or one with no unix: entry, gives no notifier, and nothing is started")
    func noBus() throws {
        let directory = try TemporaryDirectory("nobus")
        let marker = directory.file("started")
        #expect(DesktopNotifier(environment: Environment([:])) == nil)
        #expect(DesktopNotifier(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": ""])) == nil)
        #expect(DesktopNotifier(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": "autolaunch:"])) == nil)
        let exec = "unixexec:path=/usr/bin/touch,argv0=touch,argv1=\(marker)"
        #expect(DesktopNotifier(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": exec])) == nil)
        #expect(DesktopNotifier(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": "tcp:host=127.0.0.1,port=9"])) == nil)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("Only the unix: entries of an address list are used: a working bus after an unixexec: entry is reached, and the program is not run")
    func addressList() throws {
        let bus = try TestBus()
        let marker = bus.directory.file("started")
        let address = "unixexec:path=/usr/bin/touch,argv0=touch,argv1=\(marker);" + bus.address
        let notifier = try #require(DesktopNotifier(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": address])))
        #expect(notifier.notify(summary: "s", body: "b", timeoutMilliseconds: 1000) == 1)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    /// The bound each failure below must come in under, far above the
    /// notifier's timeout when that is what ends the wait (a check that
    /// nothing hangs, not a speed figure).
    static let hangBound = 15.0

    /// notify gives nil and close returns, both within ``hangBound``.
    static func expectNoNotification(_ notifier: DesktopNotifier, sourceLocation: SourceLocation = #_sourceLocation) {
        let started = Date()
        #expect(notifier.notify(summary: "s", body: "b", timeoutMilliseconds: 1000) == nil, sourceLocation: sourceLocation)
        notifier.close(1)
        #expect(Date().timeIntervalSince(started) < hangBound, sourceLocation: sourceLocation)
    }

    @Test("A bus address naming a dead socket gives nil at once, for notify and close, without waiting for the timeout")
    func deadSocket() throws {
        let directory = try TemporaryDirectory("deadbus")
        let environment = Environment(["DBUS_SESSION_BUS_ADDRESS": "unix:path=\(directory.file("no-bus"))"])
        Self.expectNoNotification(try #require(DesktopNotifier(environment: environment, replyTimeoutMilliseconds: 60_000)))
    }

    @Test("A bus without the notification service gives nil at once (the bus answers ServiceUnknown)")
    func noService() throws {
        let bus = try TestBus(withServer: false)
        Self.expectNoNotification(
            try #require(DesktopNotifier(environment: Environment(bus.environment), replyTimeoutMilliseconds: 60_000)))
    }

    @Test("A service that never answers Notify gives nil when the timeout ends; the call did arrive")
    func silentService() throws {
        let bus = try TestBus(silentServer: true)
        let notifier = try #require(DesktopNotifier(environment: Environment(bus.environment), replyTimeoutMilliseconds: 300))
        let started = Date()
        #expect(notifier.notify(summary: "s", body: "b", timeoutMilliseconds: 1000) == nil)
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.29 && waited < Self.hangBound, "\(waited) s")
        #expect(bus.calls().map { $0.first } == ["Notify"], "\(bus.calls())")
    }

    @Test("A socket that accepts the connection but never speaks D-Bus gives nil when the timeout ends")
    func deafSocket() throws {
        let directory = try TemporaryDirectory("deaf")
        let deaf = try DeafSocket(in: directory)
        let environment = Environment(["DBUS_SESSION_BUS_ADDRESS": "unix:path=\(deaf.path)"])
        Self.expectNoNotification(try #require(DesktopNotifier(environment: environment, replyTimeoutMilliseconds: 300)))
    }

    @Test("A socket whose accept queue is full (libdbus's connect() blocks) gives nil when the timeout ends")
    func fullSocket() throws {
        let directory = try TemporaryDirectory("full")
        let full = try DeafSocket(in: directory, full: true)
        let environment = Environment(["DBUS_SESSION_BUS_ADDRESS": "unix:path=\(full.path)"])
        Self.expectNoNotification(try #require(DesktopNotifier(environment: environment, replyTimeoutMilliseconds: 300)))
    }

    @Test("When the bus goes away the notifier gives nil, and reaches a bus started again at the same address")
    func busRestarts() throws {
        let bus = try TestBus()
        // The path alone, as systemd's user bus sets it: the address
        // dbus-daemon prints carries its guid, which a new daemon does not share.
        let environment = Environment(["DBUS_SESSION_BUS_ADDRESS": "unix:path=\(bus.socket)"])
        let notifier = try #require(DesktopNotifier(environment: environment, replyTimeoutMilliseconds: 2000))
        #expect(notifier.notify(summary: "before", body: "", timeoutMilliseconds: 1000) == 1)
        bus.stop()
        #expect(notifier.notify(summary: "while down", body: "", timeoutMilliseconds: 1000) == nil)
        try bus.start()
        try bus.startServer()
        // The new server counts from 1 again; "before" is in the record from the first.
        #expect(notifier.notify(summary: "after", body: "", timeoutMilliseconds: 1000) == 1)
        #expect(bus.calls().map { $0[4] } == ["before", "after"], "\(bus.calls())")
    }
}
