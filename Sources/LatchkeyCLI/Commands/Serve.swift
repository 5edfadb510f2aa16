import ArgumentParser
import LatchkeyCore
import SystemSupport

/// `latchkey serve --profile P [--port N]`: the credential server of
/// `exec --server`, in the foreground.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the profile's credentials on 127.0.0.1 to the AWS SDKs (container credential provider).",
        discussion: """
            Prints the two variables a client needs, as shell exports, then serves until
            interrupted (Ctrl-C, SIGTERM). Any program with them in its environment (an
            IDE, a devcontainer on the host network, another shell) gets the profile's
            credentials from latchkey, refreshed when fewer than 15 minutes remain. The
            token is a credential: give it only to programs that may act as the profile.

            Examples:
              latchkey serve --profile work --yubikey
              latchkey serve --profile work --port 9911
            """)

    @OptionGroup var options: CredentialOptions

    @Option(help: ArgumentHelp("Listen on this port of 127.0.0.1 (default: a free one).", valueName: "port"))
    var port: UInt16 = 0

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let request = options.request
        let server = try CredentialServer(world: world, request: request, port: port)
        let (session, _) = try CredentialService(world: world).obtain(request)
        try server.start(serving: session)
        defer { server.stop() }
        for (name, value) in server.clientVariables { world.standardOutput("export \(name)=\(value)\n") }
        world.standardError("Serving the credentials on \(server.url) until interrupted (Ctrl-C).\n")
        do { _ = try Subprocess.awaitTerminationSignal() } catch { throw LatchkeyError(.failure, "\(error)") }
    }
}
