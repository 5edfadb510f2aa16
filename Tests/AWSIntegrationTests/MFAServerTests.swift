import AWSConfig
import AWSSigning
import Foundation
import HTTP
import OATH
import STS
import TestSupport
import Testing

// latchkey's STS and IAM clients over libcurl against TestSupport's
// MFASTSServer, which checks MFA codes as AWS does (moto takes any code).
// Every test starts its own server: spent codes, faults, counters and the
// clock offset of one test cannot reach another, and tests run in parallel.

/// A fresh MFASTSServer for one test, with latchkey's clients pointed at it.
final class MFAServerHarness {
    let server: MFASTSServer
    let user: MFASTSServer.User
    let device: MFASTSServer.MFADevice
    let seed: [UInt8]
    let url: EndpointURL

    init(_ config: MFASTSServer.Config = .standard()) throws {
        server = try MFASTSServer.start(config)
        user = try #require(config.users.first, "the configuration has no user")
        device = try #require(user.mfaDevices.first, "the first user has no MFA device")
        seed = try Base32.decode(device.seedBase32)
        url = try #require(EndpointURL(server.endpoint), "not an endpoint URL: \(server.endpoint)")
    }

    deinit { server.stop() }

    var account: String { server.config.account }
    var userARN: String { user.arn(account: account) }
    var longTermKeys: AWSCredentials {
        AWSCredentials(accessKeyID: user.accessKeyID, secretAccessKey: user.secretAccessKey)
    }
    var adminARN: String { "arn:aws:iam::\(account):role/admin" }
    var opsARN: String { "arn:aws:iam::\(account):role/ops" }

    /// STS as `AWS_ENDPOINT_URL_STS` configures it, signed for a region
    /// other than us-east-1 so the scope's region is really read.
    var stsEndpoint: ServiceEndpoint {
        ServiceEndpoint(url: url, signingRegion: "eu-west-1", source: .environment("AWS_ENDPOINT_URL_STS"))
    }

    var iamEndpoint: ServiceEndpoint {
        ServiceEndpoint(url: url, signingRegion: "us-east-1", source: .environment("AWS_ENDPOINT_URL_IAM"))
    }

    func sts(
        _ credentials: AWSCredentials, transport: any HTTPTransport = testTransport,
        clock: any RequestClock = SystemClock()
    ) -> STSClient {
        STSClient(
            credentials: credentials, endpoint: stsEndpoint, transport: transport, clock: clock,
            retryDelay: .milliseconds(50))
    }

    func iam(_ credentials: AWSCredentials, endpoint: ServiceEndpoint? = nil) -> IAMClient {
        IAMClient(
            credentials: credentials, endpoint: endpoint ?? iamEndpoint, transport: testTransport,
            retryDelay: .milliseconds(50))
    }

    /// The device's TOTP step now, by a clock `offset` seconds ahead of this machine's.
    func step(offset: Int = 0) -> UInt64 {
        let now = Int64(Date().timeIntervalSince1970) + Int64(offset)
        return OTP.timeStep(at: UInt64(max(0, now)), period: device.period)
    }

    /// The code for the device's current step plus `delta` (the server
    /// accepts -1, 0 and +1), by a clock `offset` seconds ahead.
    func code(offset: Int = 0, delta: Int64 = 0) -> String {
        let step = UInt64(Int64(step(offset: offset)) + delta)
        return OTP.hotp(secret: seed, counter: step, algorithm: .sha1, digits: device.digits)
    }

    /// A code that is none of the steps from two before to two after now.
    func wrongCode() -> String {
        let near = Set((-2...2).map { code(delta: Int64($0)) })
        var candidate = (Int(code()) ?? 0) + 1
        while near.contains(OTP.format(UInt32(candidate % 1_000_000), digits: 6)) { candidate += 1 }
        return OTP.format(UInt32(candidate % 1_000_000), digits: 6)
    }

    /// GetSessionToken with the current code: MFA-authenticated session credentials.
    func mfaSession(durationSeconds: Int = 3600) throws -> STSCredentials {
        try sts(longTermKeys).getSessionToken(
            .init(durationSeconds: durationSeconds, serialNumber: device.serial, tokenCode: code())
        ).credentials
    }

    /// A request signed as latchkey signs it, sent as is: for what the
    /// clients would refuse to send.
    func sendRaw(
        _ request: AWSQueryRequest, service: String = "sts", credentials: AWSCredentials? = nil
    ) throws -> TransportResponse {
        let signed = request.signed(
            for: service == "iam" ? iamEndpoint : stsEndpoint, service: service,
            credentials: credentials ?? longTermKeys, at: Date())
        return try testTransport.post(url: signed.url, headers: signed.headers, body: signed.body)
    }
}

/// A clock `offset` seconds ahead of this machine's (what latchkey would
/// use after measuring the skew from a `Date` header).
struct ShiftedClock: RequestClock {
    var offset: TimeInterval
    func now() -> Date { Date().addingTimeInterval(offset) }
    func sleep(for duration: Duration) { SystemClock().sleep(for: duration) }
}

