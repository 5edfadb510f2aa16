import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's swtpm as a TPM 2.0 for one test: `swtpm socket --tpm2` on two
/// loopback ports (commands on `port`, control on `port + 1`) with a fresh
/// state directory, started and already past TPM2_Startup (`--flags
/// not-need-init,startup-clear`). Stopped (and its state removed) when the
/// value goes away. A missing swtpm is a failure, not a skip:
/// scripts/install-deps installs it.
public final class SoftwareTPM: @unchecked Sendable {
    // @unchecked: `process` is only touched by init, stop and deinit, which
    // run once each; the rest is immutable.
    public let port: Int
    public let state: TemporaryDirectory
    private let process: Process

    /// The TCTI configuration string for tpm2-tss (latchkey, tpm2-tools).
    public var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

    public static let executable = "/usr/bin/swtpm"

    public init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw StartFailure("swtpm is not installed (Debian package swtpm; scripts/install-deps installs it)")
        }
        state = try TemporaryDirectory("swtpm")
        // Another test may take a port between the check and swtpm's bind:
        // then swtpm exits and another pair is tried.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let port = Int.random(in: 20_000..<60_000, using: &generator) & ~1
            guard Self.isFree(port), Self.isFree(port + 1) else { continue }
            let launched = Process()
            launched.executableURL = URL(fileURLWithPath: Self.executable)
            launched.arguments = [
                "socket", "--tpm2", "--tpmstate", "dir=\(state.path)", "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1",
                "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1", "--flags", "not-need-init,startup-clear",
            ]
            launched.standardInput = FileHandle.nullDevice
            launched.standardOutput = FileHandle.nullDevice
            launched.standardError = FileHandle.nullDevice
            try launchWithTerminationSignals(launched)
            if Self.waitUntilListening(port, while: launched) {
                self.port = port
                process = launched
                return
            }
            killProcess(launched)
        }
        throw StartFailure("swtpm did not start listening on any of 20 loopback ports")
    }

    deinit { stop() }

    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Stops swtpm (SIGTERM, then SIGKILL); the TPM is gone from then on.
    public func stop() {
        if process.isRunning { _ = stopProcess(process, grace: 2) }
    }

    public var isRunning: Bool { process.isRunning }

    /// Stops swtpm answering (SIGSTOP): connections are still accepted by
    /// the kernel, commands wait.
    public func pause() { Glibc.kill(process.processIdentifier, SIGSTOP) }

    /// Kills swtpm at once (SIGKILL), mid-command or not.
    public func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private static func isFree(_ port: Int) -> Bool {
        withSocket { fd in
            var address = loopback(port)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
    }

    private static func waitUntilListening(_ port: Int, while process: Process) -> Bool {
        for _ in 0..<500 {
            guard process.isRunning else { return false }
            let connected = withSocket { fd in
                var address = loopback(port + 1)
                return withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
            }
            if connected { return true }
            usleep(10_000)
        }
        return false
    }

    private static func withSocket(_ body: (Int32) -> Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return body(fd)
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
