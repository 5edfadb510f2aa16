import ArgumentParser

/// Where OATH accounts live. Only the sealed store exists so far; the flag is
/// required so that adding the YubiKey later changes no script's meaning.
struct SourceOptions: ParsableArguments {
    @Flag(name: .customLong("sealed"), help: "Use the passphrase-sealed local vault.")
    var sealed = false

    func validate() throws {
        guard sealed else { throw ValidationError("choose where the account lives: --sealed") }
    }
}

struct PassphraseOptions: ParsableArguments {
    @Option(
        name: .customLong("passphrase-file"),
        help: ArgumentHelp("Read the vault passphrase from this file (one trailing newline is ignored).", valueName: "path"))
    var passphraseFile: String?
}