/// The service error of a raw response parsed as any result.
func serviceError(of response: TransportResponse, sourceLocation: SourceLocation = #_sourceLocation) -> STSError? {
    serviceError({ () throws(STSClientError) in try CallerIdentity(parsing: response) }, sourceLocation: sourceLocation)
}

let wrongCodeMessage = "MultiFactorAuthentication failed with invalid MFA one time pass code."
let unknownSerialMessage =
    "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
let signatureMessage =
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

/// Whether `date` is within `slack` seconds of now + `seconds`.
func isAbout(_ date: Date, secondsFromNow seconds: Double, slack: Double = 10) -> Bool {
    abs(date.timeIntervalSinceNow - seconds) <= slack
}

// MARK: - GetSessionToken

@Suite("MFAServer: GetSessionToken accepts each code once")
struct MFAServerSessionTokenTests {
    @Test("The right code gives ASIA… credentials that work for GetCallerIdentity")
    func rightCode() throws {
        let harness = try MFAServerHarness()
        let result = try harness.sts(harness.longTermKeys).getSessionToken(
            .init(durationSeconds: 3600, serialNumber: harness.device.serial, tokenCode: harness.code()))
        let keys = result.credentials.credentials
        #expect(keys.accessKeyID.wholeMatch(of: /ASIA[A-Z0-9]{16}/) != nil, "\(keys.accessKeyID)")
        #expect(keys.secretAccessKey.count == 40)
        #expect((keys.sessionToken?.count ?? 0) > 100)
        #expect(isAbout(result.credentials.expiration, secondsFromNow: 3600))

        let identity = try harness.sts(keys).getCallerIdentity()
        #expect(identity.arn == harness.userARN)
        #expect(identity.account == "123456789012")
        #expect(identity.userID.hasPrefix("AIDA"))

        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 1 && stats.mfaAccepted == 1 && stats.mfaRejected == 0)
        #expect(stats.count("GetSessionToken") == 1 && stats.count("GetCallerIdentity") == 1)
        #expect(stats.requests == 2)
    }

    @Test("The same code a second time is refused with AWS's message and classified as a wrong code")
    func reusedCode() throws {
        let harness = try MFAServerHarness()
        let code = harness.code()
        let request = GetSessionTokenRequest(durationSeconds: 900, serialNumber: harness.device.serial, tokenCode: code)
        _ = try harness.sts(harness.longTermKeys).getSessionToken(request)

        let counting = CountingTransport(testTransport)
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(harness.longTermKeys, transport: counting).getSessionToken(request)
        }
        #expect(error?.code == "AccessDenied")
        #expect(error?.message == wrongCodeMessage)
        #expect(error?.kind == .wrongMFACode)
        #expect(error?.httpStatus == 403)
        #expect(error?.type == "Sender")
        #expect(error?.requestID?.isEmpty == false)
        #expect(counting.requests == 1, "an MFA refusal must not be retried")

        // The server is not refusing everything: the next step's code passes.
        _ = try harness.sts(harness.longTermKeys).getSessionToken(
            .init(durationSeconds: 900, serialNumber: harness.device.serial, tokenCode: harness.code(delta: 1)))
        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 3 && stats.mfaAccepted == 2 && stats.mfaRejected == 1)
    }

    @Test("A code outside steps T-1…T+1 is refused; T-1 and T+1 are accepted")
    func window() throws {
        let harness = try MFAServerHarness()
        let client = harness.sts(harness.longTermKeys)
        // Three steps away stays outside the window even if a step boundary
        // passes during the test.
        for code in [harness.wrongCode(), harness.code(delta: 3), harness.code(delta: -3)] {
            let error = serviceError { () throws(STSClientError) in
                try client.getSessionToken(.init(serialNumber: harness.device.serial, tokenCode: code))
            }
            #expect(error?.kind == .wrongMFACode)
            #expect(error?.message == wrongCodeMessage)
        }
        for delta: Int64 in [-1, 1] {
            let step = harness.step()
            let code = harness.code(delta: delta)
            do {
                _ = try client.getSessionToken(.init(serialNumber: harness.device.serial, tokenCode: code))
            } catch {
                // Only a step boundary between computing and checking excuses T-1.
                #expect(delta == -1 && harness.step() != step, "step \(delta) refused: \(error)")
            }
        }
        #expect(try harness.server.stats().mfaRejected >= 3)
    }

    @Test("A serial that is not the caller's device is refused with AWS's message (two spaces) and spends no code")
    func unknownSerial() throws {
        let harness = try MFAServerHarness()
        let code = harness.code()
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(harness.longTermKeys).getSessionToken(
                .init(serialNumber: "arn:aws:iam::123456789012:mfa/mallory", tokenCode: code))
        }
        #expect(error?.code == "AccessDenied")
        #expect(error?.message == unknownSerialMessage)
        #expect(error?.kind == .unknownMFASerial)
        #expect(error?.httpStatus == 403)

        _ = try harness.sts(harness.longTermKeys).getSessionToken(
            .init(serialNumber: harness.device.serial, tokenCode: code))
        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 2 && stats.mfaAccepted == 1 && stats.mfaRejected == 1)
    }

    @Test("Session credentials cannot call GetSessionToken")
    func sessionCredentialsRefused() throws {
        let harness = try MFAServerHarness()
        let session = try harness.mfaSession()
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(session.credentials).getSessionToken(.init())
        }
        #expect(error?.code == "AccessDenied")
        #expect(error?.message == "Cannot call GetSessionToken with session credentials")
        #expect(error?.kind == .accessDenied)
    }

    @Test("16 clients sending the same code at once: exactly one gets credentials")
    func concurrentSameCode() throws {
        let harness = try MFAServerHarness()
        let code = harness.code()
        let request = GetSessionTokenRequest(serialNumber: harness.device.serial, tokenCode: code)
        let outcomes = Outcomes()
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        let (keys, endpoint) = (harness.longTermKeys, harness.stsEndpoint)
        for _ in 0..<16 {
            group.enter()
            Thread {
                start.wait()
                do throws(STSClientError) {
                    // Each thread its own client and curl handle, as separate processes would have.
                    let client = STSClient(credentials: keys, endpoint: endpoint, transport: testTransport)
                    _ = try client.getSessionToken(request)
                    outcomes.add("accepted")
                } catch {
                    outcomes.add(error.serviceError?.kind == .wrongMFACode ? "refused" : "other: \(error)")
                }
                group.leave()
            }.start()
        }
        for _ in 0..<16 { start.signal() }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(outcomes.counts == ["accepted": 1, "refused": 15])
        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 16 && stats.mfaAccepted == 1 && stats.mfaRejected == 15)
        #expect(stats.requests == 16)
    }
}

