// Fuzz target `shared-config`: ~/.aws/config and ~/.aws/credentials, as any
// tool (or a person) may have written them.
//
// The input is the config file, then a NUL byte and the credentials file
// (no NUL: no credentials file). Both go through `SharedConfig.parse`; what
// parses is then read the ways latchkey reads it (merged profiles, region,
// STS and IAM endpoints, the redacted document), and checked:
//
// - LF and CRLF line endings read the same.
// - Every endpoint URL a profile holds prints back as itself.
// - Redaction leaves no secret value.
// - `CredentialsFileEditor` rewriting or removing a profile in a file that
//   parses gives a file that parses, with exactly the new properties in that
//   profile and every other profile as it was.
// - `ShellWords` (how a `credential_process` value splits) gives back the
//   words it split, quoted by `ShellWords.join`, for every value and for the
//   whole input as text.
import AWSConfig
import FuzzSupport
import SystemSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    let config: [UInt8]
    let credentials: [UInt8]?
    if let nul = bytes.firstIndex(of: 0) {
        config = Array(bytes[..<nul])
        credentials = Array(bytes[(nul + 1)...])
    } else {
        config = bytes
        credentials = nil
    }
    shellWords(String(decoding: bytes, as: UTF8.self))
    let parsed = parse(config: config, credentials: credentials)
    if let parsed { read(parsed) }
    lineEndings(config: config, credentials: credentials, parsed: parsed)
    edit(credentials ?? config)
}

func parse(config: [UInt8]?, credentials: [UInt8]?) -> SharedConfig? {
    do {
        return try SharedConfig.parse(
            config: config, configPath: "/fuzz/config", credentials: credentials, credentialsPath: "/fuzz/credentials")
    } catch {
        invariant(error.line >= 1, "a parse error names line \(error.line)")
        use(error.description)
        return nil
    }
}

let environment = Environment([:])

func read(_ config: SharedConfig) {
    for name in config.profileNames {
        guard let profile = config.profile(named: name) else {
            fatalError("invariant broken: the listed profile \(name) is missing")
        }
        for key in profile.keys {
            use(profile.subProperties(key))
            if let value = profile[key] {
                endpointURL(value)
                shellWords(value)
            }
        }
        for (_, value) in profile.properties {
            if case .subProperties(let block) = value { for (_, text) in block { endpointURL(text) } }
        }
        let region = resolveRegion(environment: environment, profile: profile)?.value
        let sts = try? EndpointResolver.sts(region: region, profile: profile, config: config, environment: environment)
        let iam = try? EndpointResolver.iam(region: region, profile: profile, config: config, environment: environment)
        for endpoint in [sts, iam].compactMap({ $0 }) {
            invariant(EndpointURL(endpoint.url.description) == endpoint.url, "the endpoint \(endpoint.url) does not read back")
            use(endpoint.description)
            use(endpoint.url.hostHeader)
        }
        use(EndpointResolver.ignoresConfiguredEndpoints(profile: profile, environment: environment))
    }
    let document = config.document(redactingSecrets: true)
    for (_, properties) in document.profiles.merging(document.ssoSessions, uniquingKeysWith: { a, _ in a }) {
        for (key, value) in properties {
            switch value {
            case .text(let text):
                invariant(!ConfigRedaction.isSecret(key: key) || text == ConfigRedaction.placeholder, "\(key) is not redacted")
            case .subProperties(let block):
                for (subKey, text) in block where ConfigRedaction.isSecret(key: key) || ConfigRedaction.isSecret(key: subKey) {
                    invariant(text == ConfigRedaction.placeholder, "\(key).\(subKey) is not redacted")
                }
            }
        }
    }
}

func endpointURL(_ text: String) {
    guard let url = EndpointURL(text) else { return }
    invariant(url.scheme == "http" || url.scheme == "https", "the endpoint \(text) has the scheme \(url.scheme)")
    invariant(EndpointURL(url.description) == url, "the endpoint \(text) prints as \(url), which reads differently")
}

/// With every LF made CRLF, the files read the same (only for inputs
/// without a CR already, whose meaning a second CR would change).
func lineEndings(config: [UInt8], credentials: [UInt8]?, parsed: SharedConfig?) {
    guard !config.contains(0x0D), credentials?.contains(0x0D) != true else { return }
    let crlf = { (bytes: [UInt8]) in bytes.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] } }
    let again = parse(config: crlf(config), credentials: credentials.map(crlf))
    invariant(again == parsed, "the files read differently with CRLF line endings")
}

// MARK: - Rewriting the credentials file

let newProperties = [
    CredentialsFileEditor.Property("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    CredentialsFileEditor.Property("aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
]

func profiles(ofCredentialsFile file: [UInt8]) -> [String: ConfigSection]? {
    (try? SharedConfig.parse(config: nil, configPath: "c", credentials: file, credentialsPath: "k"))?
        .credentialsFileProfiles
}

func edit(_ file: [UInt8]) {
    guard let before = profiles(ofCredentialsFile: file) else { return }
    // The first profile the file has, and one it does not have.
    let names = [before.keys.sorted().first, "latchkey-fuzz"].compactMap { $0 }
    for name in names {
        let rewritten: [UInt8]
        do {
            rewritten = try CredentialsFileEditor.replacingSection(named: name, with: newProperties, in: file)
        } catch {
            fatalError("invariant broken: rewriting [\(name)] failed: \(error)")
        }
        guard let after = profiles(ofCredentialsFile: rewritten) else {
            fatalError("invariant broken: after rewriting [\(name)] the file does not parse")
        }
        let expected = Dictionary(uniqueKeysWithValues: newProperties.map { ($0.key, ConfigValue.text($0.value)) })
        invariant(
            after[name]?.properties == expected,
            "after rewriting [\(name)] it holds \(after[name]?.properties.keys.sorted() ?? [])")
        invariant(
            after.filter { $0.key != name } == before.filter { $0.key != name },
            "rewriting [\(name)] changed another profile")

        let removed = CredentialsFileEditor.removingSection(named: name, in: file)
        guard let left = profiles(ofCredentialsFile: removed) else {
            fatalError("invariant broken: after removing [\(name)] the file does not parse")
        }
        invariant(left[name] == nil, "[\(name)] is still there after removing it")
        invariant(left == before.filter { $0.key != name }, "removing [\(name)] changed another profile")
    }
}

func shellWords(_ command: String) {
    guard let words = ShellWords.split(command) else { return }
    let again = ShellWords.split(ShellWords.join(words))
    invariant(again == words, "ShellWords.join of \(words) splits into \(String(describing: again))")
}
