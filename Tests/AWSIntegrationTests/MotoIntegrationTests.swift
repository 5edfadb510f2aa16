import AWSConfig
import AWSSigning
import Foundation
import HTTP
import STS
import Testing

/// Counts the requests that reach the real transport, to show what was
/// (not) retried.
final class CountingTransport: HTTPTransport, @unchecked Sendable {
    let inner: CurlTransport
    private(set) var requests = 0

    init(_ inner: CurlTransport) { self.inner = inner }

    func post(url: String, headers: [HTTPField], body: [UInt8]) throws -> TransportResponse {
        requests += 1
        return try inner.post(url: url, headers: headers, body: body)
    }
}

/// Short limits: everything here is on the loopback interface.
let testTransport = CurlTransport(
    client: CurlHTTPClient(timeoutMilliseconds: 10_000, connectTimeoutMilliseconds: 2_000))

func sts(_ moto: MotoServer, _ credentials: AWSCredentials, transport: any HTTPTransport = testTransport) -> STSClient {
    STSClient(credentials: credentials, endpoint: moto.stsEndpoint, transport: transport, retryDelay: .milliseconds(100))
}

func iam(_ moto: MotoServer, _ credentials: AWSCredentials) -> IAMClient {
    IAMClient(credentials: credentials, endpoint: moto.iamEndpoint, transport: testTransport, retryDelay: .milliseconds(100))
}

