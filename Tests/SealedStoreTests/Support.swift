import Foundation
import SealedStore
import SystemSupport
import TestSupport
import Testing

/// scrypt at N=2^10: the vault format and code paths are the same as with
/// the standard cost, and a test vault opens in milliseconds.
let fastKDF = KDFParameters(log2N: 10, r: 8, p: 1)

extension TemporaryDirectory {
    /// The vault location latchkey uses for `HOME=path`.
    var homeVault: VaultLocation { VaultLocation(directory: path + "/.local/share/latchkey") }
    var vault: VaultLocation { VaultLocation(directory: path + "/vault") }
}

/// Passphrases from memory. `new` is what a created or re-sealed vault gets.
struct FixedPassphrases: PassphraseSource {
    var current: String
    var new: String?

    init(_ current: String, new: String? = nil) {
        self.current = current
        self.new = new
    }

    func passphrase(for location: VaultLocation) throws -> SecretBytes { SecretBytes(Array(current.utf8)) }
    func newPassphrase(for location: VaultLocation) throws -> SecretBytes { SecretBytes(Array((new ?? current).utf8)) }
}

/// A passphrase source for calls that must not need one: asking fails the test.
struct NoPassphrases: PassphraseSource {
    struct Asked: Error {}
    func passphrase(for location: VaultLocation) throws -> SecretBytes {
        Issue.record("a passphrase was asked for")
        throw Asked()
    }
    func newPassphrase(for location: VaultLocation) throws -> SecretBytes {
        Issue.record("a new passphrase was asked for")
        throw Asked()
    }
}

func text(_ entry: VaultEntry, _ field: String) -> String? { entry.text(field) }

/// An entry's fields as plain bytes, for comparison.
func fieldBytes(_ entry: VaultEntry) -> [String: [UInt8]] {
    entry.fields.mapValues(\.bytes)
}

func secret(_ value: String) -> SecretBytes { SecretBytes(Array(value.utf8)) }

/// The `VaultError` a call throws, or `nil` (and a recorded issue) when it
/// succeeds or throws something else.
func vaultError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> VaultError? {
    do {
        try body()
        Issue.record("expected a VaultError, but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as VaultError {
        return error
    } catch {
        Issue.record("expected a VaultError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: - Running the latchkey binary

/// The built `latchkey` executable: `$LATCHKEY_BIN`, else the one beside the
/// test bundle.
let latchkeyBinary = builtExecutablePath("latchkey", override: "LATCHKEY_BIN")

/// Starts `latchkey arguments…` in a new session (no controlling terminal,
/// so nothing can prompt), with exactly `environment`, `stdin` as its input
/// (or /dev/null), and a hard kill after `timeout` seconds; `umaskZero`
/// runs it under `umask 000`.
func startLatchkey(
    _ arguments: [String], environment: [String: String], stdin: [UInt8]? = nil, umaskZero: Bool = false,
    timeout: Double = 20
) throws -> RunningProgram {
    let (executable, prefix) =
        umaskZero ? ("/bin/sh", ["-c", "umask 000; exec \"$0\" \"$@\"", latchkeyBinary]) : (latchkeyBinary, [])
    return try RunningProgram(
        executable, prefix + arguments, environment: environment, inheritEnvironment: false, stdin: stdin,
        newSession: true, timeout: timeout)
}

func runLatchkey(
    _ arguments: [String], environment: [String: String], stdin: [UInt8]? = nil, umaskZero: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ProcessResult {
    try startLatchkey(arguments, environment: environment, stdin: stdin, umaskZero: umaskZero)
        .wait(sourceLocation: sourceLocation)
}

func binaryIsBuilt() -> Bool { FileManager.default.isExecutableFile(atPath: latchkeyBinary) }
