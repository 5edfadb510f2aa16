import AWSSigning
import CredentialFlow
import STS

/// A profile's long-term keys and the IAM and STS clients they sign for
/// (`mfa list|enroll|resync`: calls a `require-mfa` policy leaves open
/// without an MFA session).
public struct ProfileKeys {
    public var world: World
    public var setup: CredentialService.Setup
    public var credentials: AWSCredentials

    public var profile: String { setup.plan.profile }

    /// The world's transport, verifying TLS against the profile's CA bundle.
    var transport: any HTTPTransport { world.http.trusting(caBundle: setup.plan.caBundle) }

    public var iam: IAMClient {
        IAMClient(credentials: credentials, endpoint: setup.plan.iam, transport: transport, clock: world.clock)
    }

    public var sts: STSClient {
        STSClient(credentials: credentials, endpoint: setup.plan.sts, transport: transport, clock: world.clock)
    }

    /// The caller, and its IAM user name (nil for root or a role).
    public func caller() throws -> (identity: CallerIdentity, userName: String?) {
        do {
            let identity = try sts.getCallerIdentity()
            return (identity, CredentialBroker.userName(fromARN: identity.arn))
        } catch {
            throw LatchkeyError(call: "GetCallerIdentity", error)
        }
    }

    /// The caller's IAM user name; an error for root or a role.
    public func callerUserName() throws -> String {
        let (identity, name) = try caller()
        guard let name else { throw LatchkeyError(.invalidInput, "\(identity.arn) is not an IAM user: name the user with --user") }
        return name
    }

    /// Runs one IAM call, its failure phrased for a person.
    public func call<T>(_ name: String, _ body: (IAMClient) throws(STSClientError) -> T) throws -> T {
        do { return try body(iam) } catch { throw LatchkeyError(call: name, error) }
    }
}
