import SystemSupport

/// A setting's value and where it came from, for messages such as
/// "region eu-west-1 (from AWS_REGION)".
public struct ResolvedSetting: Sendable, Equatable, CustomStringConvertible {
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case environment(String)
        case profile(String)

        public var description: String {
            switch self {
            case .environment(let variable): variable
            case .profile(let name): "profile \(name)"
            }
        }
    }

    public var value: String
    public var source: Source

    public init(value: String, source: Source) {
        self.value = value
        self.source = source
    }

    public var description: String { "\(value) (from \(source))" }
}

/// The region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's
/// `region`; empty values are skipped.
public func resolveRegion(environment: Environment, profile: ConfigSection?) -> ResolvedSetting? {
    for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let value = environment.nonEmpty(variable) {
            return ResolvedSetting(value: value, source: .environment(variable))
        }
    }
    if let profile, let value = profile.nonEmpty("region") {
        return ResolvedSetting(value: value, source: .profile(profile.name))
    }
    return nil
}

/// The CA bundle (a PEM file) to verify TLS servers against:
/// `AWS_CA_BUNDLE`, else the profile's `ca_bundle`; empty values are skipped.
public func resolveCABundle(environment: Environment, profile: ConfigSection?) -> ResolvedSetting? {
    if let value = environment.nonEmpty("AWS_CA_BUNDLE") { return ResolvedSetting(value: value, source: .environment("AWS_CA_BUNDLE")) }
    if let profile, let value = profile.nonEmpty("ca_bundle") { return ResolvedSetting(value: value, source: .profile(profile.name)) }
    return nil
}

/// A service endpoint: where to send requests and which region to sign for.
public struct ServiceEndpoint: Sendable, Equatable, CustomStringConvertible {
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, …
        case environment(String)
        /// `[services NAME]`'s `sts =` / `iam =` block.
        case servicesSection(String)
        /// The profile's `endpoint_url`.
        case profile(String)
        /// The service's own regional endpoint.
        case regional
        /// The service's global endpoint (IAM; STS with `legacy` or no region).
        case global

        public var description: String {
            switch self {
            case .environment(let variable): variable
            case .servicesSection(let name): "[services \(name)]"
            case .profile(let name): "profile \(name) endpoint_url"
            case .regional: "regional endpoint"
            case .global: "global endpoint"
            }
        }
    }

    public var url: EndpointURL
    public var signingRegion: String
    public var source: Source

    public init(url: EndpointURL, signingRegion: String, source: Source) {
        self.url = url
        self.signingRegion = signingRegion
        self.source = source
    }

    public var description: String { "\(url) (signed for \(signingRegion), \(source))" }
}

/// Why an endpoint could not be resolved.
public enum EndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configured endpoint URL is not `http(s)://host[:port][/path]`.
    case invalidURL(ServiceEndpoint.Source)
    /// The region is not letters, digits and single hyphens.
    case invalidRegion(String)
    /// `sts_regional_endpoints` is neither `legacy` nor `regional`.
    case invalidSTSRegionalEndpoints(ResolvedSetting.Source)

    public var description: String {
        switch self {
        case .invalidURL(let source):
            "the endpoint URL in \(source) is not a valid http:// or https:// URL"
        case .invalidRegion(let region):
            "\"\(printable(region))\" is not a valid AWS region name"
        case .invalidSTSRegionalEndpoints(let source):
            "sts_regional_endpoints in \(source) must be legacy or regional"
        }
    }
}

/// The services latchkey calls, with the names the endpoint settings use.
public enum AWSService: String, Sendable, CaseIterable {
    case sts
    case iam

    /// The suffix of `AWS_ENDPOINT_URL_<ID>` (the service id upper-cased,
    /// spaces as underscores).
    public var environmentSuffix: String { rawValue.uppercased() }
    /// The key of the block inside a `[services NAME]` section.
    public var servicesKey: String { rawValue }
    /// The SigV4 service name.
    public var signingName: String { rawValue }
}

