import Foundation
import OATH
import TestSupport
import Testing
import VirtualKey

/// A stand-in for vpcd: listens on an ephemeral 127.0.0.1 port and speaks
/// its framing (2-byte big-endian length, payload) to the card that
/// connects. No pcscd needed, and no clash with the real port.
final class FakeVPCD {
    let port: UInt16
    private let listener: Int32
    private(set) var client: Int32 = -1

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else {
            close(fd)
            throw Failure(description: "bind/listen failed")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit {
        if client >= 0 { close(client) }
        close(listener)
    }

    /// Waits up to `timeout` seconds for the card to connect.
    func accept(timeout: Double) throws {
        var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) > 0 else { throw Failure(description: "no card connected within \(timeout) s") }
        if client >= 0 { close(client) }
        client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { throw Failure(description: "accept failed") }
    }

    /// Closes the connection: for the card, the reader went away.
    func drop() {
        if client >= 0 { close(client) }
        client = -1
    }

    func send(_ payload: [UInt8]) throws {
        let frame = [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
        let sent = frame.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == frame.count else { throw Failure(description: "send failed") }
    }

    /// One framed reply, or an error after `timeout` seconds.
    func receive(timeout: Double = 5) throws -> [UInt8] {
        let header = try read(2, timeout: timeout)
        return try read(Int(header[0]) << 8 | Int(header[1]), timeout: timeout)
    }

    /// Sends a command APDU and returns the card's response.
    func transmit(_ apdu: [UInt8], timeout: Double = 5) throws -> [UInt8] {
        try send(apdu)
        return try receive(timeout: timeout)
    }

    private func read(_ count: Int, timeout: Double) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        let deadline = Date().addingTimeInterval(timeout)
        while filled < count {
            var entry = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            let left = deadline.timeIntervalSinceNow
            guard left > 0, poll(&entry, 1, Int32(left * 1000)) > 0 else { throw Failure(description: "no reply within \(timeout) s") }
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress.map { $0 + filled }, count - filled, 0) }
            guard n > 0 else { throw Failure(description: "the card closed the connection") }
            filled += n
        }
        return buffer
    }
}

