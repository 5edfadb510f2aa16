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

    /// `3600`, `3600s`, `90m`, `12h`, `1h30m` → seconds: digits only, units
    /// in the order h, m, s and each at most once, and no more than
    /// ``longestDuration`` (STS allows 36 h at most), so nothing can overflow.
    static func seconds(_ text: String) -> Int? {
        let longestDuration = 7 * 86_400
        var total = 0
        var number = ""
        var units = Array("hms")
        for character in text {
            if character.isASCII, character.isNumber {
                guard number.count < 9 else { return nil }
                number.append(character)
                continue
            }
            guard let value = Int(number), let unit = units.firstIndex(of: character) else { return nil }
            total += value * [3600, 60, 1][Array("hms").firstIndex(of: character)!]
            units.removeFirst(unit + 1)
            number = ""
        }
        if !number.isEmpty {
            // A bare number is seconds; after a unit it lacks its own.
            guard total == 0, let value = Int(number) else { return nil }
            total = value
        }
        guard total > 0, total <= longestDuration else { return nil }
        return total
    }
}