/// The service error a call failed with; records an issue (and returns nil)
/// for any other outcome.
func serviceError<T>(
    _ call: () throws(STSClientError) -> T, sourceLocation: SourceLocation = #_sourceLocation
) -> STSError? {
    do {
        let value = try call()
        Issue.record("expected a service error, got \(value)", sourceLocation: sourceLocation)
    } catch {
        if let serviceError = error.serviceError { return serviceError }
        Issue.record("expected a service error, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite("STS and IAM over libcurl against moto with signature checking on", .serialized, .motoServer)
struct MotoIntegrationTests {
    let moto: MotoServer

    init() throws {
        moto = try #require(MotoServer.current, "the suite's moto server is missing")
    }

    @Test("GetCallerIdentity with the user's long-term keys names the user")
    func callerIdentityOfUser() throws {
        let identity = try sts(moto, moto.userCredentials).getCallerIdentity()
        #expect(identity.arn == moto.setup.userArn)
        #expect(identity.account == moto.setup.account)
        #expect(!identity.userID.isEmpty)
    }

    @Test("ListMFADevices finds the user's enabled virtual MFA device")
    func listMFADevices() throws {
        let client = iam(moto, moto.userCredentials)
        let named = try client.listMFADevices(.init(userName: moto.setup.userName))
        #expect(named.serialNumbers == [moto.setup.mfaSerial])
        #expect(named.devices.first?.userName == moto.setup.userName)
        #expect(!named.isTruncated)
        let enabled = try #require(named.devices.first?.enableDate)
        #expect(abs(enabled.timeIntervalSinceNow) < 600)

        // The user name as latchkey would learn it, from GetCallerIdentity.
        let arn = try sts(moto, moto.userCredentials).getCallerIdentity().arn
        let userName = try #require(arn.split(separator: "/").last.map(String.init))
        #expect(try client.allMFADevices(userName: userName).map(\.serialNumber) == [moto.setup.mfaSerial])

        // Without UserName AWS lists the caller's devices; moto 5 looks up
        // a user called "None" instead. Either way the answer is typed.
        do {
            let mine = try client.allMFADevices()
            #expect(mine.map(\.serialNumber) == [moto.setup.mfaSerial])
        } catch {
            #expect(error.serviceError?.code == "NoSuchEntity", "\(error)")
            #expect(error.serviceError?.httpStatus == 404)
        }
    }

    @Test("GetSessionToken with SerialNumber and TokenCode returns temporary credentials")
    func getSessionTokenWithMFA() throws {
        let result = try sts(moto, moto.userCredentials).getSessionToken(
            .init(durationSeconds: 3600, serialNumber: moto.setup.mfaSerial, tokenCode: "123456"))
        let credentials = result.credentials.credentials
        #expect(!credentials.accessKeyID.isEmpty)
        #expect(!credentials.secretAccessKey.isEmpty)
        #expect(credentials.sessionToken?.isEmpty == false)
        #expect(result.credentials.expiration > Date())

        // moto hands out fixed example keys that it does not know itself
        // (REFERENCE §7): using them is refused, as a typed error.
        let refusal = serviceError { () throws(STSClientError) in try sts(moto, credentials).getCallerIdentity() }
        #expect(refusal?.kind == .invalidClientTokenID)
        #expect(refusal?.httpStatus == 403)
    }

    @Test("AssumeRole returns credentials that work: GetCallerIdentity with them names the assumed role")
    func assumeRoleThenCallerIdentity() throws {
        let result = try sts(moto, moto.userCredentials).assumeRole(
            .init(
                roleARN: moto.setup.roleArn, roleSessionName: "latchkey-it@host", durationSeconds: 900,
                serialNumber: moto.setup.mfaSerial, tokenCode: "123456"))
        let roleName = try #require(moto.setup.roleArn.split(separator: "/").last)
        let expectedARN = "arn:aws:sts::\(moto.setup.account):assumed-role/\(roleName)/latchkey-it@host"
        #expect(result.assumedRoleUser.arn == expectedARN)
        #expect(result.assumedRoleUser.assumedRoleID.hasSuffix(":latchkey-it@host"))
        #expect(result.credentials.expiration > Date())
        let temporary = result.credentials.credentials
        #expect(temporary.sessionToken?.isEmpty == false)
        #expect(temporary.accessKeyID != moto.setup.accessKeyId)

        // Signed with the session token (X-Amz-Security-Token is a signed header).
        let identity = try sts(moto, temporary).getCallerIdentity()
        #expect(identity.arn == expectedARN)
        #expect(identity.account == moto.setup.account)

        // The token is checked: without it, or with another one, the same
        // keys are refused.
        var withoutToken = temporary
        withoutToken.sessionToken = nil
        let missing = serviceError { () throws(STSClientError) in try sts(moto, withoutToken).getCallerIdentity() }
        #expect(missing?.kind == .invalidClientTokenID)
        var otherToken = temporary
        otherToken.sessionToken = String(temporary.sessionToken!.reversed())
        let wrong = serviceError { () throws(STSClientError) in try sts(moto, otherToken).getCallerIdentity() }
        #expect(wrong != nil)
        #expect(wrong?.httpStatus == 403)
    }

    @Test("A request signed with the wrong secret key is a typed SignatureDoesNotMatch, sent once")
    func wrongSecretKey() throws {
        let counting = CountingTransport(testTransport)
        var credentials = moto.userCredentials
        credentials.secretAccessKey = String(credentials.secretAccessKey.reversed())
        let client = sts(moto, credentials, transport: counting)
        let error = serviceError { () throws(STSClientError) in try client.getCallerIdentity() }
        #expect(error?.code == "SignatureDoesNotMatch")
        #expect(error?.kind == .signatureDoesNotMatch)
        #expect(error?.httpStatus == 403)
        #expect(error?.message.contains("signature") == true)
        #expect(counting.requests == 1)

        // IAM too, and GetSessionToken (the call latchkey makes with long-term keys).
        let iamError = serviceError { () throws(STSClientError) in try iam(moto, credentials).listMFADevices() }
        #expect(iamError?.kind == .signatureDoesNotMatch)
        let sessionError = serviceError { () throws(STSClientError) in
            try sts(moto, credentials).getSessionToken(
                .init(serialNumber: moto.setup.mfaSerial, tokenCode: "123456"))
        }
        #expect(sessionError?.kind == .signatureDoesNotMatch)
    }

    @Test("An access key moto never issued is a typed InvalidClientTokenId")
    func unknownAccessKey() throws {
        let credentials = AWSCredentials(accessKeyID: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: moto.setup.secretAccessKey)
        let error = serviceError { () throws(STSClientError) in try sts(moto, credentials).getCallerIdentity() }
        #expect(error?.code == "InvalidClientTokenId")
        #expect(error?.kind == .invalidClientTokenID)
        #expect(error?.description.hasPrefix("AWS InvalidClientTokenId (HTTP 403): ") == true)
    }

    @Test("moto's error XML (<ErrorResponse><Errors><Error>, no namespace) decodes with type, message and date")
    func motoErrorShape() throws {
        var credentials = moto.userCredentials
        credentials.secretAccessKey = "not-the-secret"
        let signed = GetCallerIdentityRequest().queryRequest().signed(
            for: moto.stsEndpoint, service: "sts", credentials: credentials, at: Date())
        let response = try testTransport.post(url: signed.url, headers: signed.headers, body: signed.body)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 403)
        #expect(text.contains("<ErrorResponse><Errors><Error>") || text.contains("<Errors>\n"), "\(text)")
        #expect(!text.contains("xmlns"), "moto's shape changed: \(text)")

        do {
            let identity = try CallerIdentity(parsing: response)
            Issue.record("an error response parsed as \(identity)")
        } catch {
            let serviceError = try #require(error.serviceError, "\(error)")
            #expect(serviceError.code == "SignatureDoesNotMatch")
            #expect(serviceError.type == "Sender")
            #expect(!serviceError.message.isEmpty)
            #expect(serviceError.httpStatus == 403)
            // moto's clock is this machine's: the Date header parses and agrees.
            let offset = try #require(serviceError.clockOffset(from: Date()), "no Date header in \(response.headers)")
            #expect(abs(offset) < 60)
        }
    }

    @Test("The server is still the one the suite started, and is running")
    func serverIsUp() {
        #expect(moto.isRunning)
        #expect(kill(moto.processIdentifier, 0) == 0)
    }
}

@Suite("CurlTransport without a server")
struct CurlTransportOfflineTests {
    @Test("A closed port is a prompt, typed transport error, not retried")
    func closedPort() throws {
        let closed = try ClosedPort()
        let endpoint = ServiceEndpoint(
            url: EndpointURL(scheme: "http", host: "127.0.0.1", port: closed.port), signingRegion: "us-east-1",
            source: .environment("AWS_ENDPOINT_URL_STS"))
        let counting = CountingTransport(testTransport)
        let client = STSClient(
            credentials: AWSCredentials(accessKeyID: "AKIAEXAMPLEEXAMPLE00", secretAccessKey: "secret"),
            endpoint: endpoint, transport: counting, retryDelay: .milliseconds(100))
        let start = Date()
        do {
            let identity = try client.getCallerIdentity()
            Issue.record("a closed port answered: \(identity)")
        } catch {
            guard case .transport(let underlying) = error else {
                Issue.record("expected a transport error, got \(error)")
                return
            }
            let httpError = try #require(underlying as? HTTPError, "\(underlying)")
            #expect(httpError.kind == .cannotConnect)
            #expect(httpError.url == "http://127.0.0.1:\(closed.port)/")
            #expect(error.description.hasPrefix("cannot reach AWS: cannot connect to http://127.0.0.1:"))
        }
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(counting.requests == 1)
    }

    @Test("Headers libcurl could not send as signed are refused before anything is sent")
    func unsendableHeaders() throws {
        let closed = try ClosedPort()
        let url = "http://127.0.0.1:\(closed.port)/"
        for headers in [
            [HTTPField("X-Amz-Security-Token", "")],
            [HTTPField("X-Amz-Security-Token", "a\r\nInjected: yes")],
            [HTTPField("Bad Name", "x")],
        ] {
            #expect {
                _ = try testTransport.post(url: url, headers: headers, body: [])
            } throws: { error in
                // Refused up front, not a connection attempt (.cannotConnect).
                error is CurlTransport.UnsendableHeader
            }
        }
    }
}
