import Testing

@testable import CredentialFlow
@testable import SessionCache

@Suite("Cache keys: one session per set of inputs STS answers to")
struct CacheKeyTests {
    /// The MFA session's key (innermost) and the final key of `profile`.
    func keys(
        _ profile: String = "admin", config: String = teamConfig, credentials: String = devCredentials,
        environment: [String: String] = [:], durationSeconds: Int? = nil
    ) throws -> (session: CacheKey?, final: CacheKey?) {
        let plan = try resolvePlan(
            profile, config: config, credentials: credentials, environment: environment,
            durationSeconds: durationSeconds)
        return (plan.allCacheKeys.last, plan.cacheKey)
    }

    @Test("Golden: the MFA session key's canonical text and file name")
    func goldenSessionKey() throws {
        let key = try #require(try keys("dev").final)
        #expect(
            key.canonicalText
                == "mfa-session\nduration=43200\nmfa=arn:aws:iam::123456789012:mfa/alice\nsource=key:AKIADEV\n"
                + "sts=aws")
        #expect(key.fileName == "mfa-session-86a09c64c1349d9d0cced4d669e25eace9084828d5a0812bf2234f1ebe6f37be")
    }

    @Test("isFileName accepts the names fileName makes and nothing else logout --all could meet")
    func fileNames() throws {
        let digest = String(repeating: "0123456789abcdef", count: 4)
        for key in [try keys("dev").final, try keys("admin").final] {
            #expect(CacheKey.isFileName(try #require(key).fileName))
        }
        for name in [
            "role-\(digest).lock", ".role-\(digest).7.x.tmp", "role-\(digest.uppercased())", "role-\(digest.dropLast())",
            "-\(digest)", "role_x-\(digest)", "notes.txt", "",
        ] {
            #expect(!CacheKey.isFileName(name), "\(name)")
        }
    }

    @Test("Golden: a role assumed through the MFA session names that session's file")
    func goldenRoleKey() throws {
        let key = try #require(try keys("admin").final)
        #expect(
            key.canonicalText
                == "role\nduration=3600\nrole=arn:aws:iam::123456789012:role/admin\nsession=alice\n"
                + "source=mfa-session-86a09c64c1349d9d0cced4d669e25eace9084828d5a0812bf2234f1ebe6f37be\n"
                + "sts=aws")
        #expect(key.fileName == "role-d0c0d596271cb2f3ac5788da12439f8268c6fe1102b025442d665ad895bf064f")
    }

    @Test("The canonical text sorts the parts, so the order they were given in does not matter")
    func canonicalOrder() {
        var parts: [String: String] = [:]
        for name in ["zeta", "alpha", "mid"] { parts[name] = name.uppercased() }
        let key = CacheKey("k", parts)
        #expect(key.canonicalText == "k\nalpha=ALPHA\nmid=MID\nzeta=ZETA")
        #expect(key == CacheKey("k", ["mid": "MID", "zeta": "ZETA", "alpha": "ALPHA"]))
        #expect(key.fileName.hasPrefix("k-"))
        #expect(key.fileName.count == 2 + 64)
        #expect(CacheKey("k", [:]).fileName != CacheKey("j", [:]).fileName)
    }

    @Test("Two roles from the same keys and device share one MFA session: one touch for both")
    func rolesShareTheSession() throws {
        let admin = try keys("admin")
        let readonly = try keys("readonly")
        #expect(admin.session != nil)
        #expect(admin.session == readonly.session)
        #expect(admin.final != readonly.final)
        // The plain session of the source profile is the same one too.
        #expect(try keys("dev").final == admin.session)
    }

    @Test("The keys along a chain are listed outermost first")
    func chainOrder() throws {
        let config =
            teamConfig
            + "\n\n[profile deploy]\nrole_arn = arn:aws:iam::210987654321:role/deploy\nsource_profile = admin\nregion = eu-west-1\n"
        let plan = try resolvePlan("deploy", config: config, credentials: devCredentials)
        #expect(plan.allCacheKeys.map(\.kind) == ["role", "role", "mfa-session"])
        #expect(plan.allCacheKeys.first == plan.cacheKey)
        // The inner role is the very session `admin` itself uses (same region).
        #expect(plan.allCacheKeys[1] == (try keys("admin").final))
        let direct = try resolvePlan("admin", config: teamConfig, credentials: devCredentials, durationSeconds: 7_200)
        #expect(direct.allCacheKeys.map(\.kind) == ["role"])
    }

    /// One input changed from `teamConfig`'s admin profile, and whether the
    /// MFA session is a different one then too.
    struct Variant: CustomTestStringConvertible, Sendable {
        var name: String
        var config: String = teamConfig
        var credentials: String = devCredentials
        var environment: [String: String] = [:]
        var durationSeconds: Int? = nil
        var changesSession: Bool

        var testDescription: String { name }
    }

    static let adminBlock =
        "source_profile = dev\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nregion = eu-west-1\n\n[profile readonly]"

    static func admin(adding line: String) -> String {
        teamConfig.replacingOccurrences(
            of: adminBlock, with: adminBlock.replacingOccurrences(of: "\n\n", with: "\n\(line)\n\n"))
    }

    static let variants: [Variant] = [
        Variant(
            name: "role", config: teamConfig.replacingOccurrences(of: "role/admin", with: "role/admin2"),
            changesSession: false),
        Variant(name: "duration_seconds", config: admin(adding: "duration_seconds = 1800"), changesSession: false),
        Variant(name: "--duration", durationSeconds: 2_700, changesSession: false),
        Variant(name: "external_id", config: admin(adding: "external_id = ext-1"), changesSession: false),
        Variant(name: "role_session_name", config: admin(adding: "role_session_name = other"), changesSession: false),
        Variant(name: "source_identity", config: admin(adding: "source_identity = alice"), changesSession: false),
        Variant(
            name: "mfa_serial",
            config: admin(adding: "role_session_name = alice").replacingOccurrences(
                of: "role/admin\nsource_profile = dev\nmfa_serial = arn:aws:iam::123456789012:mfa/alice",
                with: "role/admin\nsource_profile = dev\nmfa_serial = arn:aws:iam::123456789012:mfa/alice-2"),
            changesSession: true),
        Variant(
            name: "access key id", credentials: devCredentials.replacingOccurrences(of: "AKIADEV", with: "AKIADEV2"),
            changesSession: true),
        Variant(
            name: "AWS_ENDPOINT_URL_STS", environment: ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:4566"],
            changesSession: true),
        // Sessions from AWS's own endpoints work in every region of their
        // partition, so only a change of partition splits them.
        Variant(name: "partition", environment: ["AWS_REGION": "cn-north-1"], changesSession: true),
    ]

    @Test(
        "Any change of role, duration, external id, name, serial, key or endpoint changes the key", arguments: variants)
    func everyInputCounts(_ variant: Variant) throws {
        let base = try keys()
        let changed = try keys(
            config: variant.config, credentials: variant.credentials, environment: variant.environment,
            durationSeconds: variant.durationSeconds)
        #expect(
            variant.config != teamConfig || variant.credentials != devCredentials || !variant.environment.isEmpty
                || variant.durationSeconds != nil)
        #expect(changed.final != nil)
        #expect(changed.final != base.final)
        #expect(changed.final?.fileName != base.final?.fileName)
        #expect((changed.session != base.session) == variant.changesSession)
    }

    @Test("Another region of the same partition shares the sessions")
    func regionsShareSessions() throws {
        let base = try keys()
        let moved = try keys(environment: ["AWS_REGION": "us-west-2"])
        #expect(moved.final == base.final && moved.session == base.session)
    }

    @Test("No two variants share a role key")
    func variantsAreDistinct() throws {
        var names: [String: String] = [:]
        for variant in Self.variants {
            let key = try keys(
                config: variant.config, credentials: variant.credentials, environment: variant.environment,
                durationSeconds: variant.durationSeconds
            ).final
            let fileName = try #require(key?.fileName)
            #expect(names[fileName] == nil, "\(variant.name) shares a key with \(names[fileName] ?? "")")
            names[fileName] = variant.name
        }
    }

    @Test("How codes are made (latchkey_mfa, the reader, the OATH account) does not split the cache")
    func codeSettingsDoNotCount() throws {
        let config = Self.admin(
            adding: "latchkey_mfa = prompt\nlatchkey_reader = Other Reader 00 00\nlatchkey_oath_account = x")
        let base = try keys()
        let withSettings = try keys(config: config)
        #expect(withSettings.session == base.session)
        #expect(withSettings.final == base.final)
        // The same keys sealed in the vault are the same keys.
        let sealed = try resolvePlan(
            "admin", config: teamConfig, credentials: devCredentials, sealedKeys: ["dev": "AKIADEV"])
        #expect(sealed.cacheKey == base.final)
    }

    @Test("Long-term keys and another tool's process are not cached")
    func uncachedSteps() throws {
        let plan = try resolvePlan("admin", config: teamConfig, credentials: devCredentials)
        #expect(plan.cacheKey(for: .longTerm(.environment(accessKeyID: "AKIAENV"))) == nil)
        #expect(plan.cacheKey(for: .process(profile: "p", command: "x")) == nil)
    }
}
