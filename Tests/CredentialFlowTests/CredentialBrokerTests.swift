import AWSSigning
import Foundation
import STS
@testable import SessionCache
import SystemSupport
import TestSupport
import Testing

@testable import CredentialFlow

/// A broker over a temporary cache with scripted STS, scripted codes, the
/// keys of `dev` and a clock that stands still 15 s into a TOTP step.
final class BrokerBench {
    static let start: UInt64 = 1_800_000_015
    static let stepStart: UInt64 = 1_800_000_000

    let temporary: TemporaryDirectory
    let cache: SessionCache
    let sts: ScriptedSTS
    let clock = TestClock(BrokerBench.start)
    let codes: ScriptedCodes
    private(set) var notes: [String] = []

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        temporary = try TemporaryDirectory("broker")
        cache = SessionCache(directory: temporary.file("cache"))
        sts = ScriptedSTS(sourceLocation: sourceLocation)
        codes = ScriptedCodes(clock: clock)
    }

    func credentials(_ plan: CredentialPlan, refresh: Bool = false) throws -> CachedSession {
        let clock = self.clock
        var broker = CredentialBroker(
            cache: cache, transport: sts, codes: codes, keys: FixedKeys(secrets: ["AKIADEV": "dev-secret"]),
            environment: Environment([:]), clock: clock.requestClock)
        broker.refresh = refresh
        broker.retryDelay = .zero
        broker.note = { [weak self] in self?.notes.append($0) }
        return try broker.credentials(for: plan)
    }

    /// STS's temporary credentials for `keyID`, as the scripted answers make them.
    static func session(_ keyID: String, expiration: UInt64, arn: String? = nil, mfaSerial: String? = nil)
        -> CachedSession
    {
        CachedSession(
            credentials: AWSCredentials(
                accessKeyID: keyID, secretAccessKey: "secret-of-\(keyID)", sessionToken: "token-of-\(keyID)"),
            expiration: Int64(expiration), arn: arn, mfaSerial: mfaSerial)
    }
}

