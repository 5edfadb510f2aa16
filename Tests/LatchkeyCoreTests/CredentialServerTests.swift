import Foundation
import OATH
import SessionCache
import SystemSupport
import TestSupport
import TestWorld
import Testing

@testable import LatchkeyCore

/// The credential server in-process over real loopback sockets, with the
/// test World: the key's applet in memory, a scripted STS and a manual
/// clock, so "15 minutes before expiry" is a number, not a wait.
@Suite("Credential server in-process: the token, the refresh rule, one refresh for many requests")
struct CredentialServerTests {
    static let lifetime: UInt64 = 3600

    /// A world with profile `work` (the key's code, GetSessionToken of one
    /// hour), its first session obtained, and a server holding it.
    static func started() throws -> (TestWorld, CredentialServer, CachedSession) {
        let world = try CredentialServiceTests.world(source: "yubikey")
        try world.key.session().put(OATHCredential(name: CredentialServiceTests.serial, secret: CredentialServiceTests.seed))
        let (session, _) = try CredentialService(world: world.world).obtain(CredentialServiceTests.request)
        let server = try CredentialServer(world: world.world, request: CredentialServiceTests.request)
        try server.start(serving: session)
        return (world, server, session)
    }

    static func get(_ server: CredentialServer, authorization: String?) throws -> (status: Int, body: [UInt8]) {
        var head = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        return try RawHTTP.exchange(port: Int(server.port), request: Array((head + "\r\n").utf8), timeoutSeconds: 10)
    }

