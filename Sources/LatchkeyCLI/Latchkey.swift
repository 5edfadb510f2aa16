import LatchkeyCore
import ArgumentParser
import CBuildInfo
import SystemSupport

/// The root command.
public struct Latchkey: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "Short-lived AWS credentials from a touch of a hardware key or a sealed local TOTP secret.",
        discussion: """
            Secrets are read from stdin, a file or the terminal, never from the command line.

            Examples:
              printf '%s' 'otpauth://totp/AWS:alice?secret=JBSWY3DPEHPK3PXP' | latchkey accounts add alice --sealed
              latchkey code alice --sealed
              latchkey accounts list --sealed --json

            Exit codes:
            \(ExitStatus.helpTable)
            """,
        version: Latchkey.version,
        subcommands: [
            Auth.self, CredentialProcess.self, Exec.self, Serve.self, Console.self, Whoami.self, Logout.self, Code.self, Accounts.self, Devices.self, Doctor.self, KeyCommand.self, Keys.self, Profiles.self, Setup.self, VaultCommand.self, Policy.self, MFA.self, Agent.self]
    )

    public init() {}

    /// `latchkey 0.4.0 (git 56cf85f1a2b3)`: the package version and the
    /// revision it was built from.
    static let version = "latchkey \(String(cString: latchkey_build_version())) (git \(String(cString: latchkey_build_revision())))"

    /// Parses the command line, runs the command, and exits with its status.
    /// Errors are printed as one line on stderr: `latchkey: <what failed>`.
    public static func runAndExit(arguments: [String]? = nil) -> Never {
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)  // usage errors, --help, --version
        }
        do {
            try command.run()
            exit(withError: nil)
        } catch where isArgumentParserError(error) {
            // Help for a command group, a ValidationError thrown from run(),
            // an ExitCode: swift-argument-parser prints and exits as usual.
            exit(withError: error)
        } catch {
            exitReporting(error)
        }
    }

    /// Every failure that is not the argument parser's is one line: latchkey's
    /// own errors with their exit codes, anything unforeseen as a general
    /// failure.
    static func exitReporting(_ error: any Error) -> Never {
        let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "unexpected error: \(error)")
        StandardStream.error("latchkey: \(failure.message)\n")
        exitProcess(ExitStatus(failure.category).rawValue)
    }
}

/// Whether `error` belongs to swift-argument-parser (its help request for a
/// command group is an internal type, so it is recognised by module).
private func isArgumentParserError(_ error: any Error) -> Bool {
    error is ValidationError || error is ExitCode || error is CleanExit
        || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
}

#if canImport(Glibc)
import Glibc
private func exitProcess(_ code: Int32) -> Never { Glibc.exit(code) }
#elseif canImport(Musl)
import Musl
private func exitProcess(_ code: Int32) -> Never { Musl.exit(code) }
#endif
