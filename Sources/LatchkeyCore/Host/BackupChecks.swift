import AWSConfig
import YubiKey

/// Whether each profile's MFA account is on more than one of the keys
/// attached, so that losing a key is not a lockout.
///
/// A profile counts when `latchkey_mfa = yubikey`, or when its account (the
/// names `auth` looks for: `latchkey_oath_account`, else the `mfa_serial`
/// ARN or the console's QR-code names) is on an attached key. Only keys
/// pcscd serves are looked at, and only applets without an OATH password
/// (a LIST needs neither a touch nor the password; with a password it would
/// need the password, so such a key is "not checked"). Accounts in the
/// sealed vault or the TPM are not counted: the vault's file is backed up as
/// a file, and a TPM's key cannot leave its TPM.
public struct BackupChecks {
    public var config: Result<SharedConfig, SharedConfigError>
    public var pcsc: PCSCFindings

    public init(config: Result<SharedConfig, SharedConfigError>, pcsc: PCSCFindings) {
        self.config = config
        self.pcsc = pcsc
    }

    static let name = "mfa-backup"
    static let title = "MFA accounts on more than one key"

    public func keys() -> DoctorCheck {
        guard case .success(let loaded) = config else {
            return .skip(Self.name, Self.title, because: "the AWS config cannot be read (see the profiles check)")
        }
        let listed = pcsc.reports.compactMap { report in
            (try? report.accounts?.get()).map { (reader: report.reader, accounts: Set($0)) }
        }
        let unlisted = pcsc.reports.filter { report in
            (try? report.applet.get()) != nil && (try? report.accounts?.get()) == nil
        }.map(\.reader)
        var fine: [String] = []
        var single: [String] = []
        var unknown: [String] = []
        var absent: [String] = []
        for name in loaded.profileNames {
            guard let profile = loaded.profile(named: name), let serial = profile.nonEmpty("mfa_serial") else { continue }
            let names = AWSAccountNames.candidates(account: profile.nonEmpty("latchkey_oath_account"), serial: serial)
            let holders = listed.filter { !$0.accounts.isDisjoint(with: names) }.map(\.reader)
            let onKey = profile.nonEmpty("latchkey_mfa")?.lowercased() == MFASource.yubikey.rawValue
            guard onKey || !holders.isEmpty else { continue }
            let readers = holders.joined(separator: ", ")
            if holders.count >= 2 {
                fine.append("\(name): on \(readers)")
            } else if !unlisted.isEmpty {
                unknown.append("\(name)" + (holders.isEmpty ? "" : ": on \(readers)"))
            } else if holders.count == 1 {
                single.append("\(name): only on \(readers)")
            } else {
                absent.append("\(name): on none of the keys attached")
            }
        }
        let passwords = "OATH password on \(unlisted.joined(separator: ", ")), whose accounts are not listed without it"
        if !single.isEmpty {
            return .warn(
                Self.name, Self.title, (single + fine + absent).joined(separator: "; ") + (unknown.isEmpty ? "" : "; not checked for \(unknown.joined(separator: ", ")) (\(passwords))"),
                fix: "with both keys attached, enrol a device on both: `latchkey mfa enroll --profile PROFILE --yubikey --reader MAIN --also-reader BACKUP` (IAM allows 8 devices per user); a backup key kept elsewhere is checked when attached")
        }
        if !unknown.isEmpty {
            return .skip(Self.name, Self.title, because: "\(passwords): \(unknown.joined(separator: "; "))")
        }
        if !fine.isEmpty {
            return .ok(Self.name, Self.title, (fine + absent).joined(separator: "; "))
        }
        if listed.isEmpty && !absent.isEmpty {
            return .skip(Self.name, Self.title, because: "no key with an OATH applet without a password is attached through pcscd")
        }
        if !absent.isEmpty {
            return .skip(Self.name, Self.title, because: absent.joined(separator: "; "))
        }
        return .skip(Self.name, Self.title, because: "no profile has latchkey_mfa = yubikey or its account on a key attached")
    }
}
