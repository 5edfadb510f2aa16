import AgentProtocol
import SystemSupport

#if canImport(Glibc)
import Glibc
#endif

/// Where the agent listens and clients connect, and the exchange of one
/// framed message over a connection.
public enum AgentSocket {
    /// The variable a client reads the socket path from, as ssh-agent's
    /// `SSH_AUTH_SOCK`.
    public static let variable = "LATCHKEY_AGENT_SOCK"

    /// `$XDG_RUNTIME_DIR/latchkey/agent.sock` (systemd makes that directory
    /// per user, 0700, on tmpfs); without it, `/tmp/latchkey-UID/agent.sock`.
    public static func defaultPath(in environment: Environment) -> String {
        if let runtime = environment.nonEmpty("XDG_RUNTIME_DIR"), runtime.hasPrefix("/") {
            return runtime + "/latchkey/agent.sock"
        }
        return "/tmp/latchkey-\(getuid())/agent.sock"
    }

    /// The path a client uses: `LATCHKEY_AGENT_SOCK`, else the default.
    public static func clientPath(in environment: Environment) -> String {
        environment.nonEmpty(variable) ?? defaultPath(in: environment)
    }

    /// Reads one frame's body from `connection` before `deadline`.
    static func receiveBody(_ connection: LocalSocket, until deadline: Deadline) throws -> ArraySlice<UInt8> {
        let header = try connection.receive(exactly: AgentFrame.headerBytes, until: deadline)
        let length = try AgentFrame.bodyLength(header: header[...])
        return try connection.receive(exactly: length, until: deadline)[...]
    }
}