/// Results collected from several threads.
final class Outcomes: @unchecked Sendable {
    // @unchecked: `values` is only touched under `lock`.
    private let lock = NSLock()
    private var values: [String] = []

    func add(_ value: String) { lock.withLock { values.append(value) } }

    var counts: [String: Int] { lock.withLock { values.reduce(into: [:]) { $0[$1, default: 0] += 1 } } }
}

// MARK: - AssumeRole

@Suite("MFAServer: AssumeRole, MFA-required roles and role chaining")
struct MFAServerAssumeRoleTests {
    @Test("With MFA session credentials: 3600 s works without a new code, 7200 s is the role-chaining error")
    func chaining() throws {
        let harness = try MFAServerHarness()
        let session = try harness.mfaSession()
        let client = harness.sts(session.credentials)

        let role = try client.assumeRole(
            .init(roleARN: harness.adminARN, roleSessionName: "latchkey-test", durationSeconds: 3600))
        #expect(role.assumedRoleUser.arn == "arn:aws:sts::123456789012:assumed-role/admin/latchkey-test")
        #expect(role.assumedRoleUser.assumedRoleID.wholeMatch(of: /AROA[A-Z0-9]+:latchkey-test/) != nil)
        #expect(isAbout(role.credentials.expiration, secondsFromNow: 3600))
        #expect(role.credentials.credentials.accessKeyID != session.credentials.accessKeyID)

        let identity = try harness.sts(role.credentials.credentials).getCallerIdentity()
        #expect(identity.arn == role.assumedRoleUser.arn)
        #expect(identity.userID == role.assumedRoleUser.assumedRoleID)

        let error = serviceError { () throws(STSClientError) in
            try client.assumeRole(
                .init(roleARN: harness.adminARN, roleSessionName: "latchkey-test", durationSeconds: 7200))
        }
        #expect(error?.code == "ValidationError")
        #expect(
            error?.message
                == "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
        #expect(error?.kind == .roleChainingLimit)
        #expect(error?.httpStatus == 400)

        // Chaining on from the role's own credentials has the same limit.
        let again = serviceError { () throws(STSClientError) in
            try harness.sts(role.credentials.credentials).assumeRole(
                .init(roleARN: harness.opsARN, roleSessionName: "second-hop", durationSeconds: 3601))
        }
        #expect(again?.kind == .roleChainingLimit)

        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 1, "the MFA session should have been enough for the admin role")
        #expect(stats.count("AssumeRole") == 3)
    }

    @Test("The MFA role refuses long-term keys without a code and accepts them with one, for 7200 s")
    func mfaRoleWithLongTermKeys() throws {
        let harness = try MFAServerHarness()
        let client = harness.sts(harness.longTermKeys)
        let refused = serviceError { () throws(STSClientError) in
            try client.assumeRole(.init(roleARN: harness.adminARN, roleSessionName: "no-code"))
        }
        #expect(refused?.code == "AccessDenied")
        #expect(
            refused?.message
                == "User: \(harness.userARN) is not authorized to perform: sts:AssumeRole on resource: \(harness.adminARN)"
        )
        #expect(refused?.kind == .accessDenied)
        #expect(refused?.httpStatus == 403)

        // Long-term keys are not role chaining: more than an hour is fine.
        let role = try client.assumeRole(
            .init(
                roleARN: harness.adminARN, roleSessionName: "with-code", durationSeconds: 7200,
                serialNumber: harness.device.serial, tokenCode: harness.code()))
        #expect(role.assumedRoleUser.arn.hasSuffix(":assumed-role/admin/with-code"))
        #expect(isAbout(role.credentials.expiration, secondsFromNow: 7200))
        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 1 && stats.mfaAccepted == 1)
    }

    @Test("Session credentials without MFA cannot assume the MFA role, but can assume the other one")
    func sessionWithoutMFA() throws {
        let harness = try MFAServerHarness()
        let session = try harness.sts(harness.longTermKeys).getSessionToken(.init(durationSeconds: 900)).credentials
        let client = harness.sts(session.credentials)
        let refused = serviceError { () throws(STSClientError) in
            try client.assumeRole(.init(roleARN: harness.adminARN, roleSessionName: "plain"))
        }
        #expect(refused?.kind == .accessDenied)
        let ops = try client.assumeRole(.init(roleARN: harness.opsARN, roleSessionName: "plain"))
        #expect(ops.assumedRoleUser.arn == "arn:aws:sts::123456789012:assumed-role/ops/plain")
        #expect(try harness.server.stats().mfaChecks == 0)
    }

    @Test("An unknown role, a missing external id and a duration over MaxSessionDuration are refused")
    func roleConditions() throws {
        var config = MFASTSServer.Config.standard()
        let partnerARN = "arn:aws:iam::123456789012:role/partner"
        config.roles.append(.init(arn: partnerARN, maxSessionDuration: 3600, externalID: "ext-4711"))
        let harness = try MFAServerHarness(config)
        let client = harness.sts(harness.longTermKeys)

        let unknownARN = "arn:aws:iam::123456789012:role/nobody"
        let unknown = serviceError { () throws(STSClientError) in
            try client.assumeRole(.init(roleARN: unknownARN, roleSessionName: "s1"))
        }
        #expect(
            unknown?.message
                == "User: \(harness.userARN) is not authorized to perform: sts:AssumeRole on resource: \(unknownARN)")
        for externalID in [nil, "ext-0000"] {
            let error = serviceError { () throws(STSClientError) in
                try client.assumeRole(.init(roleARN: partnerARN, roleSessionName: "s1", externalID: externalID))
            }
            #expect(error?.kind == .accessDenied)
        }
        let tooLong = serviceError { () throws(STSClientError) in
            try client.assumeRole(
                .init(roleARN: partnerARN, roleSessionName: "s1", durationSeconds: 3700, externalID: "ext-4711"))
        }
        #expect(tooLong?.code == "ValidationError")
        #expect(tooLong?.message == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        #expect(tooLong?.kind == .other)

        let role = try client.assumeRole(.init(roleARN: partnerARN, roleSessionName: "s1", externalID: "ext-4711"))
        #expect(role.assumedRoleUser.arn == "arn:aws:sts::123456789012:assumed-role/partner/s1")
        #expect(isAbout(role.credentials.expiration, secondsFromNow: 3600))
    }
}

