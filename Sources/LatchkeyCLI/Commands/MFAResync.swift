import LatchkeyCore
import ArgumentParser
import OATH
import SealedStore
import STS

/// `latchkey mfa resync`: ResyncMFADevice with two consecutive codes from
/// the key or the vault.
struct MFAResync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Resynchronise an MFA device with AWS (ResyncMFADevice) using two consecutive codes.",
        discussion: """
            The device is --serial, else the profile's mfa_serial; its account is the
            one latchkey would use for auth (latchkey_oath_account, else the device
            ARN). The codes are those for the current 30 s step and the next (two
            CALCULATEs on the key: no waiting). The user defaults to the caller.

            Examples:
              latchkey mfa resync --profile dev --yubikey
              latchkey mfa resync --profile dev --sealed --serial arn:aws:iam::123456789012:mfa/alice
            """)

    @Option(help: ArgumentHelp("The AWS profile whose keys are used.", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("The device ARN (default: the profile's mfa_serial).", valueName: "arn"))
    var serial: String?

    @Option(help: ArgumentHelp("The IAM user (default: the caller).", valueName: "name"))
    var user: String?

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let keys = try CredentialService(world: world).longTermKeys(profile: profile, passphraseFile: passphrase.passphraseFile)
        let section = keys.setup.config.profile(named: keys.profile)
        guard let serial = serial ?? section?.nonEmpty("mfa_serial") else {
            throw LatchkeyError(.noCredentials, "profile '\(keys.profile)' has no mfa_serial: name the device with --serial")
        }
        let userName = try user ?? keys.callerUserName()
        let now = world.unixTime
        let token = try source.token(key: key, passphrase: passphrase).source(world)
        let codes = try token.mfaCodes(account: section?.nonEmpty("latchkey_oath_account"), serial: serial, at: [now, now + 30])
        try keys.call("ResyncMFADevice") { (iam) throws(STSClientError) in
            try iam.send(MFADeviceCodesRequest(.resync, userName: userName, serialNumber: serial, authenticationCode1: codes[0], authenticationCode2: codes[1]))
        }
        world.standardError("Resynchronised \(serial) for \(userName)\n")
    }
}
