import SealedStore
import SystemSupport

/// What a command needs from the world, gathered once in `run()` so that
/// `run(_:)` can be driven by a test with its own environment and clock.
struct CommandContext {
    var environment: Environment
    /// Seconds since the Unix epoch.
    var now: () -> UInt64
    var standardOutput: (String) -> Void
    var standardError: (String) -> Void
    var readStandardInput: () throws -> [UInt8]
    /// Whether standard input is a terminal (then secrets are prompted for).
    var inputIsTerminal: Bool

    static var live: CommandContext {
        CommandContext(
            environment: .process,
            now: currentUnixTime,
            standardOutput: StandardStream.out,
            standardError: StandardStream.error,
            readStandardInput: { try StandardStream.readInput() },
            inputIsTerminal: Terminal.isTTY(0))
    }

    func vaultLocation() throws -> VaultLocation {
        guard let location = VaultLocation.standard(in: environment) else {
            throw CLIError(.failure, "cannot find the home directory: set HOME or XDG_DATA_HOME")
        }
        return location
    }
}
