// Doubles and builders shared by this target's suites:
//   sharedConfig / resolvePlan  a config from the two files' texts, and its plan
//   expectFlowError             a CredentialFlowError compared by its full text
//   ScriptedSTS                 an HTTPTransport that answers STS and IAM from a script
//   STSAnswer                   success and error bodies in AWS's XML shapes
//   ScriptedCodes, FixedKeys, TestClock  the broker's MFA codes, keys and time
import AWSConfig
import AWSSigning
import Foundation
import STS
import SystemSupport
import Testing

@testable import CredentialFlow

// MARK: - Config and plans

/// The shared config made of a config file's and a credentials file's text.
func sharedConfig(_ config: String, credentials: String = "") throws -> SharedConfig {
    try SharedConfig.parse(
        config: Array(config.utf8), configPath: "config", credentials: Array(credentials.utf8),
        credentialsPath: "credentials")
}

/// The plan for `profile` of the config made of these texts.
func resolvePlan(
    _ profile: String, config: String, credentials: String = "", environment: [String: String] = [:],
    sealedKeys: [String: String] = [:], durationSeconds: Int? = nil
) throws -> CredentialPlan {
    let resolver = ProfileResolver(
        config: try sharedConfig(config, credentials: credentials), environment: Environment(environment),
        sealedKeys: sealedKeys, durationSeconds: durationSeconds)
    return try resolver.plan(profile: profile)
}

