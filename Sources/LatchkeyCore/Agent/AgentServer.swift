import AgentProtocol
import AWSSigning
import SystemSupport

#if canImport(Glibc)
import Glibc
#endif

/// `latchkey agent`'s loop: listens on the socket, takes one connection at
/// a time (a request, then its answer), and runs until SIGTERM, SIGINT or SIGHUP,
/// then removes its socket and wipes what it held.
///
/// One request at a time is the point, not a limit: two requests never
/// compete for the key, and the second for a profile finds the first's
/// session in the cache. A client is given a few seconds to send its
/// request, so a silent one cannot hold the line.
public struct AgentServer {
    public var service: AgentService
    public var socketPath: String
    /// How long a client has to send its request once connected.
    public var requestTimeoutSeconds: Double = 5

    public init(service: AgentService, socketPath: String) {
        self.service = service
        self.socketPath = socketPath
    }

    /// Listens until SIGTERM, SIGINT or SIGHUP. `ready` runs once the socket accepts
    /// connections.
    public func run(ready: () -> Void = {}) throws {
        let world = service.world
        let listener: LocalSocket
        var place = socketPath
        if let passed = LocalSocket.passedByServiceManager() {
            // systemd's latchkey-agent.socket: it made the path, and keeps it.
            listener = passed
            place = "the socket the service manager passed"
        } else {
            try prepareDirectory()
            do {
                listener = try LocalSocket.listen(at: socketPath)
            } catch {
                throw LatchkeyError(.usage, "cannot listen at \(socketPath): \(error.detail ?? error.errno.description)")
            }
        }
        let stop = try TerminationSignals()
        defer {
            listener.close()
            service.dropVault()
        }
        log("listening on \(place)")
        ready()
        while true {
            let waitMilliseconds = service.secondsUntilVaultExpiry.map { Int32(clamping: $0 * 1000 + 50) } ?? -1
            switch try listener.accept(orWakeOn: stop.readDescriptor, timeoutMilliseconds: waitMilliseconds) {
            case .woken:
                let signal = (try? stop.wait()).map(TerminationSignals.name) ?? "a signal"
                log("stopping (\(signal)); socket removed")
                return
            case .timedOut:
                if service.secondsUntilVaultExpiry == 0 {
                    service.dropExpiredVault()
                    log("the vault's unlock time is over: wiped")
                }
            case .connection(let connection):
                serve(connection, world: world)
            }
        }
    }

    private func serve(_ connection: LocalSocket, world: World) {
        let peer: LocalSocket.Peer
        do {
            peer = try connection.peer()
        } catch {
            log("refused a connection: \(error)")
            return
        }
        // The socket is 0600, but a forwarded socket is reachable by anyone
        // sshd lets in on the far side; this side only takes its own user.
        guard peer.uid == getuid() else {
            log("refused pid \(peer.pid): user \(peer.uid) is not this agent's user (\(getuid()))")
            return
        }
        let request: AgentRequest
        do {
            request = try AgentRequest(body: try AgentSocket.receiveBody(connection, until: Deadline(seconds: requestTimeoutSeconds)))
        } catch let error as AgentProtocolError {
            log("pid \(peer.pid): refused: \(error)")
            let category: FailureCategory = if case .unsupportedVersion = error { .agentUnavailable } else { .invalidInput }
            try? connection.send(AgentReply.failure(category: category.rawValue, message: "the agent refused the request: \(error)").encoded(), timeoutSeconds: 2)
            return
        } catch {
            log("pid \(peer.pid): no request: \(error)")
            return
        }
        let what: String = switch request {
        case .credentials(let question): "profile \(question.profile)"
        case .code(let serial, _): "code \(serial)"
        }
        let (reply, outcome) = service.answer(request)
        do {
            try connection.send(reply.encoded(), timeoutSeconds: 5)
            log("host \(request.host): \(what): \(outcome)")
        } catch {
            // The client went away mid-request: what was made is in the cache.
            log("host \(request.host): \(what): \(outcome); the client left before the answer (\(error))")
        }
    }

    /// The socket's directory: the default one (under XDG_RUNTIME_DIR, or
    /// /tmp/latchkey-UID) is made 0700; a directory given with `--socket`
    /// must already be this user's and not writable by others.
    private func prepareDirectory() throws {
        let directory = PrivateFiles.parentDirectory(of: socketPath)
        if socketPath == AgentSocket.defaultPath(in: service.world.environment) {
            try PrivateFiles.ensurePrivateDirectory(directory)
        }
        if let problem = PrivateFiles.directoryTrustProblem(directory) {
            throw LatchkeyError(.usage, "will not listen in \(directory): \(problem)")
        }
    }

    private func log(_ text: String) {
        service.world.standardError("\(UTCDateTime(secondsSince1970: Int64(service.world.unixTime)).iso8601) latchkey agent: \(text)\n")
    }
}
