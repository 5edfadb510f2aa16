import LatchkeyCore
import ArgumentParser
import OATH
import SealedStore
import SystemSupport

/// `latchkey accounts add NAME --sealed`: seals a new account from stdin.
struct AccountsAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add an account; its secret is read from stdin.",
        discussion: """
            Stdin holds either an otpauth:// URI or a base32 secret (any case, spaces and
            padding allowed). Secrets are never taken from the command line. On a terminal
            the secret is asked for with echo off. A URI's parameters fill in what the flags
            leave out; NAME is always the account name. The id is [period/][issuer:]NAME,
            as on a YubiKey (the period only when it is not 30).

            Examples:
              printf '%s' JBSWY3DPEHPK3PXP | latchkey accounts add alice --sealed --issuer AWS
              latchkey accounts add arn:aws:iam::123456789012:mfa/alice --yubikey --touch < seed.txt
              latchkey accounts add arn:aws:iam::123456789012:mfa/alice --sealed < seed.txt
              printf '%s' "$URI" | latchkey accounts add work --sealed --digits 8
              printf '%s' JBSWY3DPEHPK3PXP | latchkey accounts add door --sealed --hotp --counter 5
              latchkey accounts add arn:aws:iam::123456789012:mfa/alice --tpm --tpm-pin < seed.txt
            """)

    @Argument(help: "Account name (may contain colons, e.g. an MFA device ARN).")
    var name: String

    @Option(help: "Issuer, shown before the name in the id.")
    var issuer: String?

    @Option(help: "HMAC algorithm: SHA1, SHA256 or SHA512.")
    var algorithm: String?

    @Option(help: "Code length: 6, 7 or 8.")
    var digits: Int?

    @Option(help: "TOTP period in seconds (default 30).")
    var period: Int?

    @Flag(help: "Counter-based (HOTP) instead of time-based.")
    var hotp = false

    @Option(help: "HOTP counter to start from (default 0).")
    var counter: UInt64?

    @Flag(help: "Replace an existing account with the same id.")
    var force = false

    @Flag(help: "On a YubiKey: require a touch for every code.")
    var touch = false

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var tpm: TPMOptions

    @OptionGroup var newVault: NewVaultOptions

    func validate() throws {
        if let algorithm, OATHAlgorithm(name: algorithm) == nil {
            throw ValidationError("--algorithm must be SHA1, SHA256 or SHA512")
        }
        if let digits, !OTP.validDigits.contains(digits) { throw ValidationError("--digits must be 6, 7 or 8") }
        if hotp, period != nil { throw ValidationError("--period applies to TOTP accounts, not --hotp") }
        if counter != nil, !hotp { throw ValidationError("--counter needs --hotp") }
        if touch, !source.isYubiKey { throw ValidationError("--touch applies to --yubikey accounts") }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        var credential = try readCredential(world)
        defer { credential.secret.wipe() }
        try credential.validate()
        let id = credential.id.description

        let token = try source.token(key: key, passphrase: passphrase, newVault: newVault.parameters, tpm: tpm).source(world)
        let place = try token.add(credential, options: AddOptions(replace: force, requireTouch: touch))
        world.standardError("Added '\(id)'\(touch ? " (touch required)" : "") to \(place)\n")
    }

    /// The account from stdin (URI or base32) with the flags applied over it.
    private func readCredential(_ world: World) throws -> OATHCredential {
        var input = try readSecretInput(world)
        defer { input.wipe() }
        guard let text = String(validating: input, as: UTF8.self) else {
            throw LatchkeyError(.invalidInput, "the secret on stdin is not text")
        }
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else {
            throw LatchkeyError(.invalidInput, "no secret on stdin: pipe in a base32 secret or an otpauth:// URI")
        }

        var credential: OATHCredential
        if OTPAuthURI.isURI(trimmed) {
            credential = try OTPAuthURI.parse(String(trimmed))
            credential.name = name
        } else {
            credential = OATHCredential(name: name, secret: try Base32.decode(trimmed))
        }
        if let issuer { credential.issuer = issuer }
        if let algorithm, let parsed = OATHAlgorithm(name: algorithm) { credential.algorithm = parsed }
        if let digits { credential.digits = digits }
        if hotp {
            var start: UInt64 = 0
            if case .hotp(let uriCounter) = credential.kind { start = uriCounter }
            credential.kind = .hotp(counter: counter ?? start)
        } else if let period {
            guard credential.kind.isTOTP else { throw LatchkeyError(.invalidInput, "--period applies to TOTP accounts, and this URI is HOTP") }
            credential.kind = .totp(period: period)
        }
        return credential
    }

    private func readSecretInput(_ world: World) throws -> [UInt8] {
        if world.output.inputIsTerminal {
            guard let line = try world.prompter.ask("Base32 secret or otpauth:// URI for '\(name)': ", secret: true)
            else { throw LatchkeyError(.invalidInput, "no secret was entered") }
            return line.bytes
        }
        return try world.output.readInput()
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