/// Endpoint resolution for STS and IAM (REFERENCE §5).
///
/// A configured endpoint wins, in this order, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's
/// `ignore_configured_endpoint_urls`) is `true`:
///
/// 1. `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_IAM`
/// 2. `AWS_ENDPOINT_URL`
/// 3. the `sts =` / `iam =` block's `endpoint_url` in the `[services NAME]`
///    section the profile's `services` key names
/// 4. the profile's `endpoint_url`
///
/// A configured endpoint is signed for the resolved region (us-east-1
/// without one). Otherwise STS is regional, `https://sts.{region}.amazonaws.com`
/// (`.amazonaws.com.cn` in China), except that `sts_regional_endpoints =
/// legacy` (or `AWS_STS_REGIONAL_ENDPOINTS`) sends the legacy regions to the
/// global `https://sts.amazonaws.com`, signed as us-east-1; with no region at
/// all STS is global too. IAM is global: `https://iam.amazonaws.com` signed as
/// us-east-1 (China and GovCloud have their own).
///
/// `use_fips_endpoint = true` (or `AWS_USE_FIPS_ENDPOINT`) takes the FIPS
/// endpoints instead, as the SDKs' endpoint rules do: STS
/// `https://sts-fips.{region}.amazonaws.com` (legacy ignored; us-east-1 without a
/// region), but `https://sts.{region}.amazonaws.com` in GovCloud, whose
/// endpoints are FIPS already; IAM `https://iam-fips.amazonaws.com` (GovCloud's
/// is FIPS already; China has none, and keeps its own). A configured endpoint
/// URL still wins.
public enum EndpointResolver {
    /// The regions `sts_regional_endpoints = legacy` sends to the global endpoint.
    public static let legacyGlobalSTSRegions: Set<String> = [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1",
        "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1",
        "ap-southeast-1", "ap-southeast-2", "aws-global",
    ]

    public static func sts(
        region: String?, profile: ConfigSection?, config: SharedConfig, environment: Environment
    ) throws(EndpointError) -> ServiceEndpoint {
        if let region { try validate(region: region) }
        let signingRegion = region ?? "us-east-1"
        if let configured = try configuredEndpoint(
            .sts, profile: profile, config: config, environment: environment, signingRegion: signingRegion)
        {
            return configured
        }
        if usesFIPS(profile: profile, environment: environment) {
            let fipsRegion = region.flatMap { $0 == "aws-global" ? nil : $0 } ?? "us-east-1"
            if fipsRegion.hasPrefix("us-gov-") { return endpoint("sts.\(fipsRegion).amazonaws.com", fipsRegion, .regional) }
            return endpoint("sts-fips.\(fipsRegion).\(dnsSuffix(fipsRegion))", fipsRegion, .regional)
        }
        guard let region, region != "aws-global" else { return global("sts.amazonaws.com", "us-east-1") }
        if try stsRegionalEndpoints(profile: profile, environment: environment) == "legacy",
            legacyGlobalSTSRegions.contains(region)
        {
            return global("sts.amazonaws.com", "us-east-1")
        }
        return endpoint("sts.\(region).\(dnsSuffix(region))", region, .regional)
    }

    private static func dnsSuffix(_ region: String) -> String {
        region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
    }