/// The latchkey-virtual-key executable: seeding with `add`, serving a fake
/// vpcd, reconnecting, and stopping on SIGTERM.
@Suite("latchkey-virtual-key against a fake vpcd")
struct ServeProcessTests {
    static let select: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01]

    static func binary() throws -> String {
        guard let path = Tools.virtualKey else {
            Issue.record("latchkey-virtual-key was not built beside the tests; set LATCHKEY_VKEY_BIN")
            throw Tools.Missing()
        }
        return path
    }

    static func calculate(_ name: String, time: UInt64) -> [UInt8] {
        let data = [0x71, UInt8(name.utf8.count)] + Array(name.utf8) + [0x74, 0x08] + AppletFixture.timeChallenge(time)
        return [0x00, 0xA2, 0x00, 0x01, UInt8(data.count)] + data
    }

    /// Starts `serve` against `vpcd`; returns the process and its stderr file.
    static func serve(_ vpcd: FakeVPCD, state: String, _ extra: [String] = []) throws -> (Process, URL) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments = ["serve", "--state", state, "--port", "\(vpcd.port)"] + extra
        let errors = URL(fileURLWithPath: state + ".err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardInput = FileHandle.nullDevice
        try launchWithTerminationSignals(process)
        return (process, errors)
    }

    /// SIGTERM, then the exit status if it comes within `timeout` seconds.
    static func terminate(_ process: Process, timeout: Double = 5) async throws -> Int32? {
        await stopProcess(process, grace: timeout)
    }

    @Test("Seeded with add, the key answers vpcd's power-on, ATR and APDUs, reconnects after a drop, and exits 0 on SIGTERM")
    func serveLifecycle() async throws {
        let directory = try VirtualKeySession.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("key.json").path
        let log = directory.appendingPathComponent("apdu.log").path
        let added = try await runProgram(try Self.binary(), [
            "add", "--state", state, "rfc", "--secret-hex", "3132333435363738393031323334353637383930", "--digits", "8",
        ])
        #expect(added.status == 0, "\(added)")

        let vpcd = try FakeVPCD()
        let (process, errors) = try Self.serve(vpcd, state: state, ["--log", log])
        do {
            try vpcd.accept(timeout: 10)
            try vpcd.send([0x01])  // power on: no reply
            #expect(try vpcd.transmit([0x04]) == VPCDMessage.yubiKey5ATR)
            let selected = try vpcd.transmit(Self.select)
            #expect(selected.prefix(5) == [0x79, 0x03, 0x05, 0x04, 0x03])
            #expect(selected.suffix(2) == [0x90, 0x00])
            let code = try vpcd.transmit(Self.calculate("rfc", time: 59))
            #expect(code.count == 9)
            #expect(code.suffix(2) == [0x90, 0x00])
            // 94287082 is RFC 6238's SHA1 code at t = 59.
            #expect(code.prefix(3) == [0x76, 0x05, 0x08])
            #expect(OTP.format(OTP.truncatedValue(code.dropFirst(3).prefix(4)), digits: 8) == "94287082")

            // The reader goes away; the key comes back by itself, deselected.
            vpcd.drop()
            try vpcd.accept(timeout: 10)
            #expect(try vpcd.transmit([0x00, 0xA1, 0x00, 0x00]).suffix(2) == [0x6D, 0x00])
            #expect(try vpcd.transmit(Self.select).suffix(2) == [0x90, 0x00])
            try vpcd.send([0x02])  // reset: no reply, deselects
            #expect(try vpcd.transmit([0x04]) == VPCDMessage.yubiKey5ATR)
            #expect(try vpcd.transmit([0x00, 0xA1, 0x00, 0x00]).suffix(2) == [0x6D, 0x00])
        } catch {
            _ = try await Self.terminate(process)
            throw error
        }
        #expect(try await Self.terminate(process) == 0)
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        #expect(stderr.contains("stopped"), "\(stderr)")
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.map { $0.split(separator: " ").first.map(String.init) ?? "" } == ["SELECT", "CALCULATE", "LIST", "SELECT", "LIST"])
        #expect(lines.first == "SELECT 00a40400 a0000005272101 9000")
    }

    @Test("SIGTERM ends a touch wait at once; with --once the key exits when vpcd closes")
    func interruptsAndOnce() async throws {
        let directory = try VirtualKeySession.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("key.json").path
        let added = try await runProgram(try Self.binary(), ["add", "--state", state, "pressed", "--secret-hex", "00ff", "--touch"])
        #expect(added.status == 0, "\(added)")

        let vpcd = try FakeVPCD()
        let (waiting, _) = try Self.serve(vpcd, state: state, ["--touch", "never", "--touch-timeout", "60"])
        try vpcd.accept(timeout: 10)
        #expect(try vpcd.transmit(Self.select).suffix(2) == [0x90, 0x00])
        try vpcd.send(Self.calculate("pressed", time: 59))
        try await Task.sleep(for: .milliseconds(300))
        let start = Date()
        #expect(try await Self.terminate(waiting, timeout: 5) == 0)
        // Far below the 60 s touch timeout it was waiting out; 10 s leaves
        // room for a loaded CI machine (3.5 s was seen with the suites in parallel).
        #expect(Date().timeIntervalSince(start) < 10)

        let (once, _) = try Self.serve(vpcd, state: state, ["--once"])
        try vpcd.accept(timeout: 10)
        #expect(try vpcd.transmit([0x04]) == VPCDMessage.yubiKey5ATR)
        vpcd.drop()
        let deadline = Date().addingTimeInterval(5)
        while once.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!once.isRunning)
        if once.isRunning { _ = try await Self.terminate(once) } else { #expect(once.terminationStatus == 0) }
    }

    @Test("list prints a state file's accounts without secrets; a corrupt state file stops serve with its path")
    func listAndCorrupt() async throws {
        let directory = try VirtualKeySession.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("key.json").path
        #expect(try await runProgram(try Self.binary(), ["add", "--state", state, "slow", "--secret-hex", "abcdef", "--period", "60", "--algorithm", "sha256"]).status == 0)
        #expect(try await runProgram(try Self.binary(), ["add", "--state", state, "ctr", "--secret-base32", "GEZDGNBV", "--hotp", "--counter", "7"]).status == 0)
        let listed = try await runProgram(try Self.binary(), ["list", "--state", state])
        #expect(listed.status == 0)
        #expect(listed.lines.dropFirst() == ["60/slow\tTOTP\tSHA256\t6 digits", "ctr\tHOTP\tSHA1\t6 digits\tcounter 7"])
        #expect(!listed.stdout.contains("abcdef"))

        try "{ not json".write(toFile: state, atomically: true, encoding: .utf8)
        let failed = try await runProgram(try Self.binary(), ["serve", "--state", state, "--port", "1"], timeout: 10)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains(state), "\(failed)")
    }
}
