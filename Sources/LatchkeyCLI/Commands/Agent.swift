import ArgumentParser
import LatchkeyCore
import SystemSupport

/// `latchkey agent`: serves this machine's key (and vault) to dev boxes
/// through a socket forwarded over SSH.
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve this machine's key to other machines through a forwarded socket.",
        discussion: """
            Runs in the foreground until SIGTERM or Ctrl-C (a terminal or a systemd user
            service runs it), one request at a time, each logged on stderr. A dev box asks
            for a profile's credentials (`credential-process --agent --profile P`): the
            whole flow runs here, with this machine's key, vault, cache and config, and only
            the session (key id, secret, token, expiration) goes back. Long-term keys and
            seeds never cross the socket. Only profiles named by --allow, or with
            `latchkey_forward = true` in this machine's ~/.aws/config, are served;
            anything else is refused before any touch.

            The socket is $XDG_RUNTIME_DIR/latchkey/agent.sock (else
            /tmp/latchkey-UID/agent.sock), 0600 in a 0700 directory; a stale socket is
            replaced, a live agent's is not. Only this user's processes are answered
            (SO_PEERCRED). Forward it with
              ssh -R /run/user/UID/latchkey/agent.sock:/run/user/UID/latchkey/agent.sock devbox
            and on the dev box set LATCHKEY_AGENT_SOCK to that path.

            Examples:
              latchkey agent --allow admin
              latchkey agent --allow admin --allow-code arn:aws:iam::123456789012:mfa/alice
              latchkey agent --allow admin --sealed --unlock-for 8h --confirm
            """)

    @Option(help: ArgumentHelp("Listen here instead of the default path.", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Serve this profile's credentials (repeatable).", valueName: "profile"))
    var allow: [String] = []

    @Option(name: .customLong("allow-code"), help: ArgumentHelp("Serve codes for this MFA device (repeatable).", valueName: "serial-arn"))
    var allowCode: [String] = []

    @Option(
        name: .customLong("unlock-for"),
        help: ArgumentHelp("Keep the vault unlocked this long after its first unlock (like 30m, 8h).", valueName: "duration"))
    var unlockFor: String?

    @Flag(help: "Ask on this terminal before each request is served.")
    var confirm = false

    @Option(
        name: .customLong("confirm-timeout"),
        help: ArgumentHelp("With --confirm: refuse a request not answered within this (default 60s; others wait meanwhile).", valueName: "duration"))
    var confirmTimeout: String?

    @Flag(help: "The token for codes and for profiles without latchkey_mfa (default: --yubikey).")
    var token: TokenKind?

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if let unlockFor, DurationText.seconds(unlockFor) == nil {
            throw ValidationError("--unlock-for must be seconds or like 90m, 12h, 1h30m")
        }
        if let confirmTimeout {
            guard confirm else { throw ValidationError("--confirm-timeout applies to --confirm") }
            guard let seconds = DurationText.seconds(confirmTimeout), seconds >= 1 else {
                throw ValidationError("--confirm-timeout must be seconds or like 90s, 5m")
            }
        }
        if token == .agent { throw ValidationError("an agent cannot take its codes from another agent") }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        ProcessHardening.protectSecrets()
        var settings = AgentSettings()
        settings.allowedProfiles = Set(allow)
        settings.allowedSerials = Set(allowCode)
        settings.unlockForSeconds = unlockFor.flatMap(DurationText.seconds)
        settings.confirm = confirm
        if let seconds = confirmTimeout.flatMap(DurationText.seconds) { settings.confirmSeconds = seconds }
        settings.token = token ?? .yubikey
        settings.key = key.settings
        settings.passphraseFile = passphrase.passphraseFile
        let service = try AgentService(world: world, settings: settings)
        let path = socket ?? AgentSocket.defaultPath(in: world.environment)
        try AgentServer(service: service, socketPath: path).run()
    }
}
