import LatchkeyCore
import ArgumentParser
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `latchkey exec -- CMD ARGS…`: runs CMD with the session in its environment.
struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command with the profile's short-lived credentials in its environment.",
        discussion: """
            Sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
            AWS_CREDENTIAL_EXPIRATION and, when the profile has a region, AWS_REGION and
            AWS_DEFAULT_REGION; removes AWS_PROFILE and AWS_DEFAULT_PROFILE (so the command
            uses these credentials, not the profile). latchkey replaces itself with the
            command, so its exit status is the command's (127 when it cannot be run).

            With --server, latchkey instead serves the credentials on 127.0.0.1 and
            runs the command with AWS_CONTAINER_CREDENTIALS_FULL_URI and
            AWS_CONTAINER_AUTHORIZATION_TOKEN (and no static keys), so the SDKs fetch
            fresh credentials whenever they need them: a command that runs for hours
            keeps working (one touch per refresh, whatever the number of requests).
            latchkey stays until the command exits and then exits with its status.

            Examples:
              latchkey exec --profile work --yubikey -- aws s3 ls
              latchkey exec --sealed -- terraform plan
              latchkey exec --profile work --server -- terraform apply
            """)

    @OptionGroup var options: CredentialOptions

    @Flag(help: "Serve the credentials to the command on 127.0.0.1 (the container credential provider) instead of setting keys.")
    var server = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("name the command to run after --, e.g. latchkey exec -- aws s3 ls") }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        if server { return try runWithServer(world) }
        let (session, setup) = try CredentialService(world: world).obtain(options.request)
        // This process becomes the command, so its own environment is the
        // command's: change it in place, then exec. latchkey's own secrets
        // (passphrase, OATH password) never reach the command.
        let secrets = world.environment.variables.keys.filter(Environment.isLatchkeySecret)
        for name in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION"] + secrets {
            unsetenv(name)
        }
        setenv("AWS_ACCESS_KEY_ID", session.credentials.accessKeyID, 1)
        setenv("AWS_SECRET_ACCESS_KEY", session.credentials.secretAccessKey, 1)
        if let token = session.credentials.sessionToken { setenv("AWS_SESSION_TOKEN", token, 1) }
        if session.expiration != Int64.max { setenv("AWS_CREDENTIAL_EXPIRATION", session.expirationText, 1) }
        if let region = setup.plan.region {
            setenv("AWS_REGION", region, 1)
            setenv("AWS_DEFAULT_REGION", region, 1)
        }
        let argv = command.map { strdup($0) } + [nil]
        // The command gets the core-size limit latchkey started with (this
        // process keeps a limit of 0 while it holds the credentials).
        ProcessHardening.withInheritedCoreLimit { _ = execvp(command[0], argv) }
        let failure = Errno.current
        throw LatchkeyError(.commandNotRun, "cannot run \(command[0]): \(failure)")
    }
}

extension Exec {
    /// `exec --server`: the session first (any prompt or touch before the
    /// command owns the terminal), then the server, then the command,
    /// waited for.
    func runWithServer(_ world: World) throws {
        let request = options.request
        let server = try CredentialServer(world: world, request: request)
        let (session, setup) = try CredentialService(world: world).obtain(request)
        try server.start(serving: session)
        defer { server.stop() }
        let environment = server.environment(for: world.environment, region: setup.plan.region)
        let outcome: Subprocess.Outcome
        do {
            outcome = try Subprocess(command[0], Array(command.dropFirst()), environment: environment).runAttached()
        } catch {
            throw LatchkeyError(.commandNotRun, "cannot run \(command[0]): \(error.errno)")
        }
        if outcome.shellStatus != 0 { throw ExitCode(outcome.shellStatus) }
    }
}
