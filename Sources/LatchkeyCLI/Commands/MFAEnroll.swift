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

            A backup key (--also-reader NAME, with --yubikey): the same seed also goes onto
            the key in the reader whose name contains NAME, with the same touch policy,
            before EnableMFADevice; that key must then give the main key's code for the
            first step (one more CALCULATE, and a touch on it with --touch). Both keys
            are found before the device is created (they must be two keys, and neither
            may hold the account already); with both plugged in, name the main key with
            --reader. If the backup key fails, nothing is enabled and the account is
            removed from both keys. Keep the backup key apart from the main one: either
            key alone then makes the codes, and `latchkey doctor` warns about profiles
            whose account it finds on only one of the keys attached. The OATH password
            sources (--oath-password-file, LATCHKEY_OATH_PASSWORD, remembered access
            keys, the terminal) serve both keys.

            Examples:
              latchkey mfa enroll --profile dev --yubikey --touch
              latchkey mfa enroll --profile dev --yubikey --reader 'CCID 00 00' --also-reader 'CCID 01 00'
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

    @Option(
        name: .customLong("also-reader"),
        help: ArgumentHelp("With --yubikey: put the same seed on the key in this reader too, as a backup (part of its name).", valueName: "name"))
    var alsoReader: String?

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var tpm: TPMOptions
    @OptionGroup var newVault: NewVaultOptions

    func validate() throws {
        if touch, !source.isYubiKey { throw ValidationError("--touch applies to --yubikey") }
        if let alsoReader {
            guard source.isYubiKey else { throw ValidationError("--also-reader applies to --yubikey") }
            guard !alsoReader.isEmpty else { throw ValidationError("--also-reader needs part of a reader's name") }
        }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let keys = try CredentialService(world: world).longTermKeys(profile: profile, passphraseFile: passphrase.passphraseFile)
        let token = try source.token(key: key, passphrase: passphrase, newVault: newVault.parameters, tpm: tpm).source(world)
        let backup = alsoReader.flatMap { name in (token as? YubiKeyTokens)?.inReader(name) }
        let enrolled = try Enrolment(keys: keys, token: token, user: user, deviceName: deviceName, requireTouch: touch, backup: backup).run()
        let codes = enrolled.backupReader.map { "codes from \(token.kind.placeName), and from the backup key in \($0)" } ?? "codes from \(token.kind.placeName)"
        world.standardError("Enabled \(enrolled.serial) for \(enrolled.userName) (\(codes)); profile '\(enrolled.profile)' now has mfa_serial and latchkey_mfa = \(token.kind.rawValue)\n")
        world.standardOutput(enrolled.serial + "\n")
    }
}
