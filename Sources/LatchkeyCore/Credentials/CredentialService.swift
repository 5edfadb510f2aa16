import AWSConfig
import AWSSigning
import CredentialFlow
import SealedStore
import SessionCache
import STS
import SystemSupport

/// How latchkey gets credentials, in one place: the profile's plan, the
/// cache, and — only when the cache has nothing fresh — the key, the vault,
/// the person and STS.
///
/// ``cachedSession(for:environment:unixTime:)`` is the warm path: config,
/// plan and one cache file, no key, no vault, no network, cheap enough to
/// run before the argument parser on every `credential-process`.
/// ``obtain(_:)`` is the cold path.
public struct CredentialService {
    public var world: World

    public init(world: World) { self.world = world }

    /// A profile's plan and the cache it reads and fills.
    public struct Setup {
        public var config: SharedConfig
        public var plan: CredentialPlan
        public var cache: SessionCache
    }

    /// The session `request` asks for when the cache holds a fresh one
    /// (more than 15 minutes left); `nil` otherwise, and for a request that
    /// must not be answered from the cache (`--refresh`).
    public static func cachedSession(for request: CredentialRequest, environment: Environment, unixTime: UInt64) -> CachedSession? {
        guard !request.refresh,
            let setup = try? setup(
                profile: request.profile, durationSeconds: request.durationSeconds, fromAgent: request.fromAgent, environment: environment),
            let key = setup.plan.cacheKey
        else { return nil }
        return setup.cache.fresh(key, now: Int64(unixTime))
    }

    /// Loads the config and plans the profile, without touching the key,
    /// the vault or the network.
    public func setup(profile: String?, durationSeconds: Int?, fromAgent: Bool = false) throws -> Setup {
        try Self.setup(profile: profile, durationSeconds: durationSeconds, fromAgent: fromAgent, environment: world.environment)
    }

    /// The one wiring of config, plan and cache, for the warm path and the
    /// cold one alike.
    static func setup(profile: String?, durationSeconds: Int?, fromAgent: Bool, environment: Environment) throws -> Setup {
        let config = try SharedConfig.load(environment: environment)
        guard let location = VaultLocation.standard(in: environment), let cache = SessionCache.standard(in: environment) else {
            throw LatchkeyError(.failure, "cannot find the home directory: set HOME (or XDG_DATA_HOME and XDG_CACHE_HOME)")
        }
        let resolver = ProfileResolver(
            config: config, environment: environment, sealedKeys: SealedKeyIndex.read(at: location), durationSeconds: durationSeconds)
        let name = SharedConfig.selectedProfileName(explicit: profile, environment: environment)
        let plan = fromAgent ? try resolver.agentPlan(profile: name) : try resolver.plan(profile: name)
        return Setup(config: config, plan: plan, cache: cache)
    }

    /// The profile's credentials: cached while more than 15 minutes remain,
    /// else new ones (with an MFA code where the plan needs one, one use
    /// each), or with `--agent` from the latchkey agent. `vault` is one
    /// already open (the agent's, under `--unlock-for`).
    public func obtain(_ request: CredentialRequest, vault: VaultSession? = nil) throws -> (session: CachedSession, setup: Setup) {
        let setup = try setup(profile: request.profile, durationSeconds: request.durationSeconds, fromAgent: request.fromAgent)
        let vault = try vault ?? VaultSession(world: world, passphraseFile: request.passphraseFile)
        return (try credentials(for: setup.plan, setup: setup, request: request, vault: vault), setup)
    }

    /// `plan`'s credentials (the profile's own, or a step of it such as
    /// `keys rotate`'s MFA session) through the broker: cache, codes, STS.
    func credentials(for plan: CredentialPlan, setup: Setup, request: CredentialRequest, vault: VaultSession) throws -> CachedSession {
        var broker = CredentialBroker(
            cache: setup.cache, transport: world.http,
            codes: MFACodes(request: request, world: world, vault: vault),
            keys: LongTermKeys(config: setup.config, environment: world.environment, vault: vault),
            environment: world.environment, clock: world.clock)
        broker.remote = AgentClient(world: world)
        broker.refresh = request.refresh
        broker.note = world.output.writeError
        return try broker.credentials(for: plan)
    }

    /// The cache entries of every profile whose chain starts from access key
    /// `id` (at each profile's configured duration), to drop once the key is
    /// replaced. Profiles that cannot be planned are skipped.
    func cacheKeys(usingKey id: String, config: SharedConfig) -> [CacheKey] {
        guard let location = VaultLocation.standard(in: world.environment) else { return [] }
        let resolver = ProfileResolver(config: config, environment: world.environment, sealedKeys: SealedKeyIndex.read(at: location))
        return config.profileNames.flatMap { name -> [CacheKey] in
            guard let plan = try? resolver.plan(profile: name), plan.step.rootKeys?.accessKeyID == id else { return [] }
            return plan.allCacheKeys
        }
    }

    /// The long-term keys a profile's chain starts from (for IAM calls such
    /// as `mfa enroll`), with the clients they sign for.
    public func longTermKeys(profile: String?, passphraseFile: String?) throws -> ProfileKeys {
        let setup = try setup(profile: profile, durationSeconds: nil)
        guard let source = setup.plan.step.rootKeys else {
            throw LatchkeyError(.noCredentials, "profile '\(setup.plan.profile)' has no long-term keys of an IAM user (it uses credential_process)")
        }
        let vault = try VaultSession(world: world, passphraseFile: passphraseFile)
        let credentials = try LongTermKeys(config: setup.config, environment: world.environment, vault: vault).credentials(for: source)
        return ProfileKeys(world: world, setup: setup, credentials: credentials)
    }
}

/// Long-term keys from the vault, the shared files or the environment.
struct LongTermKeys: LongTermKeyStore {
    var config: SharedConfig
    var environment: Environment
    var vault: VaultSession

    func credentials(for source: LongTermKeySource) throws -> AWSCredentials {
        switch source {
        case .sealed(let profile, _):
            guard let entry = try vault.contents().entry(.awsAccessKey, named: profile), let key = SealedAWSKey(entry) else {
                throw LatchkeyError(.noCredentials, "the keys sealed for profile '\(profile)' are gone from the vault (run `latchkey keys list`)")
            }
            return AWSCredentials(
                accessKeyID: key.accessKeyID, secretAccessKey: String(decoding: key.secretAccessKey.bytes, as: UTF8.self))
        case .sharedFile(let profile, _):
            guard let section = config.profile(named: profile), let id = section.nonEmpty("aws_access_key_id"),
                let secret = section.nonEmpty("aws_secret_access_key")
            else { throw LatchkeyError(.noCredentials, "profile '\(profile)' lost its keys") }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret)
        case .environment:
            guard let id = environment.nonEmpty("AWS_ACCESS_KEY_ID"), let secret = environment.nonEmpty("AWS_SECRET_ACCESS_KEY") else {
                throw LatchkeyError(.noCredentials, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set")
            }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret)
        }
    }
}
