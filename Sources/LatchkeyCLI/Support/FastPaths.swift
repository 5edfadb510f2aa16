import CredentialFlow
import LatchkeyCore
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The commands every AWS SDK client and every `$(latchkey code …)` start,
/// run before swift-argument-parser is even touched: its reflection over
/// every command's options is most of a short run's CPU (measured with
/// `perf record`: 40 % of `code --yubikey`'s samples were `parseAsRoot`).
///
/// The command line is read with ``CredentialOption``'s table, the one the
/// full commands declare their options from (a test holds them to it).
/// Anything the table does not fully understand (`--help`, a typo, a
/// missing value, two code sources) returns, and the full parser gives the
/// same answer or the proper usage error.
///
/// - `credential-process`: a fresh cached session is printed after reading
///   the config and one cache file (no World, no key, no vault, no
///   network); otherwise the cold path runs here too.
/// - `code NAME --yubikey`: the key's code (a sealed code costs a scrypt
///   run, so it goes through the full parser).
public enum FastPaths {
    public static func runIfPossible(_ arguments: [String]) {
        guard arguments.count >= 2 else { return }
        let rest = arguments.dropFirst(2)
        switch arguments[1] {
        case "credential-process":
            guard let request = CredentialOption.parse(rest) else { return }
            if let session = CredentialService.cachedSession(for: request, environment: .process, unixTime: currentUnixTime()) {
                StandardStream.out(CredentialOutput.processJSON(session))
                exit(0)
            }
            finish { world in
                let (session, _) = try CredentialService(world: world).obtain(request)
                world.standardOutput(CredentialOutput.processJSON(session))
            }
        case "code":
            // The key and the TPM (the vault's scrypt dwarfs parsing).
            guard let (request, names) = CredentialOption.parse(rest, allowing: CredentialOption.codeOptions, positionals: 1),
                let kind = request.mfaSource.flatMap({ TokenKind(rawValue: $0.rawValue) }), [.yubikey, .tpm].contains(kind)
            else { return }
            finish { world in
                let vault = try VaultSession(world: world, passphraseFile: request.passphraseFile)
                let token = kind.source(in: world, key: request.key, vault: vault, tpm: request.tpm)
                world.standardOutput(try token.code(query: names.first) + "\n")
            }
        default:
            return
        }
    }

    /// The command line, read from `argv` here. The stdlib builds
    /// `CommandLine.arguments` on first use with a generic map it runs
    /// unspecialized (1.7 % of a warm start's `perf` samples).
    public static var arguments: [String] {
        (0..<Int(CommandLine.argc)).map { index in CommandLine.unsafeArgv[index].map { String(cString: $0) } ?? "" }
    }

    /// Runs `body` in the live world and exits: 0, or the error's line and
    /// code. The process is made not dumpable first: `body` reads secrets.
    private static func finish(_ body: (World) throws -> Void) -> Never {
        ProcessHardening.protectSecrets()
        do {
            try body(.live)
            exit(0)
        } catch {
            Latchkey.exitReporting(error)
        }
    }
}
