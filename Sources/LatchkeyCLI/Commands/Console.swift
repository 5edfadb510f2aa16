import ArgumentParser
import LatchkeyCore

/// `latchkey console --profile P`: the AWS console in the browser, signed
/// in with the profile's role session.
struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign in to the AWS console in the browser with the profile's role session.",
        discussion: """
            Exchanges the role session for a sign-in token at AWS's federation endpoint and
            opens the sign-in URL with xdg-open (--url prints it instead). The URL signs in
            whoever has it for about 15 minutes: latchkey never logs it. --duration sets how
            long the console session lasts (15m to 12h; AWS's default is 12h). Only role
            sessions can sign in (a role profile with mfa_serial gives one with your key's
            touch); a profile made by GetSessionToken is refused. The endpoint is the
            partition's, or AWS_ENDPOINT_URL_SIGNIN.

            Examples:
              latchkey console --profile admin
              latchkey console --profile admin --destination /s3/home --duration 1h
              latchkey console --profile admin --url | wl-copy
            """)

    @OptionGroup var options: CredentialOptions

    @Flag(help: "Print the sign-in URL instead of opening it.")
    var url = false

    @Option(help: ArgumentHelp("The console page to open: a path (/s3/home) or an https:// URL.", valueName: "path"))
    var destination: String?

    func validate() throws {
        if let text = options.duration {
            guard let seconds = DurationText.seconds(text), ConsoleSignIn.durationRange.contains(seconds) else {
                throw ValidationError("--duration must be from 15m to 12h for a console session")
            }
        }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        var request = options.request
        // --duration is the console session's, not the role session's.
        let consoleSeconds = request.durationSeconds
        request.durationSeconds = nil
        let service = CredentialService(world: world)
        try ConsoleSignIn.check(try service.setup(profile: request.profile, durationSeconds: nil).plan)
        let (session, setup) = try service.obtain(request)
        let signIn = ConsoleSignIn(world: world)
        let link = try signIn.url(for: session, plan: setup.plan, destination: destination, durationSeconds: consoleSeconds)
        if url {
            world.standardOutput(link + "\n")
        } else {
            try signIn.open(link)
        }
    }
}
