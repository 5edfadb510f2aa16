import LatchkeyCore
import ArgumentParser
import SealedStore
import STS

import FoundationEssentials

/// `latchkey mfa list`: the user's MFA devices, and whether latchkey can
/// make each one's codes.
struct MFAList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the IAM user's MFA devices and whether latchkey can make their codes.",
        discussion: """
            For each device (ListMFADevices for the user the profile's keys belong to),
            latchkey looks for an account named by the device ARN (or the profile's
            latchkey_oath_account, or the AWS console's `Amazon Web
            Services:USER@ACCOUNT`) in the sealed vault, on the YubiKey and among the TPM
            accounts (their list only: the TPM itself is not opened). Each answer
            is yes, no, or unknown with the reason (no key plugged in, pcscd not
            running, no vault passphrase…); `codes` names the token that makes the device's
            codes (yubikey, sealed, tpm, several, or none). Without mfa_serial, a profile whose user
            has several devices uses the one whose account is on the chosen token.

            Examples:
              latchkey mfa list --profile dev
              latchkey mfa list --json
            """)

    @Option(help: ArgumentHelp("The AWS profile (default: AWS_PROFILE, else `default`).", valueName: "name"))
    var profile: String?

    @Flag(help: "Print JSON: {\"user\": ARN, \"devices\": [{\"serial\", \"enabled\", \"sealed\", \"yubikey\", \"tpm\", \"codes\"}]}.")
    var json = false

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let keys = try CredentialService(world: world).longTermKeys(profile: profile, passphraseFile: passphrase.passphraseFile)
        let (identity, userName) = try keys.caller()
        let devices = try keys.call("ListMFADevices") { (iam) throws(STSClientError) in try iam.allMFADevices(userName: userName) }
        let oathAccount = keys.setup.config.profile(named: keys.profile)?.nonEmpty("latchkey_oath_account")
        let places = CodePlaces(world: world, key: key, passphraseFile: passphrase.passphraseFile)
        let rows = devices.map { device in
            let names = AWSAccountNames.candidates(account: nil, serial: device.serialNumber) + (oathAccount.map { [$0] } ?? [])
            let sealed = places.sealed(names)
            let yubikey = places.yubikey(names)
            let tpm = places.tpm(names)
            // Which tokens make this device's codes (more than one: the same seed twice).
            let makers = [("yubikey", yubikey), ("sealed", sealed), ("tpm", tpm)].filter { $0.1 == "yes" }.map(\.0)
            return (
                serial: device.serialNumber, enabled: device.enableDate.map(AWSTimestamp.iso8601) ?? "",
                sealed: sealed, yubikey: yubikey, tpm: tpm, codes: makers.isEmpty ? "none" : makers.joined(separator: ","))
        }
        if json {
            let items = rows.map { row in
                "{" + [("serial", row.serial), ("enabled", row.enabled), ("sealed", row.sealed), ("yubikey", row.yubikey), ("tpm", row.tpm), ("codes", row.codes)]
                    .map { "\"\($0.0)\":\"\(CredentialOutput.jsonEscaped($0.1))\"" }.joined(separator: ",") + "}"
            }
            world.standardOutput("{\"user\":\"\(CredentialOutput.jsonEscaped(identity.arn))\",\"devices\":[\(items.joined(separator: ","))]}\n")
            return
        }
        guard !rows.isEmpty else {
            world.standardError("\(identity.arn) has no MFA device (add one with `latchkey mfa enroll`)\n")
            return
        }
        for row in rows {
            world.standardOutput("\(row.serial)  enabled \(row.enabled.isEmpty ? "?" : row.enabled)  sealed: \(row.sealed)  yubikey: \(row.yubikey)  tpm: \(row.tpm)  codes: \(row.codes)\n")
        }
    }
}

/// Where latchkey looks for a device's account: each token listed once.
final class CodePlaces {
    let world: World
    let key: KeyOptions
    let passphrase: PassphraseOptions
    private var listed: [TokenKind: Result<[String], LatchkeyError>] = [:]

    init(world: World, key: KeyOptions, passphraseFile: String?) {
        self.world = world
        self.key = key
        var passphrase = PassphraseOptions()
        passphrase.passphraseFile = passphraseFile
        self.passphrase = passphrase
    }

    func sealed(_ names: [String]) -> String {
        answer(.sealed, names) { "unknown (\($0.message))" }
    }

    func tpm(_ names: [String]) -> String {
        answer(.tpm, names) { "unknown (\($0.message))" }
    }

    func yubikey(_ names: [String]) -> String {
        answer(.yubikey, names) { error in
            error.category == .noKey || error.category == .smartCard ? "unknown (no key)" : "unknown (\(error.message))"
        }
    }

    /// Whether one of `names` is a TOTP account on the token; a vault that
    /// does not exist has none (no passphrase is asked for).
    private func answer(_ kind: TokenKind, _ names: [String], unknown: (LatchkeyError) -> String) -> String {
        if listed[kind] == nil {
            listed[kind] = Result {
                let token = try TokenChoice(kind: kind, key: key, passphrase: passphrase).source(world)
                if let sealed = token as? SealedTokens, !sealed.vault.exists { return [] }
                return try token.list().accounts.filter { $0.type == "totp" }.map(\.id)
            }.mapError { LatchkeyError(mapping: $0) ?? LatchkeyError(.failure, "\($0)") }
        }
        switch listed[kind] {
        case .success(let ids): return names.contains(where: ids.contains) ? "yes" : "no"
        case .failure(let error): return unknown(error)
        case nil: return "unknown"
        }
    }
}
