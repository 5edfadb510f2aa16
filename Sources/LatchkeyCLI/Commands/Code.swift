import LatchkeyCore
import ArgumentParser
import OATH
import SealedStore
import SystemSupport
import YKOATH

/// `latchkey code [NAME] (--yubikey | --sealed)`: prints one code, and nothing
/// else, on stdout.
struct Code: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the current code of one account.",
        discussion: """
            NAME is an exact account id or a unique part of one (case-insensitive). With no
            NAME and a single account, that account. Only the code goes to stdout, so
            `$(latchkey code alice --yubikey)` is the code.

            On a YubiKey an exact id costs two APDUs (SELECT, CALCULATE; three with a
            password); a partial name costs a LIST too. For a touch-required account
            "Touch your YubiKey…" appears on the terminal (or stderr) while the key waits.
            In the sealed vault an HOTP account's counter advances and is saved first.

            Examples:
              latchkey code --sealed
              latchkey code alice --yubikey
              latchkey code alice --tpm
              latchkey code arn:aws:iam::123456789012:mfa/alice --yubikey --reader Yubico
            """)

    @Argument(help: "Account id, or a unique part of it.")
    var name: String?

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var tpm: TPMOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let code = try source.token(key: key, passphrase: passphrase, tpm: tpm).source(world).code(query: name)
        world.standardOutput(code + "\n")
    }
}