/// Expects `body` to fail with ``CredentialFlowError/aws(call:_:)`` for
/// `call`, STS's error being of `kind`.
func expectAWSFailure<T>(
    _ call: String, _ kind: STSError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) {
    do {
        let value = try body()
        Issue.record("expected \(call) to fail with \(kind), got \(value)", sourceLocation: sourceLocation)
    } catch CredentialFlowError.aws(let failed, let error) {
        #expect(failed == call, sourceLocation: sourceLocation)
        #expect(error.serviceError?.kind == kind, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(call) to fail with \(kind), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("CredentialBroker: cached sessions, MFA codes and STS calls, over a scripted STS")
struct CredentialBrokerTests {
    static let start = BrokerBench.start
    static let adminARN = "arn:aws:sts::123456789012:assumed-role/admin/alice"
    static let readonlyARN = "arn:aws:sts::123456789012:assumed-role/readonly/alice"

    func plan(_ profile: String, config: String = teamConfig, durationSeconds: Int? = nil) throws -> CredentialPlan {
        try resolvePlan(profile, config: config, credentials: devCredentials, durationSeconds: durationSeconds)
    }

    func answerSession(_ bench: BrokerBench, _ keyID: String = "ASIASESSION") {
        bench.sts.answer(
            "GetSessionToken", STSAnswer.sessionToken(keyID: keyID, expiration: Int64(Self.start + 43_200)))
    }

    func answerRole(_ bench: BrokerBench, _ keyID: String, arn: String = adminARN) {
        bench.sts.answer(
            "AssumeRole", STSAnswer.assumedRole(keyID: keyID, arn: arn, expiration: Int64(Self.start + 3_600)))
    }

    /// `dev`'s MFA session, cold: one GetSessionToken.
    func openDev(_ bench: BrokerBench) throws -> (plan: CredentialPlan, session: CachedSession) {
        let plan = try plan("dev")
        answerSession(bench)
        return (plan, try bench.credentials(plan))
    }

    /// The admin role, cold: GetSessionToken then AssumeRole.
    func openAdmin(_ bench: BrokerBench) throws {
        answerSession(bench)
        answerRole(bench, "ASIAADMIN")
        _ = try bench.credentials(try plan("admin"))
    }

    // MARK: - MFA sessions

    @Test("Cold: one GetSessionToken with the serial and a code for this step, written to the cache")
    func coldSessionToken() throws {
        let bench = try BrokerBench()
        let plan = try plan("dev")
        answerSession(bench)
        let session = try bench.credentials(plan)
        #expect(session == BrokerBench.session("ASIASESSION", expiration: Self.start + 43_200, mfaSerial: aliceSerial))
        #expect(bench.sts.actions == ["GetSessionToken"])
        let call = try #require(bench.sts.calls.first)
        #expect(call.url == "https://sts.eu-west-1.amazonaws.com/")
        #expect(
            call.parameters == [
                "Action": "GetSessionToken", "Version": "2011-06-15", "DurationSeconds": "43200",
                "SerialNumber": aliceSerial, "TokenCode": ScriptedCodes.code(at: Self.start),
            ])
        #expect(call.signingKeyID == "AKIADEV")
        #expect(call.securityToken == nil)
        #expect(bench.codes.madeAt == [Self.start])
        #expect(bench.codes.uses == [MFAUse(device: .serial(aliceSerial), profile: "dev")])
        #expect(bench.codes.waits.isEmpty)
        #expect(bench.cache.read(try #require(plan.cacheKey)) == session)
    }

    @Test("Warm: served from the cache with no request while more than 15 minutes remain")
    func warmSessionToken() throws {
        let bench = try BrokerBench()
        let (plan, first) = try openDev(bench)
        bench.clock.now = Self.start + 43_200 - 901
        #expect(try bench.credentials(plan) == first)
        #expect(bench.sts.calls.count == 1)
        #expect(bench.codes.madeAt.count == 1)
        // At 15 minutes left it is renewed, with a code for the step of that time.
        bench.clock.now = Self.start + 43_200 - 900
        answerSession(bench, "ASIASESSION2")
        #expect(try bench.credentials(plan).credentials.accessKeyID == "ASIASESSION2")
        #expect(bench.sts.calls.last?.parameters["TokenCode"] == ScriptedCodes.code(at: bench.clock.now))
        #expect(bench.codes.waits.isEmpty)
    }

    @Test("A fresh session file of another owner is not served: STS is asked anew, and the note says why once")
    func plantedSessionIgnored() throws {
        let bench = try BrokerBench()
        let (plan, first) = try openDev(bench)
        let path = bench.cache.path(for: try #require(plan.cacheKey))
        #expect(chown(path, nobodyUID, nobodyUID) == 0)
        answerSession(bench, "ASIASESSION2")
        bench.clock.now += 30
        let second = try bench.credentials(plan)
        #expect(second != first && second.credentials.accessKeyID == "ASIASESSION2")
        #expect(bench.sts.actions == ["GetSessionToken", "GetSessionToken"])
        #expect(bench.notes == ["latchkey: ignoring the cached session \(path): it belongs to uid \(nobodyUID), not to this user (uid 0)\n"])
        // The new session replaced the planted file, and is this user's.
        #expect(bench.cache.read(try #require(plan.cacheKey)) == second)
    }

    @Test("refresh: a new GetSessionToken even with a fresh session, its code from the next step")
    func refresh() throws {
        let bench = try BrokerBench()
        let (plan, first) = try openDev(bench)
        answerSession(bench, "ASIASESSION2")
        let second = try bench.credentials(plan, refresh: true)
        #expect(second.credentials.accessKeyID == "ASIASESSION2")
        #expect(second != first)
        #expect(bench.sts.actions == ["GetSessionToken", "GetSessionToken"])
        // This step's code is spent: wait the 15 s until the next one.
        #expect(bench.codes.waits == [15])
        #expect(bench.codes.madeAt == [Self.start, BrokerBench.stepStart + 30])
        let codes = bench.sts.calls.map { $0.parameters["TokenCode"] }
        #expect(codes == [ScriptedCodes.code(at: Self.start), ScriptedCodes.code(at: BrokerBench.stepStart + 30)])
        #expect(codes[0] != codes[1])
        #expect(bench.cache.read(try #require(plan.cacheKey)) == second)
    }

    @Test("A refused code leaves nothing cached, and the next try waits for a fresh step")
    func refusedCode() throws {
        let bench = try BrokerBench()
        let plan = try plan("dev")
        bench.sts.answer(
            "GetSessionToken",
            STSAnswer.error(
                403, code: "AccessDenied",
                message: "MultiFactorAuthentication failed with invalid MFA one time pass code. "))
        expectAWSFailure("GetSessionToken", .wrongMFACode) { try bench.credentials(plan) }
        #expect(bench.cache.read(try #require(plan.cacheKey)) == nil)
        answerSession(bench)
        _ = try bench.credentials(plan)
        #expect(bench.codes.waits == [15])
    }

    // MARK: - Roles

    @Test("A role: GetSessionToken, then AssumeRole signed with that session and without a code")
    func roleThroughSession() throws {
        let bench = try BrokerBench()
        let plan = try plan("admin")
        answerSession(bench)
        answerRole(bench, "ASIAADMIN")
        let session = try bench.credentials(plan)
        #expect(session == BrokerBench.session("ASIAADMIN", expiration: Self.start + 3_600, arn: Self.adminARN))
        #expect(bench.sts.actions == ["GetSessionToken", "AssumeRole"])
        #expect(bench.sts.calls[0].parameters["DurationSeconds"] == "43200")
        #expect(bench.sts.calls[0].signingKeyID == "AKIADEV")
        let assume = bench.sts.calls[1]
        #expect(
            assume.parameters == [
                "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": adminRole, "RoleSessionName": "alice",
                "DurationSeconds": "3600",
            ])
        #expect(assume.signingKeyID == "ASIASESSION")
        #expect(assume.securityToken == "token-of-ASIASESSION")
        #expect(bench.codes.madeAt.count == 1)
        let keys = plan.allCacheKeys
        #expect(bench.cache.read(keys[0]) == session)
        #expect(bench.cache.read(keys[1])?.credentials.accessKeyID == "ASIASESSION")
    }

    @Test("A second role from the same keys and device is one AssumeRole: no code, no touch")
    func secondRoleSharesSession() throws {
        let bench = try BrokerBench()
        try openAdmin(bench)
        answerRole(bench, "ASIAREAD", arn: Self.readonlyARN)
        let readonly = try bench.credentials(try plan("readonly"))
        #expect(readonly.arn == Self.readonlyARN)
        #expect(bench.sts.actions == ["GetSessionToken", "AssumeRole", "AssumeRole"])
        #expect(bench.sts.calls[2].parameters["RoleArn"] == "arn:aws:iam::123456789012:role/readonly")
        #expect(bench.sts.calls[2].signingKeyID == "ASIASESSION")
        #expect(bench.codes.madeAt.count == 1)
        // And both roles are now warm.
        _ = try bench.credentials(try plan("admin"))
        _ = try bench.credentials(try plan("readonly"))
        #expect(bench.sts.calls.count == 3)
    }

    @Test("A role beyond an hour is one AssumeRole from the keys, carrying the serial and the code")
    func directRole() throws {
        let bench = try BrokerBench()
        let plan = try plan("admin", durationSeconds: 7_200)
        answerRole(bench, "ASIAADMIN")
        let session = try bench.credentials(plan)
        #expect(session.mfaSerial == aliceSerial)
        #expect(bench.sts.actions == ["AssumeRole"])
        let call = bench.sts.calls[0]
        #expect(
            call.parameters == [
                "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": adminRole, "RoleSessionName": "alice",
                "DurationSeconds": "7200", "SerialNumber": aliceSerial, "TokenCode": ScriptedCodes.code(at: Self.start),
            ])
        #expect(call.signingKeyID == "AKIADEV")
        #expect(call.securityToken == nil)
    }

    @Test("A role without MFA is assumed with the long-term keys and no code")
    func roleWithoutMFA() throws {
        let bench = try BrokerBench()
        let plan = try plan(
            "ops",
            config:
                "[profile ops]\nrole_arn = \(adminRole)\nsource_profile = dev\nrole_session_name = ops\n[profile dev]\n"
        )
        answerRole(bench, "ASIAOPS")
        _ = try bench.credentials(plan)
        #expect(bench.sts.calls.map(\.signingKeyID) == ["AKIADEV"])
        #expect(bench.sts.calls[0].parameters["TokenCode"] == nil)
        #expect(bench.codes.madeAt.isEmpty)
    }

    @Test("A role sourced from another tool's credential_process signs with its output and takes the code itself")
    func roleFromProcess() throws {
        let bench = try BrokerBench()
        let tool =
            #"printf '%s' '{"Version":1,"AccessKeyId":"ASIATOOL","SecretAccessKey":"t","SessionToken":"tool-token"}'"#
        let config =
            "[profile tool]\ncredential_process = \(tool)\n[profile app]\nrole_arn = \(adminRole)\nsource_profile = tool\nmfa_serial = \(aliceSerial)\n"
        answerRole(bench, "ASIAAPP")
        _ = try bench.credentials(try plan("app", config: config))
        let call = bench.sts.calls[0]
        #expect(call.signingKeyID == "ASIATOOL")
        #expect(call.securityToken == "tool-token")
        #expect(call.parameters["SerialNumber"] == aliceSerial)
        #expect(call.parameters["TokenCode"] == ScriptedCodes.code(at: Self.start))
    }

    // MARK: - Stale MFA sessions

    @Test(
        "A cached MFA session STS no longer honours is dropped and made anew, once",
        arguments: [
            ("ExpiredToken", "The security token included in the request is expired"),
            ("InvalidClientTokenId", "The security token included in the request is invalid."),
        ])
    func staleSessionRenewed(_ code: String, _ message: String) throws {
        let bench = try BrokerBench()
        try openAdmin(bench)
        bench.sts.answer("AssumeRole", STSAnswer.error(403, code: code, message: message))
        answerSession(bench, "ASIASESSION2")
        answerRole(bench, "ASIAREAD", arn: Self.readonlyARN)
        let plan = try plan("readonly")
        let readonly = try bench.credentials(plan)
        #expect(readonly.credentials.accessKeyID == "ASIAREAD")
        #expect(bench.sts.actions == ["GetSessionToken", "AssumeRole", "AssumeRole", "GetSessionToken", "AssumeRole"])
        #expect(bench.sts.calls[2].signingKeyID == "ASIASESSION")
        #expect(bench.sts.calls[4].signingKeyID == "ASIASESSION2")
        // The new session needed a new code: the next step's.
        #expect(bench.codes.waits == [15])
        #expect(bench.sts.calls[3].parameters["TokenCode"] == ScriptedCodes.code(at: BrokerBench.stepStart + 30))
        #expect(bench.cache.read(plan.allCacheKeys[1])?.credentials.accessKeyID == "ASIASESSION2")
    }

    @Test("When the new session is refused too, the error is reported after that one retry")
    func staleTwice() throws {
        let bench = try BrokerBench()
        try openAdmin(bench)
        let expired = STSAnswer.error(
            403, code: "ExpiredToken", message: "The security token included in the request is expired")
        bench.sts.answer("AssumeRole", expired)
        answerSession(bench, "ASIASESSION2")
        bench.sts.answer("AssumeRole", expired)
        expectAWSFailure("AssumeRole", .expiredToken) { try bench.credentials(try plan("readonly")) }
        #expect(bench.sts.calls.count == 5)
        #expect(bench.sts.unusedAnswers == 0)
    }

    @Test("AccessDenied on AssumeRole is not a stale session: reported, the MFA session kept")
    func accessDeniedKeepsSession() throws {
        let bench = try BrokerBench()
        try openAdmin(bench)
        bench.sts.answer(
            "AssumeRole",
            STSAnswer.error(403, code: "AccessDenied", message: "not authorized to perform: sts:AssumeRole"))
        let plan = try plan("readonly")
        expectAWSFailure("AssumeRole", .accessDenied) { try bench.credentials(plan) }
        #expect(bench.sts.actions == ["GetSessionToken", "AssumeRole", "AssumeRole"])
        #expect(bench.cache.read(plan.allCacheKeys[1])?.credentials.accessKeyID == "ASIASESSION")
        #expect(bench.cache.read(plan.allCacheKeys[0]) == nil)
    }

    // MARK: - Discovering the device

    static let discoverConfig = "[profile disc]\nregion = eu-west-1\n"
    static let discoverKeys = "[disc]\naws_access_key_id = AKIADEV\naws_secret_access_key = dev-secret\n"
    static let aliceUser = "arn:aws:iam::123456789012:user/division/alice"

    func discoverPlan() throws -> CredentialPlan {
        try resolvePlan("disc", config: Self.discoverConfig, credentials: Self.discoverKeys)
    }

    @Test("Without mfa_serial: GetCallerIdentity, ListMFADevices for the ARN's user, then the only device")
    func discoverOneDevice() throws {
        let bench = try BrokerBench()
        bench.sts.answer("GetCallerIdentity", STSAnswer.callerIdentity(arn: Self.aliceUser))
        bench.sts.answer("ListMFADevices", STSAnswer.mfaDevices(user: "alice", serials: [aliceSerial]))
        answerSession(bench)
        let session = try bench.credentials(try discoverPlan())
        #expect(session.mfaSerial == aliceSerial)
        #expect(bench.sts.actions == ["GetCallerIdentity", "ListMFADevices", "GetSessionToken"])
        let list = bench.sts.calls[1]
        #expect(list.url == "https://iam.amazonaws.com/")
        #expect(list.parameters == ["Action": "ListMFADevices", "Version": "2010-05-08", "UserName": "alice"])
        #expect(list.signingKeyID == "AKIADEV")
        #expect(list.headers.value(of: "Authorization")?.contains("/us-east-1/iam/aws4_request") == true)
        #expect(bench.sts.calls[2].parameters["SerialNumber"] == aliceSerial)
        #expect(bench.codes.uses.map(\.device) == [.discover])
        #expect(bench.notes.count == 1)
        #expect(bench.notes.first?.contains(aliceSerial) == true)
    }

    @Test("The root user's devices are listed without a UserName")
    func discoverForRoot() throws {
        let bench = try BrokerBench()
        bench.sts.answer("GetCallerIdentity", STSAnswer.callerIdentity(arn: "arn:aws:iam::123456789012:root"))
        bench.sts.answer(
            "ListMFADevices",
            STSAnswer.mfaDevices(user: "root", serials: ["arn:aws:iam::123456789012:mfa/root-account-mfa-device"]))
        answerSession(bench)
        _ = try bench.credentials(try discoverPlan())
        #expect(bench.sts.calls[1].parameters["UserName"] == nil)
        #expect(
            bench.sts.calls[2].parameters["SerialNumber"] == "arn:aws:iam::123456789012:mfa/root-account-mfa-device")
    }

    @Test("No device, or several, is an error before any code is made")
    func discoverNoneOrSeveral() throws {
        let bench = try BrokerBench()
        bench.sts.answer("GetCallerIdentity", STSAnswer.callerIdentity(arn: Self.aliceUser))
        bench.sts.answer("ListMFADevices", STSAnswer.mfaDevices(user: "alice", serials: []))
        expectFlowError(.noMFADevice(user: Self.aliceUser)) { try bench.credentials(try discoverPlan()) }
        let two = [aliceSerial, "arn:aws:iam::123456789012:mfa/alice-backup"]
        bench.sts.answer("GetCallerIdentity", STSAnswer.callerIdentity(arn: Self.aliceUser))
        bench.sts.answer("ListMFADevices", STSAnswer.mfaDevices(user: "alice", serials: two))
        expectFlowError(.severalMFADevices(two, profile: "disc")) { try bench.credentials(try discoverPlan()) }
        #expect(bench.sts.actions == ["GetCallerIdentity", "ListMFADevices", "GetCallerIdentity", "ListMFADevices"])
        #expect(bench.codes.madeAt.isEmpty)
    }

    @Test("Of several devices, the one whose account is on the token is used; on the token none or two: an error, no code")
    func discoverOnToken() throws {
        let two = [aliceSerial, "arn:aws:iam::123456789012:mfa/alice-backup"]
        for onToken in [[two[1]], [], two] {
            // A bench each: the first run caches its session.
            let bench = try BrokerBench()
            bench.codes.onToken = onToken
            bench.sts.answer("GetCallerIdentity", STSAnswer.callerIdentity(arn: Self.aliceUser))
            bench.sts.answer("ListMFADevices", STSAnswer.mfaDevices(user: "alice", serials: two))
            if onToken.count == 1 {
                answerSession(bench)
                _ = try bench.credentials(try discoverPlan())
                #expect(bench.sts.calls.last?.parameters["SerialNumber"] == two[1])
            } else {
                expectFlowError(.severalMFADevices(two, onToken: onToken, profile: "disc")) { try bench.credentials(try discoverPlan()) }
            }
            #expect(bench.codes.madeAt.count == (onToken.count == 1 ? 1 : 0))
        }
    }

    @Test("The user name in an IAM user ARN")
    func userNames() {
        #expect(CredentialBroker.userName(fromARN: "arn:aws:iam::123456789012:user/division/alice") == "alice")
        #expect(CredentialBroker.userName(fromARN: "arn:aws:iam::123456789012:user/bob") == "bob")
        #expect(CredentialBroker.userName(fromARN: "arn:aws:iam::123456789012:root") == nil)
        #expect(CredentialBroker.userName(fromARN: Self.adminARN) == nil)
        #expect(CredentialBroker.userName(fromARN: "user/alice") == nil)
    }

    // MARK: - Typed codes

    @Test(
        "A typed code that is not 6 ASCII digits is refused before anything is sent",
        arguments: ["12345", "1234567", "12a456", "", " 12345", "١٢٣٤٥٦"])
    func invalidTypedCode(_ code: String) throws {
        let bench = try BrokerBench()
        bench.codes.makesCodes = false
        bench.codes.typed = [code]
        expectFlowError(.invalidCode) { try bench.credentials(try plan("dev")) }
        #expect(bench.sts.calls.isEmpty)
    }

    @Test("The same typed code twice: the second is refused without a request; another code is sent")
    func typedCodeOnce() throws {
        let bench = try BrokerBench()
        bench.codes.makesCodes = false
        bench.codes.typed = ["123456", "123456", "654321"]
        let plan = try openDev(bench).plan
        #expect(bench.sts.calls[0].parameters["TokenCode"] == "123456")
        bench.clock.now += 20
        expectFlowError(.codeAlreadyUsed(serial: aliceSerial)) { try bench.credentials(plan, refresh: true) }
        #expect(bench.sts.calls.count == 1)
        answerSession(bench, "ASIASESSION2")
        _ = try bench.credentials(plan, refresh: true)
        #expect(bench.sts.calls.map { $0.parameters["TokenCode"] } == ["123456", "654321"])
        #expect(bench.codes.madeAt.isEmpty)
        #expect(bench.codes.waits.isEmpty)
    }

    // MARK: - Time steps

    @Test("A far-future step in the ledger does not stall the broker; with this step and the next spent it waits one period at most")
    func poisonedLedgerBounded() throws {
        let bench = try BrokerBench()
        let plan = try plan("dev")
        try PrivateFiles.ensurePrivateDirectory(bench.cache.directory)
        let id = SpentCodes.hash(aliceSerial)
        let step = BrokerBench.start / 30
        try writeBytes(
            SpentCodes(cache: bench.cache).path,
            Array("step \(id) 99999999999 \(BrokerBench.start)\nstep \(id) \(step) \(BrokerBench.start)\nstep \(id) \(step + 1) \(BrokerBench.start)\n".utf8))
        answerSession(bench)
        _ = try bench.credentials(plan)
        // 15 s to the next step (taken, so nothing reserved), then 30 s to the one after.
        #expect(bench.codes.waits == [15, 30])
        #expect(bench.codes.madeAt == [BrokerBench.stepStart + 60])
    }

    @Test("A plain-http STS endpoint on another machine gets one warning however many calls go there; loopback gets none")
    func cleartextEndpointWarning() throws {
        for (url, warned) in [("http://10.1.2.3:4566", true), ("http://127.0.0.1:4566", false), ("http://localhost:4566", false)] {
            let bench = try BrokerBench()
            let config = teamConfig.replacingOccurrences(of: "region = eu-west-1", with: "region = eu-west-1\nendpoint_url = \(url)")
            answerSession(bench)
            answerRole(bench, "ASIAADMIN")
            _ = try bench.credentials(try plan("admin", config: config))
            #expect(bench.sts.actions == ["GetSessionToken", "AssumeRole"])
            let warnings = bench.notes.filter { $0.contains("plain http") }
            #expect(warnings.count == (warned ? 1 : 0), "\(url): \(bench.notes)")
            if warned {
                #expect(warnings.first == "latchkey: warning: the STS endpoint \(url)/ (profile admin endpoint_url) is plain http to another machine: MFA codes and sessions travel in clear\n")
            }
        }
    }

    @Test("ca_bundle (or AWS_CA_BUNDLE, which wins) is the CA bundle every STS and IAM client trusts")
    func caBundle() throws {
        for (environment, expected) in [([String: String](), "/etc/profile-ca.pem"), (["AWS_CA_BUNDLE": "/etc/env-ca.pem"], "/etc/env-ca.pem")] {
            let bench = try BrokerBench()
            let config = teamConfig.replacingOccurrences(of: "[profile admin]", with: "[profile admin]\nca_bundle = /etc/profile-ca.pem")
            let plan = try resolvePlan("admin", config: config, credentials: devCredentials, environment: environment)
            #expect(plan.caBundle == expected)
            answerSession(bench)
            answerRole(bench, "ASIAADMIN")
            _ = try bench.credentials(plan)
            #expect(bench.sts.trustedCABundles == [expected, expected])
        }
        let plain = try BrokerBench()
        answerSession(plain)
        _ = try plain.credentials(try plan("dev"))
        #expect(plain.sts.trustedCABundles == [nil])
    }

    @Test("A code is made for the step it reserved, even when the wait for that step overran")
    func codeMatchesReservedStep() throws {
        let bench = try BrokerBench()
        let plan = try openDev(bench).plan
        // The countdown to the next step overruns by a minute (a suspended laptop, a busy machine).
        bench.codes.oversleep = 60
        answerSession(bench, "ASIASESSION2")
        _ = try bench.credentials(plan, refresh: true)
        let madeFor = try #require(bench.codes.madeAt.last) / 30
        let nextReservation = try SpentCodes(cache: bench.cache).reserveStep(serial: aliceSerial, now: bench.clock.now)
        // The overrun step was reserved again before its code was made, so
        // the ledger knows it and hands out a later one next.
        #expect(madeFor > BrokerBench.stepStart / 30 + 1)
        #expect(nextReservation.step > madeFor)
    }
}
