import LatchkeyCore
import ArgumentParser
import CBuildInfo
import SystemSupport

/// The root command.
public struct Latchkey: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "Short-lived AWS credentials from a touch of a hardware key or a sealed local TOTP secret.",
        discussion: Latchkey.discussion,
        version: Latchkey.version,
        subcommands: [
            Auth.self, CredentialProcess.self, Exec.self, Serve.self, Console.self, Whoami.self, Logout.self, Code.self, Accounts.self, Devices.self, Doctor.self, KeyCommand.self, Keys.self, Profiles.self, Setup.self, VaultCommand.self, Policy.self, MFA.self, Agent.self]
    )

    public init() {}

    /// The top-level help: the main job first (a touch of the key into
    /// credentials for a shell, for every AWS tool through
    /// `credential_process`, for one command), then the uses on a box with no
    /// key plugged in. A headless line for an MFA source is shown only when
    /// this build has that source, so the text stays true for every build.
    static let discussion: String = {
        var headless = [
            example("latchkey auth --profile work --sealed", "a TOTP secret sealed under a passphrase on this box")
        ]
        if MFASource(rawValue: "tpm") != nil {
            headless.append(example("latchkey auth --profile work --tpm", "a TOTP secret sealed to this box's TPM"))
        }
        if MFASource(rawValue: "agent") != nil {
            headless.append(example("latchkey auth --profile work --agent", "the laptop's key, reached over SSH"))
        }
        return """
            Secrets are read from stdin, a file or the terminal, never from the command line.

            Examples (a touch of the YubiKey into short-lived AWS credentials):
            \(example("eval \"$(latchkey auth --profile work --yubikey)\"", "this shell gets AWS_* variables"))
            \(example("credential_process = latchkey credential-process --profile admin", "in ~/.aws/config, for every AWS tool"))
            \(example("latchkey exec --profile admin -- terraform plan", "one command gets them"))

            With no key plugged in (headless boxes):
            \(headless.joined(separator: "\n"))

            First steps:
            \(example("latchkey mfa enroll --profile work --yubikey", "a new MFA device in AWS, its seed straight onto the key"))
            \(example("latchkey doctor", "pcscd, the key, the device rules, the clock and the profiles"))

            Exit codes:
            \(ExitStatus.helpTable)
            """
    }()

    /// One example line: the command, then what it does after `#`.
    private static func example(_ command: String, _ what: String) -> String {
        "  \(command)\n      # \(what)"
    }

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
