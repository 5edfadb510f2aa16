import SystemSupport
import TestSupport
import Testing

@testable import AWSConfig

@Suite("Region and endpoint resolution")
struct ResolutionTests {
    static let config: SharedConfig = {
        let text = """
            [profile plain]
            region = eu-west-1
            [profile legacy]
            region = eu-west-1
            sts_regional_endpoints = legacy
            [profile legacy-far]
            region = eu-south-1
            sts_regional_endpoints = legacy
            [profile no-region]
            [profile with-endpoint]
            region = eu-west-1
            endpoint_url = http://127.0.0.1:4566
            [profile with-services]
            region = eu-west-1
            services = local
            endpoint_url = http://127.0.0.1:4566
            [profile services-without-sts]
            region = eu-west-1
            services = iam-only
            endpoint_url = http://127.0.0.1:4566
            [profile ignoring]
            region = eu-west-1
            endpoint_url = http://127.0.0.1:4566
            ignore_configured_endpoint_urls = true
            [profile bad-url]
            region = eu-west-1
            endpoint_url = ftp://example.com
            [profile bad-mode]
            region = eu-west-1
            sts_regional_endpoints = sometimes
            [profile china]
            region = cn-north-1
            [profile gov]
            region = us-gov-west-1
            [profile fips]
            region = eu-west-1
            sts_regional_endpoints = legacy
            use_fips_endpoint = True
            [profile fips-endpoint]
            region = eu-west-1
            use_fips_endpoint = true
            endpoint_url = http://127.0.0.1:4566
            [services local]
            sts =
              endpoint_url = http://127.0.0.1:5000
            iam =
              endpoint_url = http://127.0.0.1:5001/iam/
            [services iam-only]
            iam =
              endpoint_url = http://127.0.0.1:5001
            """
        return (try? parse(config: text)) ?? SharedConfig()
    }()