// MARK: - Signatures, clocks and tokens

@Suite("MFAServer: signatures, clock skew and credential checks")
struct MFAServerSignatureTests {
    @Test(
        "A server clock 20 minutes off: Signature expired / not yet current, and the Date header measures the skew",
        arguments: [1200, -1200])
    func clockSkew(offset: Int) throws {
        let harness = try MFAServerHarness()
        try harness.server.setClockOffset(offset)
        let counting = CountingTransport(testTransport)
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(harness.longTermKeys, transport: counting).getCallerIdentity()
        }
        #expect(error?.code == "SignatureDoesNotMatch")
        #expect(error?.kind == .clockSkew)
        let stamp = /\d{8}T\d{6}Z/
        let message = try #require(error?.message)
        if offset > 0 {
            #expect(
                message.wholeMatch(
                    of: /Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)/)
                    != nil, "\(message)")
        } else {
            #expect(
                message.wholeMatch(
                    of:
                        /Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)/
                ) != nil, "\(message)")
        }
        #expect(message.matches(of: stamp).count == 3)
        let measured = try #require(error?.clockOffset(from: Date()), "no Date header")
        #expect(abs(measured - Double(offset)) < 5, "measured \(measured)")
        #expect(counting.requests == 1, "clock skew must not be retried")

        // A client whose clock follows the measured offset gets through.
        let identity = try harness.sts(harness.longTermKeys, clock: ShiftedClock(offset: measured.rounded()))
            .getCallerIdentity()
        #expect(identity.arn == harness.userARN)
    }

    @Test("Ten minutes of skew is still inside AWS's 15-minute window")
    func smallSkew() throws {
        let harness = try MFAServerHarness()
        try harness.server.setClockOffset(-600)
        #expect(try harness.sts(harness.longTermKeys).getCallerIdentity().arn == harness.userARN)
    }

    @Test("TOTP steps follow the server's clock: the code for its time passes, this machine's does not")
    func codesFollowServerClock() throws {
        let harness = try MFAServerHarness()
        try harness.server.setClockOffset(1200)
        let client = harness.sts(harness.longTermKeys, clock: ShiftedClock(offset: 1200))
        let stale = serviceError { () throws(STSClientError) in
            try client.getSessionToken(.init(serialNumber: harness.device.serial, tokenCode: harness.code()))
        }
        #expect(stale?.kind == .wrongMFACode)
        _ = try client.getSessionToken(
            .init(serialNumber: harness.device.serial, tokenCode: harness.code(offset: 1200)))
    }

    @Test("A wrong secret key, an unknown key, and a missing or altered session token are told apart")
    func credentialChecks() throws {
        let harness = try MFAServerHarness()
        var wrongSecret = harness.longTermKeys
        wrongSecret.secretAccessKey = String(wrongSecret.secretAccessKey.reversed())
        let signature = serviceError { () throws(STSClientError) in try harness.sts(wrongSecret).getCallerIdentity() }
        #expect(signature?.code == "SignatureDoesNotMatch")
        #expect(signature?.message == signatureMessage)
        #expect(signature?.kind == .signatureDoesNotMatch)

        let unknownKey = AWSCredentials(accessKeyID: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: "secret")
        let unknown = serviceError { () throws(STSClientError) in try harness.sts(unknownKey).getCallerIdentity() }
        #expect(unknown?.code == "InvalidClientTokenId")
        #expect(unknown?.message == "The security token included in the request is invalid.")
        #expect(unknown?.kind == .invalidClientTokenID)
        #expect(unknown?.httpStatus == 403)

        let session = try harness.mfaSession().credentials
        var withoutToken = session
        withoutToken.sessionToken = nil
        var otherToken = session
        otherToken.sessionToken = String(try #require(session.sessionToken).reversed())
        for keys in [withoutToken, otherToken] {
            let error = serviceError { () throws(STSClientError) in try harness.sts(keys).getCallerIdentity() }
            #expect(error?.kind == .invalidClientTokenID)
        }
        // A token that belongs to other keys does not work either.
        var longTermWithToken = harness.longTermKeys
        longTermWithToken.sessionToken = session.sessionToken
        let mixed = serviceError { () throws(STSClientError) in try harness.sts(longTermWithToken).getCallerIdentity() }
        #expect(mixed?.kind == .invalidClientTokenID)
    }

    @Test("Expired session credentials are ExpiredToken")
    func expiredToken() throws {
        let harness = try MFAServerHarness()
        let session = try harness.sts(harness.longTermKeys).getSessionToken(.init(durationSeconds: 900)).credentials
        #expect(isAbout(session.expiration, secondsFromNow: 900))
        // Both clocks 1000 s on: the signature is current, the token is not.
        try harness.server.setClockOffset(1000)
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(session.credentials, clock: ShiftedClock(offset: 1000)).getCallerIdentity()
        }
        #expect(error?.code == "ExpiredToken")
        #expect(error?.message == "The security token included in the request is expired")
        #expect(error?.kind == .expiredToken)
        #expect(error?.httpStatus == 403)
    }

    @Test("IAM must be signed for us-east-1")
    func iamRegion() throws {
        let harness = try MFAServerHarness()
        let wrongRegion = ServiceEndpoint(
            url: harness.url, signingRegion: "eu-west-1", source: .environment("AWS_ENDPOINT_URL_IAM"))
        let error = serviceError { () throws(STSClientError) in
            try harness.iam(harness.longTermKeys, endpoint: wrongRegion).listMFADevices()
        }
        #expect(error?.code == "SignatureDoesNotMatch")
        #expect(error?.message.hasPrefix("Credential should be scoped to a valid region") == true)
    }
}

