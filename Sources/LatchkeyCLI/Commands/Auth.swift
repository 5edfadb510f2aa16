import LatchkeyCore
import ArgumentParser

/// `latchkey auth`: credentials for a shell (`eval "$(latchkey auth --yubikey)"`),
/// as JSON, or into a credentials-file profile.
struct Auth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Get short-lived AWS credentials with an MFA code and print them for a shell.",
        discussion: """
            The profile decides the calls: with role_arn, AssumeRole (through one cached MFA
            session shared by every role from the same keys, so a second role costs no
            touch); otherwise GetSessionToken with its mfa_serial (found through IAM when
            the profile has none and the user has one device). Sessions are cached under
            $XDG_CACHE_HOME/latchkey and reused while more than 15 minutes remain.

            Formats match `aws configure export-credentials`: env (default), env-no-export,
            fish, powershell, windows-cmd, and json (the credential_process shape).

            Examples:
              eval "$(latchkey auth --yubikey)"
              latchkey auth --profile work --sealed --format json
              latchkey auth --profile work --yubikey --write-profile work-session
            """)

    @OptionGroup var options: CredentialOptions

    @Option(help: "How to print the credentials.")
    var format: CredentialFormat = .env

    @Option(
        name: .customLong("write-profile"),
        help: ArgumentHelp(
            "Write them into this profile of the shared credentials file instead (only that section changes).",
            valueName: "name"))
    var writeProfile: String?

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let (session, setup) = try CredentialService(world: world).obtain(options.request)
        if let writeProfile {
            try CredentialsFileWriter.write(session, profile: writeProfile, plan: setup.plan, world: world, cache: setup.cache)
            world.standardError("Wrote credentials for profile '\(setup.plan.profile)' into [\(writeProfile)], valid until \(session.expirationText)\n")
            return
        }
        world.standardOutput(try CredentialOutput.render(session, as: format))
    }
}