/// Expects `body` to throw a ``CredentialFlowError`` that reads exactly as
/// `expected` does; the text carries every associated value, so two
/// different errors never read the same.
func expectFlowError<T>(
    _ expected: CredentialFlowError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) {
    do {
        let value = try body()
        Issue.record("expected the error \"\(expected)\", got \(value)", sourceLocation: sourceLocation)
    } catch let error as CredentialFlowError {
        #expect(error.description == expected.description, sourceLocation: sourceLocation)
    } catch {
        Issue.record(
            "expected the error \"\(expected)\", got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

// MARK: - STS double

/// STS and IAM as a script: each request must carry the `Action` the next
/// scripted answer is for. Every request is kept, its form body decoded, so
/// a test can check what was sent. A request beyond the script, or of the
/// wrong action, records an issue and throws.
final class ScriptedSTS: HTTPTransport {
    struct Call {
        var url: String
        var headers: [HTTPField]
        /// The decoded form body.
        var parameters: [String: String]

        var action: String? { parameters["Action"] }

        /// The access key id in the SigV4 `Authorization` header.
        var signingKeyID: String? {
            guard let authorization = headers.value(of: "Authorization"),
                let start = authorization.range(of: "Credential=")?.upperBound
            else { return nil }
            return String(authorization[start...].prefix { $0 != "/" })
        }

        var securityToken: String? { headers.value(of: "X-Amz-Security-Token") }
    }

    struct Unscripted: Error {}

    private var script: [(action: String, response: TransportResponse)] = []
    private(set) var calls: [Call] = []
    private let sourceLocation: SourceLocation

    init(sourceLocation: SourceLocation = #_sourceLocation) {
        self.sourceLocation = sourceLocation
    }

    /// Queues the answer for the next request, which must be `action`.
    func answer(_ action: String, _ response: TransportResponse) {
        script.append((action, response))
    }

    var actions: [String] { calls.map { $0.action ?? "?" } }
    /// The CA bundles clients were made to trust, one per client.
    private(set) var trustedCABundles: [String?] = []

    func trusting(caBundle path: String?) -> any HTTPTransport {
        trustedCABundles.append(path)
        return self
    }
    var unusedAnswers: Int { script.count }

    func post(url: String, headers: [HTTPField], body: [UInt8]) throws -> TransportResponse {
        let call = Call(url: url, headers: headers, parameters: Self.formFields(body))
        calls.append(call)
        guard !script.isEmpty else {
            Issue.record(
                "unscripted request #\(calls.count): \(call.action ?? "?") to \(url)", sourceLocation: sourceLocation)
            throw Unscripted()
        }
        let next = script.removeFirst()
        guard next.action == call.action else {
            Issue.record(
                "request #\(calls.count) is \(call.action ?? "?"), the script expected \(next.action)",
                sourceLocation: sourceLocation)
            throw Unscripted()
        }
        return next.response
    }

    /// `a=1&b=x%2Fy` → `["a": "1", "b": "x/y"]`.
    static func formFields(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(halves[0]).removingPercentEncoding ?? String(halves[0])
            let value = halves.count > 1 ? (String(halves[1]).removingPercentEncoding ?? String(halves[1])) : ""
            fields[name] = value
        }
        return fields
    }
}

/// Response bodies in the shapes AWS sends (REFERENCE §5).
enum STSAnswer {
    static let namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

    static func credentialsXML(keyID: String, expiration: Int64) -> String {
        "<Credentials><AccessKeyId>\(keyID)</AccessKeyId><SecretAccessKey>secret-of-\(keyID)</SecretAccessKey>"
            + "<SessionToken>token-of-\(keyID)</SessionToken>"
            + "<Expiration>\(UTCDateTime(secondsSince1970: expiration).iso8601)</Expiration></Credentials>"
    }

    static func sessionToken(keyID: String, expiration: Int64) -> TransportResponse {
        ok(
            "<GetSessionTokenResponse xmlns=\"\(namespace)\"><GetSessionTokenResult>"
                + credentialsXML(keyID: keyID, expiration: expiration)
                + "</GetSessionTokenResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>"
                + "</GetSessionTokenResponse>")
    }

    static func assumedRole(keyID: String, arn: String, expiration: Int64) -> TransportResponse {
        ok(
            "<AssumeRoleResponse xmlns=\"\(namespace)\"><AssumeRoleResult>"
                + credentialsXML(keyID: keyID, expiration: expiration)
                + "<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>\(arn)</Arn></AssumedRoleUser>"
                + "</AssumeRoleResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata>"
                + "</AssumeRoleResponse>")
    }

    static func callerIdentity(arn: String) -> TransportResponse {
        ok(
            "<GetCallerIdentityResponse xmlns=\"\(namespace)\"><GetCallerIdentityResult><Arn>\(arn)</Arn>"
                + "<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
                + "</GetCallerIdentityResponse>")
    }

    static func mfaDevices(user: String, serials: [String]) -> TransportResponse {
        let members = serials.map {
            "<member><UserName>\(user)</UserName><SerialNumber>\($0)</SerialNumber>"
                + "<EnableDate>2026-01-02T03:04:05Z</EnableDate></member>"
        }
        return ok(
            "<ListMFADevicesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListMFADevicesResult>"
                + "<MFADevices>\(members.joined())</MFADevices><IsTruncated>false</IsTruncated>"
                + "</ListMFADevicesResult></ListMFADevicesResponse>")
    }

    static func error(_ status: Int, code: String, message: String) -> TransportResponse {
        TransportResponse(
            status: status, headers: [HTTPField("Content-Type", "text/xml")],
            body: Array(
                ("<ErrorResponse xmlns=\"\(namespace)\"><Error><Type>Sender</Type><Code>\(code)</Code>"
                    + "<Message>\(message)</Message></Error><RequestId>r3</RequestId></ErrorResponse>").utf8))
    }

    private static func ok(_ xml: String) -> TransportResponse {
        TransportResponse(status: 200, headers: [HTTPField("Content-Type", "text/xml")], body: Array(xml.utf8))
    }
}

// MARK: - The broker's other doubles

/// Unix time that moves only when a test (or a double's wait) moves it.
final class TestClock {
    var now: UInt64
    init(_ now: UInt64) { self.now = now }

    /// The same clock as STS's clients read it (SigV4 dates).
    var requestClock: RequestClockView { RequestClockView(clock: self) }
}

struct RequestClockView: RequestClock, @unchecked Sendable {
    // @unchecked: each test owns its clock and uses it from one task.
    let clock: TestClock
    func now() -> Date { Date(timeIntervalSince1970: Double(clock.now)) }
    func sleep(for duration: Duration) { clock.now += UInt64(max(0, duration.components.seconds)) }
}

/// MFA codes: made from the time step when ``makesCodes`` is on (recording
/// the time each was made for), else taken in order from ``typed``.
/// Waiting moves the clock by the seconds asked, plus ``oversleep``.
final class ScriptedCodes: MFACodeSource {
    struct NoCodeScripted: Error {}

    var makesCodes = true
    var typed: [String] = []
    var oversleep: UInt64 = 0
    /// The serials whose accounts the token holds (`nil`: codes are typed).
    var onToken: [String]?
    let clock: TestClock
    private(set) var madeAt: [UInt64] = []
    private(set) var waits: [UInt64] = []
    private(set) var uses: [MFAUse] = []

    init(clock: TestClock) { self.clock = clock }

    /// The code this double makes for Unix time `time`: distinct for
    /// neighbouring 30-second steps.
    static func code(at time: UInt64) -> String {
        let value = (time / 30 &* 7_919 &+ 123_457) % 1_000_000
        return String(repeating: "0", count: 6 - String(value).count) + String(value)
    }

    func makesCodes(for use: MFAUse) -> Bool { makesCodes }

    func serialsOnToken(_ serials: [String], for use: MFAUse) throws -> [String]? { onToken.map { serials.filter($0.contains) } }

    func code(for use: MFAUse, serial: String, at unixTime: UInt64) throws -> String {
        uses.append(use)
        madeAt.append(unixTime)
        return Self.code(at: unixTime)
    }

    func typedCode(for use: MFAUse, serial: String) throws -> String {
        uses.append(use)
        guard !typed.isEmpty else {
            Issue.record("the broker asked for a typed code the test did not script")
            throw NoCodeScripted()
        }
        return typed.removeFirst()
    }

    func wait(seconds: UInt64, serial: String) {
        waits.append(seconds)
        clock.now += seconds + oversleep
    }
}

/// Long-term secrets by access key id; an unknown id records an issue.
struct FixedKeys: LongTermKeyStore {
    struct Unknown: Error {}

    var secrets: [String: String]

    func credentials(for source: LongTermKeySource) throws -> AWSCredentials {
        guard let secret = secrets[source.accessKeyID] else {
            Issue.record("the broker asked for the secret of \(source), which the test did not provide")
            throw Unknown()
        }
        return AWSCredentials(accessKeyID: source.accessKeyID, secretAccessKey: secret)
    }
}