// MARK: - Faults and retries

@Suite("MFAServer: injected faults and the client's single retry")
struct MFAServerFaultTests {
    @Test("Throttling once: the one retry succeeds, and the server saw two calls")
    func throttlingOnce() throws {
        let harness = try MFAServerHarness()
        try harness.server.inject([.throttling(action: "GetSessionToken")])
        let counting = CountingTransport(testTransport)
        let result = try harness.sts(harness.longTermKeys, transport: counting).getSessionToken(
            .init(serialNumber: harness.device.serial, tokenCode: harness.code()))
        #expect(result.credentials.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(counting.requests == 2)
        let stats = try harness.server.stats()
        #expect(stats.count("GetSessionToken") == 2)
        // The throttled attempt never reached the MFA check, so the code was checked once.
        #expect(stats.mfaChecks == 1 && stats.mfaAccepted == 1)
    }

    @Test("Two 500s: the retry fails too and the error is the service's, after exactly two calls")
    func twoServerErrors() throws {
        let harness = try MFAServerHarness()
        try harness.server.inject([.internalFailure(action: "GetCallerIdentity", times: 2)])
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(harness.longTermKeys).getCallerIdentity()
        }
        #expect(error?.code == "InternalFailure")
        #expect(error?.httpStatus == 500)
        #expect(error?.type == "Receiver")
        #expect(try harness.server.stats().count("GetCallerIdentity") == 2)
        // The faults are used up: the next call goes through.
        #expect(try harness.sts(harness.longTermKeys).getCallerIdentity().arn == harness.userARN)
    }

    @Test("A 200 with garbage is a malformed-response error, not retried; a garbage 503 is retried")
    func garbageBodies() throws {
        let harness = try MFAServerHarness()
        try harness.server.inject([
            .rawBody("garbage", action: "GetCallerIdentity"),
            .rawBody("<Surprise/>", action: "GetCallerIdentity"),
            .rawBody("<html>Service Unavailable</html>", status: 503, action: "GetCallerIdentity"),
        ])
        let client = harness.sts(harness.longTermKeys)
        do {
            let identity = try client.getCallerIdentity()
            Issue.record("garbage parsed as \(identity)")
        } catch {
            guard case .malformedResponse(let status, .notXML) = error else {
                Issue.record("expected malformedResponse(200, notXML), got \(error)")
                return
            }
            #expect(status == 200)
        }
        do {
            let identity = try client.getCallerIdentity()
            Issue.record("<Surprise/> parsed as \(identity)")
        } catch {
            guard case .malformedResponse(200, .unexpectedRoot("Surprise")) = error else {
                Issue.record("expected malformedResponse(200, unexpectedRoot), got \(error)")
                return
            }
        }
        #expect(try client.getCallerIdentity().arn == harness.userARN)
        #expect(try harness.server.stats().count("GetCallerIdentity") == 4)
    }

    @Test("A dropped connection and a slow answer are transport errors, not retried")
    func droppedAndSlow() throws {
        let harness = try MFAServerHarness()
        try harness.server.inject([
            .dropConnection(action: "GetCallerIdentity"), .delay(seconds: 4, action: "GetCallerIdentity"),
        ])
        let impatient = CurlTransport(
            client: CurlHTTPClient(timeoutMilliseconds: 1_000, connectTimeoutMilliseconds: 1_000))
        for (transport, expectedKind) in [(testTransport, HTTPError.Kind.other), (impatient, .timedOut)] {
            do {
                let identity = try harness.sts(harness.longTermKeys, transport: transport).getCallerIdentity()
                Issue.record("expected a transport error, got \(identity)")
            } catch {
                guard case .transport(let underlying) = error else {
                    Issue.record("expected a transport error, got \(error)")
                    continue
                }
                #expect((underlying as? HTTPError)?.kind == expectedKind, "\(underlying)")
            }
        }
        #expect(try harness.server.stats().count("GetCallerIdentity") == 2)
    }

    @Test("A fault for another action leaves this one alone, and reset() drops pending faults")
    func faultMatching() throws {
        let harness = try MFAServerHarness()
        try harness.server.inject([.throttling(action: "AssumeRole", times: 5)])
        #expect(try harness.sts(harness.longTermKeys).getCallerIdentity().arn == harness.userARN)
        try harness.server.reset()
        let role = try harness.sts(harness.longTermKeys).assumeRole(
            .init(roleARN: harness.opsARN, roleSessionName: "s1"))
        #expect(role.assumedRoleUser.arn.hasSuffix("/ops/s1"))
        let stats = try harness.server.stats()
        #expect(stats.count("AssumeRole") == 1 && stats.count("GetCallerIdentity") == 0)
    }
}