    @Test("Region comes from AWS_REGION, then AWS_DEFAULT_REGION, then the profile; empty values are skipped")
    func region() {
        let profile = Self.config.profile(named: "plain")
        #expect(
            resolveRegion(
                environment: Environment(["AWS_REGION": "a-1", "AWS_DEFAULT_REGION": "b-1"]), profile: profile)
                == ResolvedSetting(value: "a-1", source: .environment("AWS_REGION")))
        #expect(
            resolveRegion(environment: Environment(["AWS_REGION": "", "AWS_DEFAULT_REGION": "b-1"]), profile: profile)
                == ResolvedSetting(value: "b-1", source: .environment("AWS_DEFAULT_REGION")))
        #expect(
            resolveRegion(environment: Environment([:]), profile: profile)
                == ResolvedSetting(value: "eu-west-1", source: .profile("plain")))
        #expect(resolveRegion(environment: Environment([:]), profile: Self.config.profile(named: "no-region")) == nil)
        #expect(resolveRegion(environment: Environment([:]), profile: nil) == nil)
        #expect(
            resolveRegion(environment: Environment([:]), profile: profile)?.description
                == "eu-west-1 (from profile plain)")
    }

    struct Row: CustomStringConvertible {
        var profile: String
        var environment: [String: String] = [:]
        var url: String
        var signingRegion: String
        var source: ServiceEndpoint.Source
        var description: String { "\(profile) \(environment)" }
    }

    static func resolve(_ service: AWSService, _ row: Row) throws(EndpointError) -> ServiceEndpoint {
        let environment = Environment(row.environment)
        let profile = config.profile(named: row.profile)
        let region = resolveRegion(environment: environment, profile: profile)?.value
        switch service {
        case .sts:
            return try EndpointResolver.sts(region: region, profile: profile, config: config, environment: environment)
        case .iam:
            return try EndpointResolver.iam(region: region, profile: profile, config: config, environment: environment)
        }
    }

    /// Expects `row`'s URL, signing region and source for `service`.
    static func expect(_ service: AWSService, _ row: Row, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let endpoint = try resolve(service, row)
        #expect(endpoint.url.description == row.url, sourceLocation: sourceLocation)
        #expect(endpoint.signingRegion == row.signingRegion, sourceLocation: sourceLocation)
        #expect(endpoint.source == row.source, sourceLocation: sourceLocation)
    }

    static let stsRows: [Row] = [
        Row(
            profile: "plain", url: "https://sts.eu-west-1.amazonaws.com/", signingRegion: "eu-west-1", source: .regional
        ),
        Row(
            profile: "plain", environment: ["AWS_REGION": "us-east-1"], url: "https://sts.us-east-1.amazonaws.com/",
            signingRegion: "us-east-1", source: .regional),
        Row(profile: "legacy", url: "https://sts.amazonaws.com/", signingRegion: "us-east-1", source: .global),
        Row(
            profile: "legacy-far", url: "https://sts.eu-south-1.amazonaws.com/", signingRegion: "eu-south-1",
            source: .regional),
        Row(
            profile: "plain", environment: ["AWS_STS_REGIONAL_ENDPOINTS": "legacy"], url: "https://sts.amazonaws.com/",
            signingRegion: "us-east-1", source: .global),
        Row(
            profile: "legacy", environment: ["AWS_STS_REGIONAL_ENDPOINTS": "regional"],
            url: "https://sts.eu-west-1.amazonaws.com/", signingRegion: "eu-west-1", source: .regional),
        Row(profile: "no-region", url: "https://sts.amazonaws.com/", signingRegion: "us-east-1", source: .global),
        Row(profile: "missing", url: "https://sts.amazonaws.com/", signingRegion: "us-east-1", source: .global),
        Row(
            profile: "plain", environment: ["AWS_REGION": "aws-global"], url: "https://sts.amazonaws.com/",
            signingRegion: "us-east-1", source: .global),
        Row(
            profile: "china", url: "https://sts.cn-north-1.amazonaws.com.cn/", signingRegion: "cn-north-1",
            source: .regional),
        Row(
            profile: "gov", url: "https://sts.us-gov-west-1.amazonaws.com/", signingRegion: "us-gov-west-1",
            source: .regional),
        // Overrides, highest first.
        Row(
            profile: "with-services",
            environment: [
                "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:7000", "AWS_ENDPOINT_URL": "http://127.0.0.1:8000",
            ],
            url: "http://127.0.0.1:7000/", signingRegion: "eu-west-1", source: .environment("AWS_ENDPOINT_URL_STS")),
        Row(
            profile: "with-services",
            environment: [
                "AWS_ENDPOINT_URL": "http://127.0.0.1:8000",
                "AWS_ENDPOINT_URL_IAM": "http://127.0.0.1:9000",
            ],
            url: "http://127.0.0.1:8000/", signingRegion: "eu-west-1", source: .environment("AWS_ENDPOINT_URL")),
        Row(
            profile: "with-services", url: "http://127.0.0.1:5000/", signingRegion: "eu-west-1",
            source: .servicesSection("local")),
        Row(
            profile: "services-without-sts", url: "http://127.0.0.1:4566/", signingRegion: "eu-west-1",
            source: .profile("services-without-sts")),
        Row(
            profile: "with-endpoint", url: "http://127.0.0.1:4566/", signingRegion: "eu-west-1",
            source: .profile("with-endpoint")),
        Row(
            profile: "no-region", environment: ["AWS_ENDPOINT_URL_STS": "http://localhost:5000"],
            url: "http://localhost:5000/", signingRegion: "us-east-1", source: .environment("AWS_ENDPOINT_URL_STS")),
        Row(
            profile: "legacy", environment: ["AWS_ENDPOINT_URL_STS": "http://localhost:5000"],
            url: "http://localhost:5000/", signingRegion: "eu-west-1", source: .environment("AWS_ENDPOINT_URL_STS")),
        // The ignore switch, from the environment or the profile.
        Row(
            profile: "with-services",
            environment: [
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:7000",
            ],
            url: "https://sts.eu-west-1.amazonaws.com/", signingRegion: "eu-west-1", source: .regional),
        Row(
            profile: "ignoring", url: "https://sts.eu-west-1.amazonaws.com/", signingRegion: "eu-west-1",
            source: .regional),
        Row(
            profile: "ignoring", environment: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"],
            url: "http://127.0.0.1:4566/", signingRegion: "eu-west-1", source: .profile("ignoring")),
    ]

    @Test(
        "STS endpoints: regional by default, legacy → global us-east-1, overrides in order, ignore switch",
        arguments: stsRows)
    func stsEndpoint(_ row: Row) throws {
        try Self.expect(.sts, row)
    }

    static let iamRows: [Row] = [
        Row(profile: "plain", url: "https://iam.amazonaws.com/", signingRegion: "us-east-1", source: .global),
        Row(profile: "legacy", url: "https://iam.amazonaws.com/", signingRegion: "us-east-1", source: .global),
        Row(profile: "no-region", url: "https://iam.amazonaws.com/", signingRegion: "us-east-1", source: .global),
        Row(
            profile: "china", url: "https://iam.cn-north-1.amazonaws.com.cn/", signingRegion: "cn-north-1",
            source: .global),
        Row(profile: "gov", url: "https://iam.us-gov.amazonaws.com/", signingRegion: "us-gov-west-1", source: .global),
        Row(
            profile: "plain",
            environment: [
                "AWS_ENDPOINT_URL_IAM": "http://127.0.0.1:9000",
                "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:7000",
            ],
            url: "http://127.0.0.1:9000/", signingRegion: "us-east-1", source: .environment("AWS_ENDPOINT_URL_IAM")),
        Row(
            profile: "plain", environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:8000"],
            url: "http://127.0.0.1:8000/", signingRegion: "us-east-1", source: .environment("AWS_ENDPOINT_URL")),
        Row(
            profile: "with-services", url: "http://127.0.0.1:5001/iam/", signingRegion: "us-east-1",
            source: .servicesSection("local")),
        Row(
            profile: "services-without-sts", url: "http://127.0.0.1:5001/", signingRegion: "us-east-1",
            source: .servicesSection("iam-only")),
        Row(
            profile: "with-endpoint", url: "http://127.0.0.1:4566/", signingRegion: "us-east-1",
            source: .profile("with-endpoint")),
        Row(
            profile: "with-services", environment: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"],
            url: "https://iam.amazonaws.com/", signingRegion: "us-east-1", source: .global),
    ]

    @Test("IAM endpoints: global us-east-1 by default, the same override order with _IAM and iam", arguments: iamRows)
    func iamEndpoint(_ row: Row) throws {
        try Self.expect(.iam, row)
    }

    static let fipsRows: [(AWSService, Row)] = [
        (.sts, Row(profile: "fips", url: "https://sts-fips.eu-west-1.amazonaws.com/", signingRegion: "eu-west-1", source: .regional)),
        (.sts, Row(
            profile: "plain", environment: ["AWS_USE_FIPS_ENDPOINT": "true"], url: "https://sts-fips.eu-west-1.amazonaws.com/",
            signingRegion: "eu-west-1", source: .regional)),
        (.sts, Row(
            profile: "fips", environment: ["AWS_USE_FIPS_ENDPOINT": "false"], url: "https://sts.amazonaws.com/",
            signingRegion: "us-east-1", source: .global)),
        (.sts, Row(
            profile: "no-region", environment: ["AWS_USE_FIPS_ENDPOINT": "TRUE"], url: "https://sts-fips.us-east-1.amazonaws.com/",
            signingRegion: "us-east-1", source: .regional)),
        (.sts, Row(
            profile: "gov", environment: ["AWS_USE_FIPS_ENDPOINT": "true"], url: "https://sts.us-gov-west-1.amazonaws.com/",
            signingRegion: "us-gov-west-1", source: .regional)),
        (.sts, Row(
            profile: "fips-endpoint", url: "http://127.0.0.1:4566/", signingRegion: "eu-west-1", source: .profile("fips-endpoint"))),
        (.iam, Row(profile: "fips", url: "https://iam-fips.amazonaws.com/", signingRegion: "us-east-1", source: .global)),
        (.iam, Row(
            profile: "gov", environment: ["AWS_USE_FIPS_ENDPOINT": "true"], url: "https://iam.us-gov.amazonaws.com/",
            signingRegion: "us-gov-west-1", source: .global)),
        (.iam, Row(
            profile: "china", environment: ["AWS_USE_FIPS_ENDPOINT": "true"], url: "https://iam.cn-north-1.amazonaws.com.cn/",
            signingRegion: "cn-north-1", source: .global)),
    ]

    @Test("use_fips_endpoint / AWS_USE_FIPS_ENDPOINT: sts-fips.REGION and iam-fips, GovCloud's own, a configured URL still wins", arguments: fipsRows)
    func fipsEndpoint(_ service: AWSService, _ row: Row) throws {
        try Self.expect(service, row)
    }

    @Test("Bad endpoint URLs, regions and sts_regional_endpoints values are errors naming their source")
    func resolutionErrors() {
        #expect(throws: EndpointError.invalidURL(.profile("bad-url"))) {
            try Self.resolve(.sts, Row(profile: "bad-url", url: "", signingRegion: "", source: .regional))
        }
        #expect(throws: EndpointError.invalidURL(.environment("AWS_ENDPOINT_URL_STS"))) {
            try Self.resolve(
                .sts,
                Row(
                    profile: "plain", environment: ["AWS_ENDPOINT_URL_STS": "http://user:pw@host"],
                    url: "", signingRegion: "", source: .regional))
        }
        #expect(throws: EndpointError.invalidSTSRegionalEndpoints(.profile("bad-mode"))) {
            try Self.resolve(.sts, Row(profile: "bad-mode", url: "", signingRegion: "", source: .regional))
        }
        for region in [
            "eu-west-1.evil.com", "EU-WEST-1", "-eu", "eu-", "eu--west", "", "eu west", "eu/1",
            String(repeating: "a", count: 65),
        ] {
            #expect(throws: EndpointError.invalidRegion(region)) {
                try EndpointResolver.sts(
                    region: region, profile: nil, config: Self.config, environment: Environment([:]))
            }
        }
        let error = EndpointError.invalidURL(.environment("AWS_ENDPOINT_URL_STS"))
        #expect(error.description == "the endpoint URL in AWS_ENDPOINT_URL_STS is not a valid http:// or https:// URL")
        #expect(EndpointError.invalidRegion("a\nb").description == "\"a?b\" is not a valid AWS region name")
    }

    @Test("Cleartext beyond loopback: plain http to any host but localhost, 127.0.0.0/8 and [::1]")
    func cleartext() throws {
        for text in ["http://10.0.0.1:80", "http://sts.example.com", "http://127.0.0.1.example.com", "http://128.0.0.1", "http://[fe80::1]"] {
            #expect(EndpointURL(text)?.isCleartextBeyondLoopback == true, "\(text)")
        }
        for text in ["https://10.0.0.1", "http://127.0.0.1:4566", "http://127.9.8.7", "http://localhost:1", "http://LocalHost", "http://a.localhost", "http://[::1]:8080"] {
            #expect(EndpointURL(text)?.isCleartextBeyondLoopback == false, "\(text)")
        }
    }

    @Test("Endpoint URLs: http(s) with host, optional port and path; no user info, query or fragment")
    func endpointURLs() {
        let valid: [(String, String, String, String)] = [
            ("https://sts.amazonaws.com", "https://sts.amazonaws.com/", "sts.amazonaws.com", "/"),
            ("HTTP://127.0.0.1:5000", "http://127.0.0.1:5000/", "127.0.0.1:5000", "/"),
            ("http://localhost:80/", "http://localhost:80/", "localhost", "/"),
            ("https://Example.COM:443/sts/", "https://example.com:443/sts/", "example.com", "/sts/"),
            ("https://example.com:8443", "https://example.com:8443/", "example.com:8443", "/"),
            ("http://[::1]:5000/x", "http://[::1]:5000/x", "[::1]:5000", "/x"),
            ("http://[fe80::1]", "http://[fe80::1]/", "[fe80::1]", "/"),
            ("http://moto_server:5000", "http://moto_server:5000/", "moto_server:5000", "/"),
        ]
        for (text, description, hostHeader, path) in valid {
            let url = EndpointURL(text)
            #expect(url?.description == description, "\(text)")
            #expect(url?.hostHeader == hostHeader, "\(text)")
            #expect(url?.path == path, "\(text)")
        }
        for text in [
            "", "sts.amazonaws.com", "ftp://host", "http:/host", "http://", "http://:80", "http://host:0",
            "http://host:65536", "http://host:abc", "http://user@host", "http://host/?q=1", "http://host/#f",
            "http://host?x", "http://ho st", "http://[::1", "http://[zz]", "http://[::1]x", "http://host/a b",
            "http://hóst",
        ] {
            #expect(EndpointURL(text) == nil, "\(text)")
        }
    }
}

