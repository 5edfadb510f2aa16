import Foundation
import TestSupport
import Testing

/// `latchkey console` against the MFA-checking STS server's own federation
/// endpoint, which (like AWS) issues sign-in tokens only for AssumeRole
/// sessions.
@Suite("console: sign-in URLs from role sessions", .serialized)
struct ConsoleTests {
    static func world() throws -> AuthWorld {
        try AuthWorld()
    }

    static func signin(_ world: AuthWorld) -> [String: String] { ["AWS_ENDPOINT_URL_SIGNIN": world.server.endpoint] }

    @Test("console --url with a role profile: getSigninToken at AWS_ENDPOINT_URL_SIGNIN, and a login URL the endpoint accepts")
    func roleProfileURL() throws {
        let world = try Self.world()
        let result = try world.run(
            ["console", "--profile", "admin", "--url", "--destination", "/s3/home", "--duration", "1h"], environment: Self.signin(world))
        #expect(result.status == 0, "\(result)")
        let url = String(result.stdout.dropLast())
        let prefix = world.server.endpoint + "/federation?Action=login&Issuer=latchkey&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome&SigninToken="
        #expect(url.hasPrefix(prefix) && url.count > prefix.count + 40, "\(result)")
        #expect(!result.stderr.contains("SigninToken"), "the URL is a credential: \(result)")
        // The endpoint takes the URL once: a redirect to the destination.
        let path = String(url.dropFirst(world.server.endpoint.count))
        let port = try #require(Int(world.server.endpoint.split(separator: ":").last ?? ""))
        let login = try RawHTTP.exchange(port: port, request: Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8), timeoutSeconds: 10)
        #expect(login.status == 302)
        let again = try RawHTTP.exchange(port: port, request: Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8), timeoutSeconds: 10)
        #expect(again.status == 400)
        let stats = try world.server.stats()
        #expect(stats.count("getSigninToken") == 1 && stats.count("AssumeRole") == 1 && stats.mfaChecks == 1, "\(stats)")
    }

    @Test("a GetSessionToken profile is refused in one line that points to a role profile with mfa_serial, before any code is spent")
    func sessionTokenProfileRefused() throws {
        let world = try Self.world()
        let result = try world.run(["console", "--profile", "dev", "--url"], environment: Self.signin(world))
        #expect(result.status == ConsoleExit.noCredentials, "\(result)")
        #expect(result.errorLine.contains("GetSessionToken") && result.errorLine.contains("role profile") && result.errorLine.contains("mfa_serial"), "\(result)")
        let stats = try world.server.stats()
        #expect(stats.mfaChecks == 0 && stats.requests == 0, "\(stats)")
    }

    @Test("the federation endpoint refuses a GetSessionToken session with AWS's message and takes a role session")
    func endpointRefusesSessionTokens() throws {
        let world = try Self.world()
        let python = """
            import json, subprocess, sys, urllib.parse, urllib.request, urllib.error
            def sign_in(profile):
                creds = json.loads(subprocess.run([sys.argv[1], "credential-process", "--profile", profile], capture_output=True, check=True).stdout)
                session = json.dumps({"sessionId": creds["AccessKeyId"], "sessionKey": creds["SecretAccessKey"], "sessionToken": creds["SessionToken"]})
                body = urllib.parse.urlencode({"Action": "getSigninToken", "Session": session}).encode()
                try:
                    answer = urllib.request.urlopen(urllib.request.Request(sys.argv[2] + "/federation", data=body), timeout=10)
                    return answer.status, "SigninToken" in json.load(answer)
                except urllib.error.HTTPError as error:
                    return error.code, error.read().decode()
            print(sign_in("dev"))
            print(sign_in("admin"))
            """
        let result = try world.runTool(toolPath("python3"), ["-c", python, latchkeyBinary, world.server.endpoint])
        #expect(result.status == 0, "\(result)")
        #expect(result.lines == [
            "(400, 'Only federation tokens or assume role tokens may be used for federated login.')", "(200, True)",
        ], "\(result)")
    }

    @Test("a sign-in endpoint that answers garbage: exit 21, one line, no URL; one that refuses: exit 20 with its words")
    func garbageAndRefusal() throws {
        let world = try Self.world()
        try world.server.inject([.rawBody("<html>garbage</html>", action: "getSigninToken")])
        let garbage = try world.run(["console", "--profile", "admin", "--url"], environment: Self.signin(world))
        #expect(garbage.status == ConsoleExit.awsUnavailable && garbage.errorLine.contains("not a sign-in token"), "\(garbage)")
        try world.server.inject([.rawBody("Session expired", status: 400, action: "getSigninToken")])
        let refused = try world.run(["console", "--profile", "admin", "--url"], environment: Self.signin(world))
        #expect(refused.status == ConsoleExit.awsRefused && refused.errorLine.hasSuffix("(HTTP 400): Session expired"), "\(refused)")
    }

    @Test("without --url the URL goes to xdg-open (from PATH) and nowhere else; --duration outside 15m..12h is a usage error")
    func opensWithXdgOpen() throws {
        let world = try Self.world()
        let bin = world.home.root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let opened = world.home.root + "/opened"
        try writeBytes(bin + "/xdg-open", Array("#!/bin/sh\nprintf '%s' \"$1\" > '\(opened)'\n".utf8))
        chmod(bin + "/xdg-open", 0o755)
        let result = try world.run(
            ["console", "--profile", "admin"], environment: Self.signin(world).merging(["PATH": bin + ":/usr/bin:/bin"]) { $1 })
        #expect(result.status == 0 && result.stdout.isEmpty && result.stderr.isEmpty, "\(result)")
        let url = String(decoding: try readBytes(opened), as: UTF8.self)
        #expect(url.hasPrefix(world.server.endpoint + "/federation?Action=login&Issuer=latchkey&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1&SigninToken="), "\(url)")
        let short = try world.run(["console", "--profile", "admin", "--duration", "5m"], environment: Self.signin(world))
        #expect(short.status == Exit.usage && short.stderr.contains("15m to 12h"), "\(short)")
    }
}

/// The exit codes these tests expect (README's exit table).
private enum ConsoleExit {
    static let awsRefused: Int32 = 20
    static let awsUnavailable: Int32 = 21
    static let noCredentials: Int32 = 23
}