// MARK: - IAM

@Suite("MFAServer: IAM ListMFADevices")
struct MFAServerIAMTests {
    @Test("Without UserName the caller's devices, with it the named user's; unknown users are NoSuchEntity")
    func listMFADevices() throws {
        var config = MFASTSServer.Config.standard()
        var bob = MFASTSServer.User.random(name: "bob")
        bob.mfaDevices.append(.init(serial: "arn:aws:iam::123456789012:mfa/bob-backup", seedBase32: "JBSWY3DPEHPK3PXP"))
        config.users.append(bob)
        let harness = try MFAServerHarness(config)
        let client = harness.iam(harness.longTermKeys)

        let mine = try client.listMFADevices()
        #expect(mine.serialNumbers == [harness.device.serial])
        #expect(mine.devices.first?.userName == "alice")
        #expect(!mine.isTruncated)
        let enabled = try #require(mine.devices.first?.enableDate)
        #expect(abs(enabled.timeIntervalSinceNow) < 600)

        #expect(try client.listMFADevices(.init(userName: "alice")).serialNumbers == [harness.device.serial])
        #expect(
            try client.allMFADevices(userName: "bob").map(\.serialNumber)
                == ["arn:aws:iam::123456789012:mfa/bob", "arn:aws:iam::123456789012:mfa/bob-backup"])

