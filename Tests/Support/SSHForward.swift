import Foundation
import Testing

/// Debian's OpenSSH server on 127.0.0.1 (a port of its own, its own host
/// key, one authorized key) and an `ssh -N -R REMOTE:LOCAL` client: a Unix
/// socket forwarded as a dev box sees the laptop's. The server runs as the
/// test's user (root in CI) and replaces stale sockets
/// (`StreamLocalBindUnlink yes`), as the README's recipe says.
public final class SSHForward {
    public let directory: TemporaryDirectory
    public let port: Int
    private let server: SpawnedProgram
    private var client: SpawnedProgram?

    /// Starts the server; `requireInstalled` records a test issue naming
    /// the package when sshd or ssh is missing.
    public init() throws {
        for program in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"] where !FileManager.default.isExecutableFile(atPath: program) {
            Issue.record("\(program) is not installed: apt-get install openssh-server openssh-client")
            throw SSHForwardError.notInstalled
        }
        directory = try TemporaryDirectory("sshd")
        let path = directory.path
        for key in ["host_key", "client_key"] {
            let made = try runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(path)/\(key)"], timeout: 30)
            guard made.status == 0 else { throw SSHForwardError.setup("ssh-keygen: \(made)") }
        }
        try FileManager.default.copyItem(atPath: "\(path)/client_key.pub", toPath: "\(path)/authorized_keys")
        port = try Self.freePort()
        // sshd insists on its privilege-separation directory when run as root.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try writeBytes("\(path)/sshd_config", Array("""
            ListenAddress 127.0.0.1
            Port \(port)
            HostKey \(path)/host_key
            AuthorizedKeysFile \(path)/authorized_keys
            PidFile \(path)/sshd.pid
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            AllowStreamLocalForwarding yes
            StreamLocalBindUnlink yes

            """.utf8))
        server = try SpawnedProgram("/usr/sbin/sshd", ["-D", "-e", "-f", "\(path)/sshd_config"], log: "\(path)/sshd.log")
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port: port) {
            guard server.isRunning, Date() < deadline else {
                throw SSHForwardError.setup("sshd did not start: \((try? String(contentsOfFile: "\(path)/sshd.log", encoding: .utf8)) ?? "")")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    deinit {
        stopForwarding()
        server.stop()
    }

    /// Forwards `remote` (made by sshd, as on a dev box) to `local` (the
    /// laptop's socket) until ``stopForwarding()``; returns once `remote`
    /// exists.
    public func forward(remote: String, to local: String) throws {
        let key = directory.path + "/client_key"
        let client = try SpawnedProgram("/usr/bin/ssh", [
            "-N", "-i", key, "-p", String(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
            "-R", "\(remote):\(local)", "\(NSUserName())@127.0.0.1",
        ], log: directory.path + "/ssh.log")
        self.client = client
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: remote) {
            guard client.isRunning, Date() < deadline else {
                throw SSHForwardError.setup("ssh -R did not forward: \((try? String(contentsOfFile: directory.path + "/ssh.log", encoding: .utf8)) ?? "")")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    public func stopForwarding() {
        client?.stop()
        client = nil
    }

    private static func freePort() throws -> Int {
        guard let (fd, port) = loopbackTCPSocket(listen: false) else { throw SSHForwardError.setup("no free port") }
        close(fd)
        return port
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

public enum SSHForwardError: Error {
    case notInstalled
    case setup(String)
}
