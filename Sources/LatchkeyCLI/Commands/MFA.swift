import AWSSigning
import ArgumentParser
import CredentialFlow
import STS

/// `latchkey mfa …`: the IAM user's MFA devices.
struct MFA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa",
        abstract: "List, enroll and resync the IAM user's virtual MFA devices.",
        discussion: """
            These calls use the profile's long-term keys (no MFA session is needed: the
            `latchkey policy require-mfa` policy leaves them callable without MFA).

            Examples:
              latchkey mfa list --profile dev
              latchkey mfa enroll --profile dev --yubikey --touch
              latchkey mfa enroll --profile dev --sealed
              latchkey mfa resync --profile dev --yubikey
            """,
        subcommands: [MFAList.self, MFAEnroll.self, MFAResync.self])
}

/// The profile's long-term keys and the IAM and STS clients they sign for.
struct ProfileKeys {
    var supply: CredentialSupply
    var credentials: AWSCredentials

    init(profile: String?, passphraseFile: String?, context: CommandContext) throws {
        supply = try CredentialSupply(profile: profile, durationSeconds: nil, context: context)
        guard let source = supply.plan.step.rootKeys else {
            throw CLIError(.noCredentials, "profile '\(supply.plan.profile)' has no long-term keys of an IAM user (it uses credential_process)")
        }
        let vault = SharedVault(context: context, passphraseFile: passphraseFile)
        credentials = try CLIKeyStore(config: supply.config, environment: context.environment, vault: vault)
            .credentials(for: source)
    }

    var profile: String { supply.plan.profile }

    var iam: IAMClient { IAMClient(credentials: credentials, endpoint: supply.plan.iam, transport: CurlTransport()) }

    /// The caller, and its IAM user name (nil for root or a role).
    func caller() throws -> (identity: CallerIdentity, userName: String?) {
        do {
            let identity = try STSClient(credentials: credentials, endpoint: supply.plan.sts, transport: CurlTransport())
                .getCallerIdentity()
            return (identity, CredentialBroker.userName(fromARN: identity.arn))
        } catch {
            throw CLIError(call: "GetCallerIdentity", error)
        }
    }

    /// The caller's IAM user name; an error for root or a role.
    func callerUserName() throws -> String {
        let (identity, name) = try caller()
        guard let name else { throw CLIError(.invalidInput, "\(identity.arn) is not an IAM user: name the user with --user") }
        return name
    }

    /// Runs one IAM call, its failure phrased for a person.
    func call<T>(_ name: String, _ body: (IAMClient) throws(STSClientError) -> T) throws -> T {
        do { return try body(iam) } catch { throw CLIError(call: name, error) }
    }
}
