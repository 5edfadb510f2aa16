import ArgumentParser
import CredentialFlow
import LatchkeyCore

extension MFASource: EnumerableFlag {
    public static func help(for value: MFASource) -> ArgumentHelp? {
        switch value {
        case .yubikey: "Make the code on the YubiKey (the account named by latchkey_oath_account, else the mfa_serial ARN)."
        case .sealed: "Make the code from the sealed local vault."
        case .tpm: "Make the code with an HMAC key in this machine's TPM."
        case .prompt: "Ask for the code on the terminal."
        case .agent: "Get the credentials from the latchkey agent at LATCHKEY_AGENT_SOCK: its machine's profile of this name, made there."
        }
    }
}

/// Where the one MFA code comes from: a source flag or a typed code, and
/// what the key, the vault and the TPM need. Shared by the credentials
/// commands and `keys rotate`.
struct MFACodeOptions: ParsableArguments {
    @Flag var mfaSource: MFASource?

    @Option(
        name: .customLong(CredentialOption.mfaCode.name),
        help: ArgumentHelp("Use this MFA code (for scripts; each code works once).", valueName: "digits"))
    var mfaCode: String?

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var tpm: TPMOptions

    func validate() throws {
        if mfaCode != nil, let mfaSource {
            throw ValidationError("--mfa-code and --\(mfaSource.rawValue) are two sources for one code: choose one")
        }
    }

    /// `request` with these choices.
    func apply(to request: inout CredentialRequest) {
        request.mfaSource = mfaSource
        request.mfaCode = mfaCode
        request.key = key.settings
        request.passphraseFile = passphrase.passphraseFile
        request.tpm = tpm.settings
    }
}

/// The options every credentials command shares. Their names are
/// ``CredentialOption``'s, the table the warm `credential-process` path
/// reads the command line with.
struct CredentialOptions: ParsableArguments {
    @Option(
        name: .customLong(CredentialOption.profile.name),
        help: ArgumentHelp("The AWS profile (default: AWS_PROFILE, else `default`).", valueName: "name"))
    var profile: String?

    @OptionGroup var mfa: MFACodeOptions

    @Option(
        name: .customLong(CredentialOption.duration.name),
        help: ArgumentHelp(
            "Session length: seconds, or like 90m, 12h, 1h30m (default: duration_seconds, else 12 h for a session and 1 h for a role).",
            valueName: "duration"))
    var duration: String?

    @Flag(name: .customLong(CredentialOption.refresh.name), help: "Ignore cached sessions and make new ones.")
    var refresh = false

    func validate() throws {
        if let duration, DurationText.seconds(duration) == nil {
            throw ValidationError("--duration must be seconds or like 90m, 12h, 1h30m")
        }
    }

    var request: CredentialRequest {
        var request = CredentialRequest()
        request.profile = profile
        mfa.apply(to: &request)
        request.durationSeconds = duration.flatMap(DurationText.seconds)
        request.refresh = refresh
        return request
    }
}
