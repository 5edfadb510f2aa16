import LatchkeyCore
import ArgumentParser

/// `latchkey credential-process --profile P`: the `credential_process` JSON.
///
/// A warm cache is served before argument parsing even starts (see
/// `CachedCredentialProcess`); this command is the rest: a cold cache, an
/// expiring session, `--refresh`.
struct CredentialProcess: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential-process",
        abstract: "Print credentials as credential_process JSON (for ~/.aws/config).",
        discussion: """
            In ~/.aws/config:
              [profile work]
              credential_process = latchkey credential-process --profile work
              mfa_serial = arn:aws:iam::123456789012:mfa/alice
              latchkey_mfa = yubikey

            Every AWS SDK client starts this command; while a cached session has more than
            15 minutes left it answers from the cache without touching the key or the
            network. Prompts (touch, codes, passphrases) go to /dev/tty, never stdout.
            """)

    @OptionGroup var options: CredentialOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let (session, _) = try CredentialService(world: world).obtain(options.request)
        world.standardOutput(CredentialOutput.processJSON(session))
    }
}