        let missing = serviceError { () throws(STSClientError) in try client.listMFADevices(.init(userName: "carol")) }
        #expect(missing?.code == "NoSuchEntity")
        #expect(missing?.httpStatus == 404)
        #expect(missing?.message == "The user with name carol cannot be found.")
        #expect(try harness.server.stats().count("ListMFADevices") == 4)
    }
}

// MARK: - The wire format, checked raw

@Suite("MFAServer: raw responses and server-side validation")
struct MFAServerWireTests {
    @Test(
        "<Expiration> carries the configured number of fraction digits and latchkey reads each", arguments: [0, 3, 6])
    func expirationFraction(digits: Int) throws {
        var config = MFASTSServer.Config.standard()
        config.expirationFractionDigits = digits
        let harness = try MFAServerHarness(config)
        let response = try harness.sendRaw(try GetSessionTokenRequest(durationSeconds: 1800).queryRequest())
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 200)
        #expect(text.hasPrefix("<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"))
        let match = try #require(
            text.firstMatch(of: /<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z<\/Expiration>/))
        #expect((match.output.1.map { $0.count - 1 } ?? 0) == digits)
        let parsed = try GetSessionTokenResult(parsing: response)
        #expect(isAbout(parsed.credentials.expiration, secondsFromNow: 1800))
        let requestID = try #require(response.headers.value(of: "x-amzn-RequestId"))
        #expect(text.contains("<RequestId>\(requestID)</RequestId>"))
        #expect(response.date != nil)
    }

    @Test("Parameters latchkey would never send are refused by the server as AWS refuses them")
    func serverValidation() throws {
        let harness = try MFAServerHarness()
        let cases: [(AWSQueryRequest, String, String)] = [
            (gst(["DurationSeconds": "899"]), "ValidationError", "greater than or equal to 900"),
            (gst(["DurationSeconds": "129601"]), "ValidationError", "less than or equal to 129600"),
            (assume(sessionName: "a"), "ValidationError", "length greater than or equal to 2"),
            (assume(sessionName: "no spaces"), "ValidationError", "regular expression pattern"),
            (assume(sessionName: String(repeating: "x", count: 65)), "ValidationError", "less than or equal to 64"),
            (
                AWSQueryRequest(action: "GetFederationToken", version: AWSQueryRequest.stsVersion), "InvalidAction",
                "Could not find operation GetFederationToken"
            ),
            (
                AWSQueryRequest(action: "ListMFADevices", version: AWSQueryRequest.iamVersion), "InvalidAction",
                "Could not find operation ListMFADevices"
            ),
        ]
        for (request, code, fragment) in cases {
            let response = try harness.sendRaw(request)
            let error = serviceError(of: response)
            #expect(error?.code == code, "\(request.action) \(request.parameters)")
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
            #expect(response.status == 400)
        }
        // IAM errors come in IAM's namespace.
        let iamError = try harness.sendRaw(
            AWSQueryRequest(action: "GetUser", version: AWSQueryRequest.iamVersion), service: "iam")
        #expect(
            String(decoding: iamError.body, as: UTF8.self)
                .hasPrefix(
                    "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>"))
    }

    func gst(_ parameters: KeyValuePairs<String, String>) -> AWSQueryRequest {
        AWSQueryRequest(
            action: "GetSessionToken", version: AWSQueryRequest.stsVersion,
            parameters: parameters.map { .init($0.key, $0.value) })
    }

    func assume(sessionName: String) -> AWSQueryRequest {
        AWSQueryRequest(
            action: "AssumeRole", version: AWSQueryRequest.stsVersion,
            parameters: [.init("RoleArn", "arn:aws:iam::123456789012:role/ops"), .init("RoleSessionName", sessionName)])
    }
}

// MARK: - botocore

