import ArgumentParser
import YubiKey
import SealedStore

/// Where OATH accounts live: the YubiKey's OATH applet or the sealed local
/// vault. One must be chosen, so no script's meaning depends on a default.
enum TokenSource: String, EnumerableFlag {
    case yubikey
    case sealed

    static func help(for value: TokenSource) -> ArgumentHelp? {
        switch value {
        case .yubikey: "Use the YubiKey's OATH applet (through pcscd)."
        case .sealed: "Use the passphrase-sealed local vault."
        }
    }
}

struct SourceOptions: ParsableArguments {
    @Flag var source: TokenSource?

    func validate() throws {
        guard source != nil else { throw ValidationError("choose where the account lives: --yubikey or --sealed") }
    }

    var isYubiKey: Bool { source == .yubikey }
}

/// The scrypt cost of a vault this command creates. Hidden: lower costs are
/// for tests and slow machines, not daily use.
struct NewVaultOptions: ParsableArguments {
    @Option(name: .customLong("scrypt-log2n"), help: .hidden) var scryptLog2N: UInt8?

    func validate() throws {
        if let scryptLog2N, !KDFParameters.log2NRange.contains(scryptLog2N) {
            throw ValidationError("--scrypt-log2n must be in \(KDFParameters.log2NRange)")
        }
    }

    var parameters: KDFParameters { scryptLog2N.map { KDFParameters(log2N: $0, r: 8, p: 1) } ?? .standard }
}

struct PassphraseOptions: ParsableArguments {
    @Option(
        name: .customLong("passphrase-file"),
        help: ArgumentHelp("Read the vault passphrase from this file (one trailing newline is ignored).", valueName: "path"))
    var passphraseFile: String?
}

/// How to reach the key and unlock its OATH applet.
struct KeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Use the reader whose name contains this text (also LATCHKEY_READER).", valueName: "text"))
    var reader: String?

    @Option(
        help: ArgumentHelp(
            "How to reach the key: auto (pcscd, else directly over USB), pcsc or ccid (also LATCHKEY_TRANSPORT).",
            valueName: "transport"))
    var transport: KeyTransport?

    @Option(
        name: .customLong("oath-password-file"),
        help: ArgumentHelp("Read the key's OATH password from this file (also LATCHKEY_OATH_PASSWORD).", valueName: "path"))
    var oathPasswordFile: String?

    @Flag(help: "Keep the key's derived access key (not the password) in the sealed vault, so later calls need no password.")
    var remember = false
}

extension KeyTransport: ExpressibleByArgument {}
