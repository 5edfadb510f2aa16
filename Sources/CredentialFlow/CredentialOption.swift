/// The options of latchkey's credentials commands (`auth`,
/// `credential-process`, `exec`, `whoami`, and `code`'s share of them), in
/// one table with one reader. Three places read such command lines, and
/// all three use these:
/// - the CLI declares its options with these names;
/// - the CLI's short paths (`credential-process`, `code --yubikey`) read
///   their command line with it, through LatchkeyCore's `parse`, before
///   swift-argument-parser is touched;
/// - ``ProfileResolver`` reads a profile's `credential_process` that runs
///   `latchkey credential-process`, to plan it in this process.
///
/// A code source's name (`yubikey`, `sealed`, …) is also the value of a
/// profile's `latchkey_mfa` (LatchkeyCore's `MFASource`; a test holds the two
/// together).
public enum CredentialOption: CaseIterable, Sendable {
    case profile, yubikey, sealed, tpm, prompt, agent, mfaCode, duration, refresh
    case reader, transport, oathPasswordFile, remember, passphraseFile, tpmPIN, tpmPINFile

    /// The long name without its dashes.
    public var name: String {
        switch self {
        case .profile: "profile"
        case .yubikey: "yubikey"
        case .sealed: "sealed"
        case .tpm: "tpm"
        case .prompt: "prompt"
        case .agent: "agent"
        case .mfaCode: "mfa-code"
        case .duration: "duration"
        case .refresh: "refresh"
        case .reader: "reader"
        case .transport: "transport"
        case .oathPasswordFile: "oath-password-file"
        case .remember: "remember"
        case .passphraseFile: "passphrase-file"
        case .tpmPIN: "tpm-pin"
        case .tpmPINFile: "tpm-pin-file"
        }
    }

    public var takesValue: Bool {
        switch self {
        case .yubikey, .sealed, .tpm, .prompt, .agent, .refresh, .remember, .tpmPIN: false
        default: true
        }
    }

    /// The options `code` takes: where the account lives and how to reach
    /// the key or the vault.
    public static let codeOptions: [CredentialOption] = [
        .yubikey, .sealed, .tpm, .agent, .reader, .transport, .oathPasswordFile, .remember, .passphraseFile, .tpmPIN, .tpmPINFile,
    ]

    /// Reads `arguments` (what follows the subcommand) as options of
    /// `allowed`: `--name value`, `--name=value`, or a flag, each handed to
    /// `take` in order (`take` answers `false` for a value it refuses), and
    /// at most `positionals` words that are not options, returned in order.
    /// `nil` when any argument is not read so (help, a typo, a missing
    /// value, `-x`, `--`, a refused value): the full parser gives the
    /// answer to those.
    public static func read(
        _ arguments: ArraySlice<String>, allowing allowed: [CredentialOption], positionals: Int,
        _ take: (CredentialOption, String?) -> Bool
    ) -> [String]? {
        var words: [String] = []
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--") else {
                // "-x" and "--" are the full parser's to read.
                guard !argument.hasPrefix("-"), words.count < positionals else { return nil }
                words.append(argument)
                continue
            }
            var name = Substring(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = name[..<equals]
            }
            guard let option = allowed.first(where: { $0.name == name }) else { return nil }
            if option.takesValue {
                if value == nil { value = iterator.next() }
                guard value != nil else { return nil }
            } else if value != nil {
                return nil
            }
            guard take(option, value) else { return nil }
        }
        return words
    }
}
