import LatchkeyCore
import AWSConfig
import ArgumentParser

/// `latchkey mfa enroll`: a new virtual MFA device whose seed goes straight
/// onto the YubiKey, into the sealed vault or into the TPM, enabled for the user and
/// written into the profile.
struct MFAEnroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Create a virtual MFA device, keep its seed on the YubiKey, in the vault or in the TPM, and enable it.",
        discussion: """
            Steps: GetCallerIdentity (the user defaults to the caller),
            CreateVirtualMFADevice (named after the user unless --device-name), the seed
            onto the key (OATH account named by the device ARN: TOTP, SHA1, 6 digits,
            30-second steps; --touch makes each code need a touch), into the sealed
            vault, or into the TPM as an HMAC key only that TPM can use; two consecutive codes (the current 30-second step and the next: two
            CALCULATEs on the key, so no waiting), EnableMFADevice, and last mfa_serial
            and latchkey_mfa in the profile's section of ~/.aws/config (every other byte
            of the file is kept).

            If any step after CreateVirtualMFADevice fails, the device is deactivated
            (when it was enabled) and deleted, and the stored account removed: nothing
            is left behind. The seed is never printed and never written anywhere but the
            key, the vault or the TPM. With the `latchkey policy self-manage-mfa` policy, the
            device must be named after the user (the default).

            Examples:
              latchkey mfa enroll --profile dev --yubikey --touch
              latchkey mfa enroll --profile dev --sealed
              latchkey mfa enroll --profile dev --tpm
              latchkey mfa enroll --profile admin-keys --user alice --device-name alice-laptop --sealed
            """)

    @Option(help: ArgumentHelp("The AWS profile whose keys are used and which gets mfa_serial.", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("The IAM user (default: the caller).", valueName: "name"))
    var user: String?

    @Option(name: .customLong("device-name"), help: ArgumentHelp("The virtual device's name (default: the user name).", valueName: "name"))
    var deviceName: String?

    @Flag(help: "On a YubiKey: require a touch for every code.")
    var touch = false

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var tpm: TPMOptions
    @OptionGroup var newVault: NewVaultOptions

    func validate() throws {
        if touch, !source.isYubiKey { throw ValidationError("--touch applies to --yubikey") }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let keys = try CredentialService(world: world).longTermKeys(profile: profile, passphraseFile: passphrase.passphraseFile)
        let token = try source.token(key: key, passphrase: passphrase, newVault: newVault.parameters, tpm: tpm).source(world)
        let enrolled = try Enrolment(keys: keys, token: token, user: user, deviceName: deviceName, requireTouch: touch).run()
        world.standardError("Enabled \(enrolled.serial) for \(enrolled.userName) (codes from \(token.kind.placeName)); profile '\(enrolled.profile)' now has mfa_serial and latchkey_mfa = \(token.kind.rawValue)\n")
        world.standardOutput(enrolled.serial + "\n")
    }
}