@Suite("MFAServer: botocore's requests are checked the same way")
struct MFAServerBotocoreTests {
    static let script = #"""
        import json, os, sys
        for name in list(os.environ):
            if name.startswith("AWS_"):
                del os.environ[name]
        os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        given = json.load(open(sys.argv[1]))
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10)

        def sts(**keys):
            return boto3.client("sts", endpoint_url=given["endpoint"], region_name="ap-southeast-2",
                                config=config, **keys)

        def code_of(call):
            try:
                call()
                return "accepted"
            except ClientError as error:
                return error.response["Error"]["Code"] + ": " + error.response["Error"]["Message"]

        user = sts(aws_access_key_id=given["key"], aws_secret_access_key=given["secret"])
        session = user.get_session_token(DurationSeconds=3600, SerialNumber=given["serial"],
                                         TokenCode=given["code"])["Credentials"]
        temporary = sts(aws_access_key_id=session["AccessKeyId"], aws_secret_access_key=session["SecretAccessKey"],
                        aws_session_token=session["SessionToken"])
        arn = temporary.get_caller_identity()["Arn"]
        reused = code_of(lambda: user.get_session_token(SerialNumber=given["serial"], TokenCode=given["code"]))

        def tamper(request, **_):
            # Same length, so Content-Length still fits: only the signature can tell.
            body = request.body if isinstance(request.body, bytes) else request.body.encode()
            request.body = body.replace(b"DurationSeconds=3600", b"DurationSeconds=7200")
            assert request.body != body, "nothing to alter"
        tampered = sts(aws_access_key_id=given["key"], aws_secret_access_key=given["secret"])
        tampered.meta.events.register("before-send.sts.GetSessionToken", tamper)
        altered = code_of(lambda: tampered.get_session_token(DurationSeconds=3600))
        untouched = code_of(lambda: tampered.get_caller_identity())

        print(json.dumps({"arn": arn, "reused": reused, "altered": altered, "untouched": untouched,
                          "session_key": session["AccessKeyId"]}))
        """#

    struct Outcome: Decodable {
        var arn: String
        var reused: String
        var altered: String
        var untouched: String
        var sessionKey: String

        enum CodingKeys: String, CodingKey {
            case arn, reused, altered, untouched
            case sessionKey = "session_key"
        }
    }

    @Test("boto3's signature and MFA code are accepted, the code once; a body altered after signing is refused")
    func botocoreInterop() throws {
        let harness = try MFAServerHarness()
        let code = harness.code()
        let input = try JSONSerialization.data(withJSONObject: [
            "endpoint": harness.server.endpoint, "key": harness.user.accessKeyID,
            "secret": harness.user.secretAccessKey, "serial": harness.device.serial, "code": code,
        ])
        let outcome = try JSONDecoder().decode(
            Outcome.self, from: try runPython(script: Self.script, input: input, timeout: 60))
        #expect(outcome.arn == harness.userARN)
        #expect(outcome.sessionKey.hasPrefix("ASIA"))
        #expect(outcome.reused == "AccessDenied: " + wrongCodeMessage)
        #expect(outcome.altered == "SignatureDoesNotMatch: " + signatureMessage)
        #expect(outcome.untouched == "accepted")

        // The code botocore spent is spent for latchkey too.
        let error = serviceError { () throws(STSClientError) in
            try harness.sts(harness.longTermKeys).getSessionToken(
                .init(serialNumber: harness.device.serial, tokenCode: code))
        }
        #expect(error?.kind == .wrongMFACode)
        let stats = try harness.server.stats()
        #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 2)
        #expect(stats.count("GetSessionToken") == 4 && stats.count("GetCallerIdentity") == 2)
    }
}

// MARK: - The launcher

@Suite("MFAServer: starting and stopping the server")
struct MFAServerLauncherTests {
    @Test("start() reports a loopback endpoint; stop() ends the process and may be called again")
    func lifecycle() throws {
        let server = try MFASTSServer.start(.standard())
        #expect(server.endpoint == "http://127.0.0.1:\(server.port)")
        #expect(server.isRunning)
        let stats = try server.stats()
        #expect(stats.requests == 0 && stats.mfaChecks == 0 && stats.actions.isEmpty)
        server.stop()
        #expect(!server.isRunning)
        server.stop()
        #expect(throws: MFASTSServer.Failure.self) { try server.stats() }
    }

    @Test("A configuration the server refuses fails start() promptly, with the server's reason")
    func badConfiguration() throws {
        var config = MFASTSServer.Config.standard()
        config.users[0].mfaDevices[0].seedBase32 = "not base32!"
        let started = Date()
        do {
            let server = try MFASTSServer.start(config, timeout: 20)
            server.stop()
            Issue.record("a bad seed was accepted")
        } catch {
            #expect("\(error)".contains("bad configuration"), "\(error)")
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("reset() forgets spent codes and counters")
    func resetForgetsSpentCodes() throws {
        let harness = try MFAServerHarness()
        let code = harness.code()
        let request = GetSessionTokenRequest(serialNumber: harness.device.serial, tokenCode: code)
        _ = try harness.sts(harness.longTermKeys).getSessionToken(request)
        let refused = serviceError { () throws(STSClientError) in
            try harness.sts(harness.longTermKeys).getSessionToken(request)
        }
        #expect(refused?.kind == .wrongMFACode)
        try harness.server.reset()
        #expect(try harness.server.stats().requests == 0)
        // Still step T or T-1 for the server, and no longer spent.
        _ = try harness.sts(harness.longTermKeys).getSessionToken(request)
        let stats = try harness.server.stats()
        #expect(stats.mfaChecks == 1 && stats.mfaAccepted == 1)
    }
}