@Suite("Endpoint URL robustness")
struct EndpointURLFuzzTests {
    @Test("Random URL-like texts never crash the parser, and accepted ones print back to a URL that parses the same")
    func fuzz() {
        var random = SplitMix64(seed: 0x0E2D_0001)
        let schemes = ["http", "https", "HTTPS", "ftp", "", "http "]
        let separators = ["://", "://", "://", ":/", "//", ""]
        let hosts = [
            "host", "127.0.0.1", "[::1]", "[fe80::1]", "[::1", "[zz]", "a_b", "", "ho st", "é.com", "user@host", "-",
            "\u{0}",
        ]
        let ports = ["", "", ":80", ":443", ":65535", ":65536", ":0", ":", ":x", ":123456"]
        let paths = ["", "/", "/a/b/", "/?q", "/#f", "/a b", "/é", "//", "/%20"]
        var accepted = 0
        for _ in 0..<20_000 {
            var text = [schemes, separators, hosts, ports, paths].map { $0.randomElement(using: &random) ?? "" }
                .joined()
            if Int.random(in: 0..<5, using: &random) == 0, !text.isEmpty {
                var scalars = Array(text.unicodeScalars)
                scalars.remove(at: Int.random(in: 0..<scalars.count, using: &random))
                text = String(String.UnicodeScalarView(scalars))
            }
            guard let url = EndpointURL(text) else { continue }
            accepted += 1
            #expect(EndpointURL(url.description) == url, "\(text)")
            #expect(url.scheme == "http" || url.scheme == "https")
            #expect(url.path.hasPrefix("/"))
        }
        #expect(accepted > 300)
    }
}
