import ArgumentParser
import SealedStore
import STS

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
            Services:USER@ACCOUNT`) in the sealed vault and on the YubiKey. Each answer
            is yes, no, or unknown with the reason (no key plugged in, pcscd not
            running, no vault passphrase…).

            Examples:
              latchkey mfa list --profile dev
              latchkey mfa list --json
            """)

    @Option(help: ArgumentHelp("The AWS profile (default: AWS_PROFILE, else `default`).", valueName: "name"))
    var profile: String?

    @Flag(help: "Print JSON: {\"user\": ARN, \"devices\": [{\"serial\", \"enabled\", \"sealed\", \"yubikey\"}]}.")
    var json = false

    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let keys = try ProfileKeys(profile: profile, passphraseFile: passphrase.passphraseFile, context: context)
        let (identity, userName) = try keys.caller()
        let devices = try keys.call("ListMFADevices") { (iam) throws(STSClientError) in try iam.allMFADevices(userName: userName) }
        let oathAccount = keys.supply.config.profile(named: keys.profile)?.nonEmpty("latchkey_oath_account")
        let places = CodePlaces(context: context, key: key, passphraseFile: passphrase.passphraseFile)
        let rows = devices.map { device in
            let names = AWSAccountNames.candidates(account: nil, serial: device.serialNumber) + (oathAccount.map { [$0] } ?? [])
            return (
                serial: device.serialNumber, enabled: device.enableDate.map(AWSTimestamp.iso8601) ?? "",
                sealed: places.sealed(names), yubikey: places.yubikey(names))
        }
        if json {
            let items = rows.map { row in
                "{" + [("serial", row.serial), ("enabled", row.enabled), ("sealed", row.sealed), ("yubikey", row.yubikey)]
                    .map { "\"\($0.0)\":\"\(CredentialOutput.jsonEscaped($0.1))\"" }.joined(separator: ",") + "}"
            }
            context.standardOutput("{\"user\":\"\(CredentialOutput.jsonEscaped(identity.arn))\",\"devices\":[\(items.joined(separator: ","))]}\n")
            return
        }
        guard !rows.isEmpty else {
            context.standardError("\(identity.arn) has no MFA device (add one with `latchkey mfa enroll`)\n")
            return
        }
        for row in rows {
            context.standardOutput("\(row.serial)  enabled \(row.enabled.isEmpty ? "?" : row.enabled)  sealed: \(row.sealed)  yubikey: \(row.yubikey)\n")
        }
    }
}

/// Where latchkey looks for a device's account, each looked at once.
final class CodePlaces {
    let context: CommandContext
    let key: KeyOptions
    let passphraseFile: String?
    private var sealedIDs: Result<[String], CLIError>?
    private var keyIDs: Result<[String], CLIError>?

    init(context: CommandContext, key: KeyOptions, passphraseFile: String?) {
        self.context = context
        self.key = key
        self.passphraseFile = passphraseFile
    }

    func sealed(_ names: [String]) -> String {
        if sealedIDs == nil {
            sealedIDs = Self.attempt {
                guard let location = VaultLocation.standard(in: context.environment), try Vault.header(at: location) != nil else { return [] }
                let contents = try SharedVault(context: context, passphraseFile: passphraseFile).contents()
                return SealedAccounts.all(in: contents).filter(\.kind.isTOTP).map(\.id.description)
            }
        }
        return Self.answer(sealedIDs, names, unknown: { "unknown (\($0.message))" })
    }

    func yubikey(_ names: [String]) -> String {
        if keyIDs == nil {
            keyIDs = Self.attempt {
                try KeyAccess(options: key, context: context, passphraseFile: passphraseFile).withSession { session, _ in
                    try session.list().map(\.id)
                }
            }
        }
        return Self.answer(keyIDs, names) { error in
            error.status == .noKey || error.status == .smartCard ? "unknown (no key)" : "unknown (\(error.message))"
        }
    }

    private static func attempt(_ body: () throws -> [String]) -> Result<[String], CLIError> {
        do { return .success(try body()) } catch {
            return .failure(CLIError(mapping: error) ?? CLIError(.failure, "\(error)"))
        }
    }

    private static func answer(_ ids: Result<[String], CLIError>?, _ names: [String], unknown: (CLIError) -> String) -> String {
        switch ids {
        case .success(let ids): names.contains(where: ids.contains) ? "yes" : "no"
        case .failure(let error): unknown(error)
        case nil: "unknown"
        }
    }
}