    public static func iam(
        region: String?, profile: ConfigSection?, config: SharedConfig, environment: Environment
    ) throws(EndpointError) -> ServiceEndpoint {
        if let region { try validate(region: region) }
        let partitionRegion: String
        let host: String
        switch region {
        case let region? where region.hasPrefix("cn-"):
            (host, partitionRegion) = ("iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
        case let region? where region.hasPrefix("us-gov-"):
            (host, partitionRegion) = ("iam.us-gov.amazonaws.com", "us-gov-west-1")
        default:
            let fips = usesFIPS(profile: profile, environment: environment)
            (host, partitionRegion) = (fips ? "iam-fips.amazonaws.com" : "iam.amazonaws.com", "us-east-1")
        }
        if let configured = try configuredEndpoint(
            .iam, profile: profile, config: config, environment: environment, signingRegion: partitionRegion)
        {
            return configured
        }
        return global(host, partitionRegion)
    }

    /// Whether configured endpoints are switched off.
    public static func ignoresConfiguredEndpoints(profile: ConfigSection?, environment: Environment) -> Bool {
        isTrue("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls", profile: profile, environment: environment)
    }

    /// Whether FIPS endpoints are asked for (`AWS_USE_FIPS_ENDPOINT`, else
    /// the profile's `use_fips_endpoint`).
    public static func usesFIPS(profile: ConfigSection?, environment: Environment) -> Bool {
        isTrue("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", profile: profile, environment: environment)
    }

    /// A boolean setting: the variable when set, else the profile's key;
    /// `true` in any case is true, anything else false.
    private static func isTrue(_ variable: String, _ key: String, profile: ConfigSection?, environment: Environment) -> Bool {
        if let value = environment.nonEmpty(variable) { return lowercasedKey(value) == "true" }
        return profile?.nonEmpty(key).map { lowercasedKey($0) == "true" } ?? false
    }

    static func configuredEndpoint(
        _ service: AWSService, profile: ConfigSection?, config: SharedConfig, environment: Environment,
        signingRegion: String
    ) throws(EndpointError) -> ServiceEndpoint? {
        guard !ignoresConfiguredEndpoints(profile: profile, environment: environment) else { return nil }
        var candidates: [(String, ServiceEndpoint.Source)] = []
        for variable in ["AWS_ENDPOINT_URL_" + service.environmentSuffix, "AWS_ENDPOINT_URL"] {
            if let value = environment.nonEmpty(variable) { candidates.append((value, .environment(variable))) }
        }
        if let profile {
            if let sectionName = profile.nonEmpty("services"), let section = config.services(named: sectionName),
                let value = section.subProperties(service.servicesKey)?["endpoint_url"], !value.isEmpty
            {
                candidates.append((value, .servicesSection(sectionName)))
            }
            if let value = profile.nonEmpty("endpoint_url") { candidates.append((value, .profile(profile.name))) }
        }
        guard let (text, source) = candidates.first else { return nil }
        guard let url = EndpointURL(text) else { throw .invalidURL(source) }
        return ServiceEndpoint(url: url, signingRegion: signingRegion, source: source)
    }

    /// `legacy` or `regional` (the default), from `AWS_STS_REGIONAL_ENDPOINTS`
    /// or the profile.
    static func stsRegionalEndpoints(profile: ConfigSection?, environment: Environment) throws(EndpointError)
        -> String
    {
        let setting: (String, ResolvedSetting.Source)?
        if let value = environment.nonEmpty("AWS_STS_REGIONAL_ENDPOINTS") {
            setting = (value, .environment("AWS_STS_REGIONAL_ENDPOINTS"))
        } else if let profile, let value = profile.nonEmpty("sts_regional_endpoints") {
            setting = (value, .profile(profile.name))
        } else {
            setting = nil
        }
        guard let (value, source) = setting else { return "regional" }
        let lowered = lowercasedKey(value)
        guard lowered == "legacy" || lowered == "regional" else { throw .invalidSTSRegionalEndpoints(source) }
        return lowered
    }

    /// Letters, digits and single inner hyphens, at most 64 characters: a
    /// region becomes part of a host name, so nothing else may pass.
    public static func validate(region: String) throws(EndpointError) {
        let bytes = Array(region.utf8)
        let valid =
            !bytes.isEmpty && bytes.count <= 64 && bytes.first != UInt8(ascii: "-")
            && bytes.last != UInt8(ascii: "-")
            && bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }
            && !region.contains("--")
        guard valid else { throw .invalidRegion(region) }
    }

    private static func global(_ host: String, _ region: String) -> ServiceEndpoint {
        endpoint(host, region, .global)
    }

    private static func endpoint(_ host: String, _ region: String, _ source: ServiceEndpoint.Source)
        -> ServiceEndpoint
    {
        ServiceEndpoint(url: EndpointURL(scheme: "https", host: host), signingRegion: region, source: source)
    }
}

/// At most 64 printable ASCII characters, others replaced by `?`.
func printable(_ text: String) -> String {
    String(
        String.UnicodeScalarView(text.unicodeScalars.prefix(64).map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
}
