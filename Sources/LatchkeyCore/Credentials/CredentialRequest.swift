import CredentialFlow
import YubiKey

/// Where an MFA code comes from for one call. Without a choice, the
/// profile's `latchkey_mfa` decides, and without that, the person types it.
public enum MFASource: String, CaseIterable, Sendable {
    case yubikey
    case sealed
    case tpm
    case prompt
    /// A latchkey agent: as a flag, the credentials of the agent's profile
    /// (made on its machine); as a profile's `latchkey_mfa`, codes from it.
    case agent

    /// A profile's `latchkey_mfa` value.
    init(profile: String, setting: String) throws {
        guard let source = MFASource(rawValue: setting) else {
            let values = Self.allCases.map(\.rawValue)
            throw LatchkeyError(
                .invalidInput,
                "profile '\(profile)': latchkey_mfa must be \(values.dropLast().joined(separator: ", ")) or \(values.last!), not '\(setting)'")
        }
        self = source
    }
}

/// What a credentials command (`auth`, `credential-process`, `exec`,
/// `whoami`) asks for.
public struct CredentialRequest: Sendable, Equatable {
    /// The profile (nil: AWS_PROFILE, else `default`).
    public var profile: String?
    public var mfaSource: MFASource?
    /// A code given with `--mfa-code`.
    public var mfaCode: String?
    public var durationSeconds: Int?
    /// Ignore cached sessions.
    public var refresh = false
    public var key = KeySettings()
    public var passphraseFile: String?
    public var tpm = TPMSettings()
    /// The source for a profile that sets no `latchkey_mfa` (the agent's
    /// token); `nil`: such codes are typed.
    public var fallbackMFASource: MFASource?

    /// Whether the credentials come from a latchkey agent (`--agent`).
    public var fromAgent: Bool { mfaSource == .agent }

    public init() {}
}

extension CredentialOption {
    /// Sets this option in `request`; `false` when `value` is not valid for it.
    func apply(_ value: String?, to request: inout CredentialRequest) -> Bool {
        switch self {
        case .profile: request.profile = value
        case .yubikey, .sealed, .tpm, .prompt, .agent:
            // One source: two are the full parser's error to report.
            guard request.mfaSource == nil, let source = MFASource(rawValue: name) else { return false }
            request.mfaSource = source
        case .mfaCode: request.mfaCode = value
        case .duration:
            guard let seconds = value.flatMap(DurationText.seconds) else { return false }
            request.durationSeconds = seconds
        case .refresh: request.refresh = true
        case .reader: request.key.reader = value
        case .transport:
            guard let transport = value.flatMap(KeyTransport.init(rawValue:)) else { return false }
            request.key.transport = transport
        case .oathPasswordFile: request.key.oathPasswordFile = value
        case .remember: request.key.remember = true
        case .passphraseFile: request.passphraseFile = value
        case .tpmPIN: request.tpm.askPIN = true
        case .tpmPINFile: request.tpm.pinFile = value
        }
        return true
    }

    /// The request `arguments` (what follows the subcommand) spell, when
    /// ``read(_:allowing:positionals:_:)`` reads every one and each value is
    /// valid. `nil` for anything else (help, a typo, a missing value, two
    /// code sources): the full parser then gives the answer.
    public static func parse(_ arguments: ArraySlice<String>) -> CredentialRequest? {
        parse(arguments, allowing: allCases, positionals: 0)?.request
    }

    /// As ``parse(_:)``, taking only the options in `allowed` and at most
    /// `positionals` arguments that are not options (returned in order).
    public static func parse(
        _ arguments: ArraySlice<String>, allowing allowed: [CredentialOption], positionals: Int
    ) -> (request: CredentialRequest, positionals: [String])? {
        var request = CredentialRequest()
        guard let words = read(arguments, allowing: allowed, positionals: positionals, { $0.apply($1, to: &request) })
        else { return nil }
        // Two sources for one code is a usage error the full parser reports.
        if request.mfaCode != nil, request.mfaSource != nil { return nil }
        return (request, words)
    }
}

/// Durations as people write them.
public enum DurationText {
    /// `3600`, `3600s`, `90m`, `12h`, `1h30m` → seconds: digits only, units
    /// in the order h, m, s and each at most once, and no more than a week
    /// (STS allows 36 h at most), so nothing can overflow.
    public static func seconds(_ text: String) -> Int? {
        let longestDuration = 7 * 86_400
        let unitSeconds = [3600, 60, 1]
        let allUnits = Array("hms")
        var total = 0
        var number = ""
        var units = allUnits
        for character in text {
            if character.isASCII, character.isNumber {
                guard number.count < 9 else { return nil }
                number.append(character)
                continue
            }
            guard let value = Int(number), let unit = units.firstIndex(of: character),
                let scale = allUnits.firstIndex(of: character)
            else { return nil }
            total += value * unitSeconds[scale]
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
