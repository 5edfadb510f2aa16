import LatchkeyCore
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The warm `credential-process` path, taken before swift-argument-parser
/// sees the command line: every AWS SDK client starts latchkey, so a cached
/// session is printed after reading the config and one cache file, with no
/// argument-parser reflection, no key, no vault and no network.
///
/// The command line is read with ``CredentialOption``'s table, the one the
/// full command declares its options from. Anything else (`--help`, a typo,
/// `--refresh`, a config error, no fresh session) falls through to the full
/// command, which gives the same answer or the proper error.
public enum CachedCredentialProcess {
    /// Prints the cached session and exits 0 when `arguments` (argv) ask
    /// `credential-process` for a profile whose session is fresh; returns
    /// otherwise.
    public static func serveIfCached(_ arguments: [String]) {
        guard arguments.count >= 2, arguments[1] == "credential-process",
            let request = CredentialOption.warmRequest(arguments.dropFirst(2))
        else { return }
        // What the plan can depend on: AWS_*, XDG_*, HOME, USER, LOGNAME.
        let environment = Environment.process(keepingPrefixes: ["AWS_", "XDG_", "HOME=", "USER=", "LOGNAME="])
        guard let session = CredentialService.cachedSession(for: request, environment: environment, unixTime: currentUnixTime())
        else { return }
        StandardStream.out(CredentialOutput.processJSON(session))
        exit(0)
    }
}
