import AWSConfig
import CredentialFlow
import SealedStore
import SessionCache
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
/// Anything this path does not fully understand (an unknown flag,
/// `--refresh`, `--help`, a config error, no fresh session) falls through to
/// the full command, which gives the same answer or the proper error.
public enum CachedCredentialProcess {
    /// Flags that do not change which session is wanted. (Arrays, not sets:
    /// a Set's Hashable requirement costs a conformance scan at start-up.)
    static let ignoredFlags = ["--yubikey", "--sealed", "--prompt", "--remember"]
    /// Options (with a value) that do not change which session is wanted.
    static let ignoredOptions = ["--reader", "--oath-password-file", "--passphrase-file", "--mfa-code"]

    /// Prints the cached session and exits 0 when `arguments` (argv) ask
    /// `credential-process` for a profile whose session is fresh; returns
    /// otherwise.
    public static func serveIfCached(_ arguments: [String]) {
        guard arguments.count >= 2, arguments[1] == "credential-process",
            let request = parse(arguments.dropFirst(2))
        else { return }
        // What the plan can depend on: AWS_*, XDG_*, HOME, USER, LOGNAME.
        let environment = Environment.process(keepingPrefixes: ["AWS_", "XDG_", "HOME=", "USER=", "LOGNAME="])
        guard let config = try? SharedConfig.load(environment: environment),
            let location = VaultLocation.standard(in: environment),
            let cache = SessionCache.standard(in: environment)
        else { return }
        let resolver = ProfileResolver(
            config: config, environment: environment, sealedKeys: SealedKeyIndex.read(at: location),
            durationSeconds: request.durationSeconds)
        let name = SharedConfig.selectedProfileName(explicit: request.profile, environment: environment)
        guard let plan = try? resolver.plan(profile: name), let key = plan.cacheKey,
            let session = cache.fresh(key, now: Int64(currentUnixTime()))
        else { return }
        StandardStream.out(CredentialOutput.processJSON(session))
        exit(0)
    }

    struct Request: Equatable {
        var profile: String?
        var durationSeconds: Int?
    }

    static func parse(_ arguments: ArraySlice<String>) -> Request? {
        var request = Request()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            let (name, inlineValue) = split(argument)
            if ignoredFlags.contains(argument) { continue }
            if ignoredOptions.contains(name) {
                if inlineValue == nil { guard iterator.next() != nil else { return nil } }
                continue
            }
            guard name == "--profile" || name == "--duration", let value = inlineValue ?? iterator.next() else { return nil }
            if name == "--profile" {
                request.profile = value
            } else {
                guard let seconds = CredentialOptions.seconds(value) else { return nil }
                request.durationSeconds = seconds
            }
        }
        return request
    }

    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}
