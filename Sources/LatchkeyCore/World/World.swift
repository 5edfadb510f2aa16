import FoundationEssentials
import SealedStore
import SessionCache
import STS
import SystemSupport

/// Every way latchkey reaches outside itself, in one value: the process
/// environment, the clock, the person (prompts), HTTP, the key, and the
/// standard streams. `main` builds ``live`` once; a test builds its own, so
/// no code below the CLI reads the environment, the terminal or the wall
/// clock directly.
public struct World {
    public var environment: Environment
    /// The one clock: TOTP steps, SigV4 dates, cache expiry, waits.
    public var clock: any RequestClock
    /// The person at the terminal, if any.
    public var prompter: any Prompter
    /// How STS and IAM requests are sent.
    public var http: any HTTPTransport
    /// How the YubiKey is found and opened.
    public var keys: any KeyConnector
    public var output: OutputStreams
    /// What a touch is for, shown with the touch prompt ("for admin, asked
    /// by devbox-3"); set by the agent for each request.
    public var touchReason: String?

    public init(
        environment: Environment, clock: any RequestClock, prompter: any Prompter, http: any HTTPTransport,
        keys: any KeyConnector, output: OutputStreams
    ) {
        self.environment = environment
        self.clock = clock
        self.prompter = prompter
        self.http = http
        self.keys = keys
        self.output = output
    }

    /// The process's own world: its environment, the system clock, the
    /// controlling terminal, libcurl, pcscd or USB, and fds 0–2.
    public static var live: World {
        World(
            environment: .process, clock: SystemClock(), prompter: TerminalPrompter(), http: CurlTransport(userAgent: "latchkey"),
            keys: LiveKeyConnector(), output: .standard)
    }

    /// Seconds since the Unix epoch, from ``clock``.
    public var unixTime: UInt64 { clock.unixTime }

    /// This machine's name, as a client tells it to an agent.
    public var hostName: String { environment.nonEmpty("LATCHKEY_HOST_NAME") ?? currentHostName() }

    public func standardOutput(_ text: String) { output.write(text) }
    public func standardError(_ text: String) { output.writeError(text) }

    /// Where the sealed vault lives (`$XDG_DATA_HOME/latchkey`).
    public func vaultLocation() throws -> VaultLocation {
        guard let location = VaultLocation.standard(in: environment) else {
            throw LatchkeyError(.failure, "cannot find the home directory: set HOME or XDG_DATA_HOME")
        }
        return location
    }

    /// The session cache (`$XDG_CACHE_HOME/latchkey`).
    public func sessionCache() throws -> SessionCache {
        guard let cache = SessionCache.standard(in: environment) else {
            throw LatchkeyError(.failure, "cannot find the home directory: set HOME or XDG_CACHE_HOME")
        }
        return cache
    }
}

/// Standard output, standard error and standard input.
public struct OutputStreams {
    public var write: (String) -> Void
    public var writeError: (String) -> Void
    public var readInput: () throws -> [UInt8]
    /// Whether standard input is a terminal (then secrets are asked for
    /// there, with echo off, instead of read from a pipe).
    public var inputIsTerminal: Bool

    public init(
        write: @escaping (String) -> Void, writeError: @escaping (String) -> Void, readInput: @escaping () throws -> [UInt8],
        inputIsTerminal: Bool
    ) {
        self.write = write
        self.writeError = writeError
        self.readInput = readInput
        self.inputIsTerminal = inputIsTerminal
    }

    public static var standard: OutputStreams {
        OutputStreams(
            write: StandardStream.out, writeError: StandardStream.error, readInput: { try StandardStream.readInput() },
            inputIsTerminal: Terminal.isTTY(0))
    }
}
