import AWSConfig
import AWSSigning
import Foundation
import Testing

@testable import STS

@Suite("STS and IAM clients over a scripted transport")
struct ClientTests {
    static let start = Date(timeIntervalSince1970: 1_788_000_000)

    func client(_ transport: ScriptedTransport, _ clock: ManualClock) -> STSClient {
        STSClient(
            credentials: longTermCredentials, endpoint: testEndpoint, transport: transport, clock: clock,
            retryDelay: .milliseconds(500), jitter: { 1.25 })
    }

    @Test("GetSessionToken signs with the clock's time, sends the form body, and decodes the credentials")
    func getSessionToken() throws {
        let transport = ScriptedTransport(responses: [xmlResponse(200, Fixtures.getSessionTokenAWS)])
        let clock = ManualClock(Self.start)
        let result = try client(transport, clock).getSessionToken(
            GetSessionTokenRequest(
                durationSeconds: 43_200, serialNumber: "arn:aws:iam::123456789012:mfa/bob",
                tokenCode: "123456"))
        #expect(result.credentials.credentials.accessKeyID == "AKIAIOSFODNN7EXAMPLE")
        #expect(transport.requests.count == 1)
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://sts.eu-west-1.amazonaws.com/")
        #expect(
            request.bodyText == "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=43200"
                + "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fbob&TokenCode=123456")
        #expect(request.headers.value(of: "x-amz-date") == UTCDateTime(secondsSince1970: 1_788_000_000).amzDate)
        #expect(request.headers.value(of: "x-amz-security-token") == nil)
        #expect(
            request.headers.value(of: "authorization")?.contains(
                "/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, ") == true)
        #expect(clock.sleeps.isEmpty)
    }

    @Test("AssumeRole with temporary credentials signs the session token; GetCallerIdentity decodes")
    func assumeRoleAndIdentity() throws {
        let transport = ScriptedTransport(responses: [
            xmlResponse(200, Fixtures.assumeRoleMoto),
            xmlResponse(200, Fixtures.getCallerIdentityAWS),
        ])
        let session = AWSCredentials(accessKeyID: "ASIAEXAMPLE", secretAccessKey: "s", sessionToken: "session-token")
        let sts = STSClient(
            credentials: session, endpoint: testEndpoint, transport: transport,
            clock: ManualClock(Self.start))
        let role = try sts.assumeRole(
            AssumeRoleRequest(
                roleARN: "arn:aws:iam::123456789012:role/r",
                roleSessionName: "ss", durationSeconds: 3600))
        #expect(role.assumedRoleUser.assumedRoleID == "AROARZPUZDIKFCUUY4B7S:ss")
        let identity = try sts.getCallerIdentity()
        #expect(identity.account == "123456789012")
        #expect(
            transport.requests.map { $0.headers.value(of: "x-amz-security-token") } == [
                "session-token", "session-token",
            ])
        #expect(transport.requests.last?.bodyText == "Action=GetCallerIdentity&Version=2011-06-15")
    }

    @Test("Throttling is retried once after the delay, re-signed with the later time")
    func retriesThrottling() throws {
        let transport = ScriptedTransport(responses: [
            xmlResponse(400, Fixtures.errorAWS(code: "Throttling", message: "Rate exceeded")),
            xmlResponse(200, Fixtures.getCallerIdentityAWS),
        ])
        // 0.5 s into a second, so the 625 ms pause crosses into the next one.
        let clock = ManualClock(Self.start + 0.5)
        _ = try client(transport, clock).getCallerIdentity()
        #expect(clock.sleeps == [.milliseconds(625)])
        #expect(
            transport.requests.map { $0.headers.value(of: "x-amz-date") } == [
                UTCDateTime(secondsSince1970: 1_788_000_000).amzDate,
                UTCDateTime(secondsSince1970: 1_788_000_001).amzDate,
            ])
        #expect(
            transport.requests[0].headers.value(of: "authorization")
                != transport.requests[1].headers.value(of: "authorization"))
    }

    @Test("A 5xx answer is retried once, with or without an error body; a second failure is reported")
    func retries5xx() throws {
        let transport = ScriptedTransport(responses: [
            xmlResponse(503, "Service Unavailable"),
            xmlResponse(500, Fixtures.errorAWS(code: "InternalFailure", message: "oops", type: "Receiver")),
        ])
        let clock = ManualClock(Self.start)
        do {
            _ = try client(transport, clock).getCallerIdentity()
            Issue.record("succeeded")
        } catch {
            #expect(error.serviceError?.code == "InternalFailure")
            #expect(error.serviceError?.httpStatus == 500)
        }
        #expect(transport.requests.count == 2)
        #expect(clock.sleeps.count == 1)

        let recovering = ScriptedTransport(responses: [
            xmlResponse(502, "Bad gateway"),
            xmlResponse(200, Fixtures.getSessionTokenMoto),
        ])
        #expect(
            try client(recovering, ManualClock(Self.start)).getSessionToken(.init()).credentials.credentials
                .sessionToken == Fixtures.exampleToken)
    }

    @Test("A second throttling answer is reported as throttling, after exactly one retry")
    func throttledTwice() {
        let throttled = xmlResponse(400, Fixtures.errorMoto(code: "Throttling", message: "Rate exceeded"))
        let transport = ScriptedTransport(responses: [throttled, throttled])
        let clock = ManualClock(Self.start)
        do {
            _ = try client(transport, clock).getCallerIdentity()
            Issue.record("succeeded")
        } catch {
            #expect(error.serviceError?.kind == .throttling)
        }
        #expect(transport.requests.count == 2)
        #expect(clock.sleeps.count == 1)
    }

    @Test("A wrong MFA code, a clock-skew rejection and access denied are not retried")
    func noRetryForClientErrors() throws {
        for (code, message, kind) in [
            ("AccessDenied", Fixtures.wrongCodeMessage, STSError.Kind.wrongMFACode),
            (
                "SignatureDoesNotMatch", "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z",
                .clockSkew
            ),
            ("AccessDenied", "not allowed", .accessDenied),
        ] {
            let transport = ScriptedTransport(responses: [
                xmlResponse(403, Fixtures.errorAWS(code: code, message: message))
            ])
            let clock = ManualClock(Self.start)
            do {
                _ = try client(transport, clock).getSessionToken(
                    .init(serialNumber: "arn:aws:iam::123456789012:mfa/bob", tokenCode: "123456"))
                Issue.record("succeeded")
            } catch {
                #expect(error.serviceError?.kind == kind)
                #expect(error.serviceError?.serverDate != nil)
            }
            #expect(transport.requests.count == 1)
            #expect(clock.sleeps.isEmpty)
        }
    }

    @Test("Invalid parameters fail before anything is sent")
    func validationBeforeSending() {
        let transport = ScriptedTransport(responses: [])
        do {
            _ = try client(transport, ManualClock(Self.start)).assumeRole(
                AssumeRoleRequest(roleARN: "arn:aws:iam::123456789012:role/r", roleSessionName: "x"))
            Issue.record("succeeded")
        } catch {
            guard case .invalidRequest(let validation) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(validation.parameter == "RoleSessionName")
            #expect(error.description == "invalid request: RoleSessionName must be 2 to 64 characters long")
        }
        #expect(transport.requests.isEmpty)
    }

    @Test("A transport failure is reported as such and not retried")
    func transportFailure() {
        struct Refused: Error, CustomStringConvertible { var description: String { "connection refused" } }
        let transport = ScriptedTransport([.failure(Refused())])
        do {
            _ = try client(transport, ManualClock(Self.start)).getCallerIdentity()
            Issue.record("succeeded")
        } catch {
            guard case .transport = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(error.description == "cannot reach AWS: connection refused")
        }
        #expect(transport.requests.count == 1)
    }

    @Test("IAM ListMFADevices is signed for iam in us-east-1 and follows markers across pages")
    func listAllDevices() throws {
        let transport = ScriptedTransport(responses: [
            xmlResponse(
                200,
                Fixtures.listMFADevices(
                    members: [("bob", "arn:aws:iam::123456789012:mfa/one", "2015-06-16T22:36:37Z")],
                    truncated: true, marker: "page2")),
            xmlResponse(
                200,
                Fixtures.listMFADevices(
                    members: [("bob", "arn:aws:iam::123456789012:mfa/two", "2015-06-16T22:36:37Z")],
                    truncated: false)),
        ])
        let iam = IAMClient(
            credentials: longTermCredentials, endpoint: iamEndpoint, transport: transport,
            clock: ManualClock(Self.start))
        let devices = try iam.allMFADevices(userName: "bob")
        #expect(
            devices.map(\.serialNumber) == ["arn:aws:iam::123456789012:mfa/one", "arn:aws:iam::123456789012:mfa/two"])
        #expect(
            transport.requests.map(\.bodyText) == [
                "Action=ListMFADevices&Version=2010-05-08&UserName=bob",
                "Action=ListMFADevices&Version=2010-05-08&UserName=bob&Marker=page2",
            ])
        #expect(
            transport.requests.allSatisfy {
                $0.url == "https://iam.amazonaws.com/"
                    && $0.headers.value(of: "authorization")?.contains("/us-east-1/iam/aws4_request") == true
            })
    }

    @Test("The test transport fails loudly when a request arrives that the test did not script")
    func unscriptedRequestFailsLoudly() {
        let transport = ScriptedTransport(responses: [])
        var caught: STSClientError?
        withKnownIssue("the double records an issue for the unscripted request") {
            do throws(STSClientError) {
                _ = try client(transport, ManualClock(Self.start)).getCallerIdentity()
            } catch {
                caught = error
            }
        }
        guard case .transport(let underlying)? = caught, underlying is ScriptedTransport.UnscriptedRequest else {
            Issue.record("expected the double's error, got \(String(describing: caught))")
            return
        }
        #expect(transport.requests.count == 1)
    }

    @Test("The system clock's sleep waits about as long as asked")
    func systemClockSleeps() {
        let clock = SystemClock()
        let before = clock.now()
        clock.sleep(for: .milliseconds(30))
        let elapsed = clock.now().timeIntervalSince(before)
        #expect(elapsed >= 0.029 && elapsed < 2)
    }
}
