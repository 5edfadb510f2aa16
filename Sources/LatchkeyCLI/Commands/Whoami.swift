import LatchkeyCore
import ArgumentParser
import STS

/// `latchkey whoami`: who the profile's session credentials act as.
struct Whoami: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show who the profile's credentials act as (GetCallerIdentity) and until when.",
        discussion: """
            Uses the cached session when there is one, otherwise makes one (with an MFA code).

            Example:
              latchkey whoami --profile work --yubikey
            """)

    @OptionGroup var options: CredentialOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let (session, setup) = try CredentialService(world: world).obtain(options.request)
        let identity: CallerIdentity
        do {
            identity = try STSClient(credentials: session.credentials, endpoint: setup.plan.sts, transport: world.http.trusting(caBundle: setup.plan.caBundle), clock: world.clock)
                .getCallerIdentity()
        } catch {
            throw LatchkeyError(call: "GetCallerIdentity", error)
        }
        let fields = [
            ("UserId", identity.userID), ("Account", identity.account), ("Arn", identity.arn),
            ("Expiration", session.expirationText), ("Profile", setup.plan.profile),
        ]
        world.standardOutput(
            "{" + fields.map { "\"\($0.0)\":\"\(CredentialOutput.jsonEscaped($0.1))\"" }.joined(separator: ",") + "}\n")
    }
}
