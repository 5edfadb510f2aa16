import ArgumentParser

/// Where an MFA code comes from for one call. Without a flag, the profile's
/// `latchkey_mfa` decides, and without that, a prompt on /dev/tty.
enum MFASource: String, EnumerableFlag {
    case yubikey
    case sealed
    case prompt

    static func help(for value: MFASource) -> ArgumentHelp? {
        switch value {
        case .yubikey: "Make the code on the YubiKey (the account named by latchkey_oath_account, else the mfa_serial ARN)."
        case .sealed: "Make the code from the sealed local vault."
        case .prompt: "Ask for the code on the terminal."
        }
    }
}

/// The options every credentials command shares.
struct CredentialOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The AWS profile (default: AWS_PROFILE, else `default`).", valueName: "name"))
    var profile: String?

    @Flag var mfaSource: MFASource?

    @Option(
        name: .customLong("mfa-code"),
        help: ArgumentHelp("Use this MFA code (for scripts; each code works once).", valueName: "digits"))
    var mfaCode: String?

    @Option(
        help: ArgumentHelp(
            "Session length: seconds, or like 90m, 12h, 1h30m (default: duration_seconds, else 12 h for a session and 1 h for a role).",
            valueName: "duration"))
    var duration: String?

    @Flag(help: "Ignore cached sessions and make new ones.")
    var refresh = false

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if mfaCode != nil, mfaSource != nil {
            throw ValidationError("--mfa-code and --\(mfaSource!.rawValue) are two sources for one code: choose one")
        }
        if let duration, Self.seconds(duration) == nil {
            throw ValidationError("--duration must be seconds or like 90m, 12h, 1h30m")
        }
    }

    var durationSeconds: Int? { duration.flatMap(Self.seconds) }

    /// `3600`, `3600s`, `90m`, `12h`, `1h30m` → seconds.
    static func seconds(_ text: String) -> Int? {
        if let plain = Int(text), plain > 0 { return plain }
        var total = 0
        var number = ""
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number), value >= 0 else { return nil }
            switch character {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: return nil
            }
            number = ""
        }
        guard number.isEmpty, total > 0 else { return nil }
        return total
    }
}
