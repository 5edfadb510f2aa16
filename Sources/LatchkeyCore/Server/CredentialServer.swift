import LoopbackHTTP
import SessionCache
import Synchronization
import SystemSupport

/// The container credential provider that every AWS SDK and the AWS CLI
/// speak, for one profile: a program given
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` sends
///
///     GET / HTTP/1.1
///     Authorization: <the token, raw>
///
/// and gets `{"AccessKeyId","SecretAccessKey","Token","Expiration"}` (and
/// `AccountId` when the session's ARN names one), so a long-running
/// program refreshes its credentials without a restart.
///
/// - Bound to 127.0.0.1 only, on a port the kernel picks unless one is given.
/// - The token is 256 random bits (64 hex digits), compared in constant
///   time. No `Authorization` is 401, a wrong one 403, both without a body;
///   nothing else is looked at before the token is right.
/// - The session is held in memory and refreshed (the cache first, then the
///   key, the vault or the person, as `credential-process` would) when fewer
///   than 15 minutes remain. Requests wait for one refresh under one lock,
///   so however many arrive together they cost one touch. A session that
///   has no more than 15 minutes from the start (`duration_seconds = 900`)
///   is refreshed when half of its time is gone, not on every request.
/// - A refresh that fails keeps the old session while it lasts; after that
///   the answer is 500 with the one-line reason.
///
/// `@unchecked Sendable`: `world` (its HTTP transport, key connector and
/// prompter) is used only inside `state.withLock`, so one thread at a time.
public final class CredentialServer: @unchecked Sendable {
    /// The rule's 15 minutes, as botocore's advisory refresh window.
    public static let refreshWindowSeconds: Int64 = 900

    public let token: String
    private let tokenBytes: [UInt8]
    private let world: World
    private let request: CredentialRequest
    private let server: LoopbackServer

    private struct State {
        var session: CachedSession?
        var refreshAt: Int64 = 0
        var refreshes = 0
    }
    private let state: Mutex<State>

    /// Binds the port (0: any free one), before any session is made, so a
    /// port that is taken costs no touch; ``start(serving:)`` serves.
    public init(world: World, request: CredentialRequest, port: UInt16 = 0) throws {
        var generator = SystemRandomNumberGenerator()
        var random = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        defer { random.wipe() }
        let digits = Array("0123456789abcdef".utf8)
        tokenBytes = random.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }
        token = String(decoding: tokenBytes, as: UTF8.self)
        self.world = world
        // Later refreshes read the cache again, and a code typed for the
        // first session is spent: they ask the profile's own source.
        var later = request
        later.refresh = false
        later.mfaCode = nil
        self.request = later
        state = Mutex(State())
        let box = HandlerBox()
        do {
            server = try LoopbackServer(settings: LoopbackServer.Settings(port: port)) { box.answer($0) }
        } catch {
            throw LatchkeyError(.failure, "\(error)")
        }
        box.server = self
    }

    deinit { server.stop() }

    public var port: UInt16 { server.port }
    /// The URL to give clients.
    public var url: String { "http://127.0.0.1:\(port)/" }

    /// The two variables a client needs.
    public var clientVariables: [(name: String, value: String)] {
        [("AWS_CONTAINER_CREDENTIALS_FULL_URI", url), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)]
    }

    /// The refreshes so far (the first session is not one).
    public var refreshes: Int { state.withLock { $0.refreshes } }

    /// Holds `session` (the one the command obtained: any prompt or touch
    /// came before the server) and starts answering.
    public func start(serving session: CachedSession) throws {
        guard session.expiration != Int64.max else {
            throw LatchkeyError(
                .usage, "the profile's credentials are long-term keys without a session; a credential server serves sessions only")
        }
        let now = Int64(world.unixTime)
        state.withLock { state in
            state.session = session
            state.refreshAt = Self.refreshTime(for: session, obtainedAt: now)
        }
        do { try server.start() } catch { throw LatchkeyError(.failure, "\(error)") }
    }

    public func stop() { server.stop() }

    /// When a session obtained at `now` is due for a refresh: 15 minutes
    /// before it expires, or, for one that has no more than 15 minutes
    /// from the start, when half of its time is gone.
    static func refreshTime(for session: CachedSession, obtainedAt now: Int64) -> Int64 {
        let left = session.expiration - now
        return left > refreshWindowSeconds ? session.expiration - refreshWindowSeconds : now + left / 2
    }

    /// The answer to one request.
    func answer(_ head: HTTPRequestHead) -> HTTPResponse {
        let given = head.values(named: "Authorization")
        guard let presented = given.first else { return HTTPResponse(status: 401) }
        guard given.count == 1, constantTimeEqual(Array(presented.utf8), tokenBytes) else { return HTTPResponse(status: 403) }
        guard head.method == "GET" else { return HTTPResponse(status: 405) }
        guard head.target == "/" else { return HTTPResponse(status: 404) }
        switch currentSession() {
        case .success(let session): return HTTPResponse(status: 200, contentType: "application/json", body: Self.body(for: session))
        case .failure(let error):
            let message = JSONText.quoted("latchkey could not refresh the credentials: \(error.message)")
            return HTTPResponse(status: 500, contentType: "application/json", body: Array("{\"Code\":\"RefreshFailed\",\"Message\":\(message)}".utf8))
        }
    }

    /// The held session, refreshed first when it is due.
    private func currentSession() -> Result<CachedSession, LatchkeyError> {
        state.withLock { state in
            let now = Int64(world.unixTime)
            if let session = state.session, now < state.refreshAt { return .success(session) }
            do {
                let fresh = try CredentialService(world: world).obtain(request).session
                state.session = fresh
                state.refreshAt = Self.refreshTime(for: fresh, obtainedAt: now)
                state.refreshes += 1
                return .success(fresh)
            } catch {
                let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "unexpected error: \(error)")
                world.standardError("latchkey: \(failure.message)\n")
                if let session = state.session, session.expiration > now { return .success(session) }
                return .failure(failure)
            }
        }
    }

    /// The provider's JSON for `session`.
    static func body(for session: CachedSession) -> [UInt8] {
        var text = "{\"AccessKeyId\":\(JSONText.quoted(session.credentials.accessKeyID))"
        text += ",\"SecretAccessKey\":\(JSONText.quoted(session.credentials.secretAccessKey))"
        if let token = session.credentials.sessionToken { text += ",\"Token\":\(JSONText.quoted(token))" }
        text += ",\"Expiration\":\(JSONText.quoted(session.expirationText))"
        if let account = session.arn.flatMap(accountID) { text += ",\"AccountId\":\(JSONText.quoted(account))" }
        text += "}"
        return Array(text.utf8)
    }

    /// The account in an ARN (`arn:aws:sts::123456789012:assumed-role/…`).
    static func accountID(in arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts[4].count == 12, parts[4].allSatisfy(\.isASCII), parts[4].allSatisfy(\.isNumber) else { return nil }
        return String(parts[4])
    }

    /// The environment a command started by `exec --server` gets: `base`
    /// without latchkey's secrets, without static keys or anything that
    /// would beat the server in the SDKs' credential chain, with the
    /// server's URL and token (and the profile's region).
    public func environment(for base: Environment, region: String?) -> Environment {
        var environment = base.forChild
        for name in Self.replacedVariables { environment[name] = nil }
        for (name, value) in clientVariables { environment[name] = value }
        if let region {
            environment["AWS_REGION"] = region
            environment["AWS_DEFAULT_REGION"] = region
        }
        return environment
    }

    /// Variables that are dropped from the command's environment: static
    /// keys (the SDKs would use them first), the profile (its own source
    /// would too), and the other ways to name a container endpoint or token
    /// (the relative URI and the token file win over ours in botocore).
    static let replacedVariables = [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ]
}

/// Lets the loopback server's handler reach the credential server, which is
/// made after it.
///
/// `@unchecked Sendable`: `server` is set once, in `CredentialServer.init`,
/// before `start()` lets any request in.
private final class HandlerBox: @unchecked Sendable {
    weak var server: CredentialServer?
    func answer(_ head: HTTPRequestHead) -> HTTPResponse { server?.answer(head) ?? HTTPResponse(status: 503) }
}