    struct Answer: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String
        var Expiration: String
    }

    static func credentials(_ server: CredentialServer) throws -> Answer {
        let answer = try get(server, authorization: server.token)
        #expect(answer.status == 200)
        return try JSONDecoder().decode(Answer.self, from: Data(answer.body))
    }

    @Test("the right token gets the session as the container provider's JSON; the token is 256 random bits in hex")
    func answersWithTheToken() throws {
        let (_, server, session) = try Self.started()
        defer { server.stop() }
        let answer = try Self.credentials(server)
        #expect(answer.AccessKeyId == session.credentials.accessKeyID && answer.SecretAccessKey == session.credentials.secretAccessKey)
        #expect(answer.Token == session.credentials.sessionToken && answer.Expiration == session.expirationText)
        #expect(server.token.count == 64 && server.token.allSatisfy(\.isHexDigit))
        let other = try Self.started().1
        defer { other.stop() }
        #expect(other.token != server.token && other.port != server.port)
        #expect(server.url == "http://127.0.0.1:\(server.port)/")
    }

    @Test(
        "a missing token is 401, a wrong one 403, both with an empty body; the path and method are not looked at first",
        arguments: [
            (nil, 401), ("", 403), ("wrong", 403), ("Bearer TOKEN", 403), ("TOKENx", 403), ("TOKEN ", 200), ("TOKEN", 200),
        ] as [(String?, Int)])
    func tokenChecks(authorization: String?, status: Int) throws {
        let (_, server, _) = try Self.started()
        defer { server.stop() }
        let value = authorization.map { $0.replacingOccurrences(of: "TOKEN", with: server.token) }
        let answer = try Self.get(server, authorization: value)
        #expect(answer.status == status)
        if status != 200 { #expect(answer.body.isEmpty) }
        // A wrong token on a path that does not exist is still 403, not 404.
        if status == 403 {
            let elsewhere = try RawHTTP.exchange(
                port: Int(server.port), request: Array("POST /nope HTTP/1.1\r\nAuthorization: \(value ?? "")\r\n\r\n".utf8), timeoutSeconds: 10)
            #expect(elsewhere.status == 403 && elsewhere.body.isEmpty)
        }
    }

    @Test("two Authorization fields are refused even when one holds the token")
    func twoTokens() throws {
        let (_, server, _) = try Self.started()
        defer { server.stop() }
        let request = "GET / HTTP/1.1\r\nAuthorization: \(server.token)\r\nAuthorization: x\r\n\r\n"
        #expect(try RawHTTP.exchange(port: Int(server.port), request: Array(request.utf8), timeoutSeconds: 10).status == 403)
    }

    @Test("a 20 KiB header is 431 with no body, even with the right token; the server answers the next request")
    func hugeHeader() throws {
        let (_, server, _) = try Self.started()
        defer { server.stop() }
        let request = "GET / HTTP/1.1\r\nAuthorization: \(server.token)\r\nX-Huge: \(String(repeating: "h", count: 20_000))\r\n\r\n"
        let answer = try RawHTTP.exchange(port: Int(server.port), request: Array(request.utf8), timeoutSeconds: 10)
        #expect(answer.status == 431 && answer.body.isEmpty)
        #expect(try Self.get(server, authorization: server.token).status == 200)
    }

    @Test("a client that stops mid-request gets 408 after the server's 5 s, and holds up no one meanwhile")
    func slowClient() throws {
        let (_, server, _) = try Self.started()
        defer { server.stop() }
        let slow = try SlowClient(port: server.port).send(Array("GET / HTTP/1.1\r\nAuthorization: \(server.token)".utf8))
        #expect(try Self.get(server, authorization: server.token).status == 200)
        let text = try slow.response()
        #expect(text.hasPrefix("HTTP/1.1 408 ") && text.hasSuffix("\r\n\r\n"), "\(text)")
    }

    @Test("expiry within 15 minutes triggers exactly one refresh (the key's code, GetSessionToken); before that, none")
    func refreshWithinFifteenMinutes() throws {
        let (world, server, first) = try Self.started()
        defer { server.stop() }
        #expect(world.sts.calls.count == 1)
        world.clock.unixTime = UInt64(first.expiration) - 901
        #expect(try Self.credentials(server).AccessKeyId == first.credentials.accessKeyID)
        #expect(world.sts.calls.count == 1 && server.refreshes == 0)

        world.sts.answer("GetSessionToken", ScriptedHTTP.sessionToken(keyID: "ASIASECOND", expiration: world.clock.unixTime + 2 + Self.lifetime))
        world.clock.unixTime += 2
        for _ in 0..<5 { #expect(try Self.credentials(server).AccessKeyId == "ASIASECOND") }
        #expect(world.sts.calls.count == 2 && server.refreshes == 1)
        #expect(world.key.calculateCount == 2)
    }

    @Test("32 requests at once, all in the refresh window, cost one refresh and get the same new session")
    func thirtyTwoAtOnce() async throws {
        let (world, server, first) = try Self.started()
        defer { server.stop() }
        world.clock.unixTime = UInt64(first.expiration) - 600
        world.sts.answer("GetSessionToken", ScriptedHTTP.sessionToken(keyID: "ASIATHIRTYTWO", expiration: world.clock.unixTime + Self.lifetime))
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<32 { group.addTask { try Self.credentials(server).AccessKeyId } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(keys.count == 32 && Set(keys) == ["ASIATHIRTYTWO"])
        #expect(world.sts.calls.count == 2 && server.refreshes == 1 && world.key.calculateCount == 2)
    }

    @Test("a short session (15 minutes) is refreshed when half of it is gone, not on every request")
    func shortSession() throws {
        let (world, server, first) = try Self.started()
        defer { server.stop() }
        // The first refresh brings a 900 s session.
        world.clock.unixTime = UInt64(first.expiration) - 60
        world.sts.answer("GetSessionToken", ScriptedHTTP.sessionToken(keyID: "ASIASHORT", expiration: world.clock.unixTime + 900))
        #expect(try Self.credentials(server).AccessKeyId == "ASIASHORT")
        world.clock.unixTime += 449
        #expect(try Self.credentials(server).AccessKeyId == "ASIASHORT")
        #expect(server.refreshes == 1)
        world.sts.answer("GetSessionToken", ScriptedHTTP.sessionToken(keyID: "ASIANEXT", expiration: world.clock.unixTime + 1 + 900))
        world.clock.unixTime += 1
        #expect(try Self.credentials(server).AccessKeyId == "ASIANEXT")
        #expect(server.refreshes == 2)
    }

    @Test("a failed refresh keeps serving the old session while it lasts, then answers 500 with the reason")
    func failedRefresh() throws {
        let (world, server, first) = try Self.started()
        defer { server.stop() }
        world.clock.unixTime = UInt64(first.expiration) - 60
        #expect(try Self.credentials(server).AccessKeyId == first.credentials.accessKeyID)
        #expect(world.standardError.contains("latchkey: "))
        world.clock.unixTime = UInt64(first.expiration) + 1
        let answer = try Self.get(server, authorization: server.token)
        #expect(answer.status == 500)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("latchkey could not refresh the credentials"))
    }

    @Test("the command's environment: the URL and token, no static keys, no latchkey secrets, nothing that beats the server")
    func childEnvironment() throws {
        let (_, server, _) = try Self.started()
        defer { server.stop() }
        let base = Environment([
            "PATH": "/bin", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t", "AWS_PROFILE": "p",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/f",
            "LATCHKEY_PASSPHRASE": "pw", "LATCHKEY_READER": "Virtual",
        ])
        let environment = server.environment(for: base, region: "eu-west-1").variables
        #expect(environment == [
            "PATH": "/bin", "LATCHKEY_READER": "Virtual", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token,
        ])
    }

    @Test("AccountId comes from the session's ARN when it names an account")
    func accountID() {
        #expect(CredentialServer.accountID(in: "arn:aws:sts::123456789012:assumed-role/admin/alice") == "123456789012")
        #expect(CredentialServer.accountID(in: "arn:aws:iam::12345:user/x") == nil)
        #expect(CredentialServer.accountID(in: "nonsense") == nil)
    }
}
