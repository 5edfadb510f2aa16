import AgentProtocol
import AWSSigning
import CredentialFlow
import SessionCache
import SystemSupport

#if canImport(Glibc)
import Glibc
#endif

/// The dev box's side: asks the agent whose socket `LATCHKEY_AGENT_SOCK`
/// names for a profile's session or an MFA code. One connection per
/// question; the box's own session cache (through the broker) makes
/// parallel callers share one question.
public struct AgentClient: RemoteCredentialSource {
    public var world: World
    public var socketPath: String
    /// How long to wait for an answer: a touch (15 s), a confirmation on the
    /// agent's terminal, a passphrase, STS.
    public var answerTimeoutSeconds: Double = 180

    public init(world: World) {
        self.world = world
        socketPath = AgentSocket.clientPath(in: world.environment)
    }

    public func credentials(profile: String, durationSeconds: Int?, refresh: Bool) throws -> CachedSession {
        let question = AgentRequest.CredentialsQuestion(
            profile: profile, host: world.hostName, durationSeconds: durationSeconds, refresh: refresh)
        switch try ask(.credentials(question)) {
        case .credentials(let session):
            return CachedSession(
                credentials: AWSCredentials(
                    accessKeyID: session.accessKeyID, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken),
                expiration: session.expiration, arn: session.arn)
        default:
            throw LatchkeyError(.agentUnavailable, "the agent at \(socketPath) answered a credentials request with something else")
        }
    }

    /// A code for the MFA device `serial`, made by the agent's token with
    /// its machine's record of spent steps.
    public func code(serial: String) throws -> String {
        switch try ask(.code(serial: serial, host: world.hostName)) {
        case .code(let code): return code
        default: throw LatchkeyError(.agentUnavailable, "the agent at \(socketPath) answered a code request with something else")
        }
    }

    /// Sends `request` and reads the reply; a failure reply becomes the
    /// error it names, with the category (and so the exit code) it had on
    /// the agent's machine.
    func ask(_ request: AgentRequest) throws -> AgentReply {
        let connection: LocalSocket
        do {
            connection = try LocalSocket.connect(to: socketPath)
        } catch {
            throw LatchkeyError(.agentUnavailable, Self.connectProblem(error, path: socketPath))
        }
        let reply: AgentReply
        do {
            try connection.send(request.encoded(), timeoutSeconds: 10)
            reply = try AgentReply(body: try AgentSocket.receiveBody(connection, until: Deadline(seconds: answerTimeoutSeconds)))
        } catch let error as AgentProtocolError {
            throw LatchkeyError(.agentUnavailable, "the agent at \(socketPath) sent \(error)")
        } catch let error as SystemError {
            let what = error.errno.rawValue == ECONNRESET
                ? "closed the connection without answering (it stopped or failed: see its log)"
                : "did not answer: \(error)"
            throw LatchkeyError(.agentUnavailable, "the agent at \(socketPath) \(what)")
        }
        if case .failure(let category, let message) = reply {
            throw LatchkeyError(FailureCategory(rawValue: category) ?? .failure, "agent: \(message)")
        }
        return reply
    }

    static func connectProblem(_ error: SystemError, path: String) -> String {
        switch error.errno.rawValue {
        case ENOENT:
            "no latchkey agent at \(path): run `latchkey agent` on the machine with the key and forward its socket (`ssh -R`), or set \(AgentSocket.variable)"
        case ECONNREFUSED:
            "the latchkey agent at \(path) is not running (a socket left behind; with ssh -R, set StreamLocalBindUnlink yes on the server)"
        default:
            "cannot reach the latchkey agent at \(path): \(error.detail ?? error.errno.description)"
        }
    }
}
