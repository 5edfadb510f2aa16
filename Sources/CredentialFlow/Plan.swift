import AWSConfig
import SessionCache

/// Where a profile's long-term access key comes from. Only the access key id
/// is known while planning; the secret is fetched when a call needs it.
public enum LongTermKeySource: Sendable, Equatable, CustomStringConvertible {
    /// Sealed in latchkey's vault for this profile (`latchkey keys add`).
    case sealed(profile: String, accessKeyID: String)
    /// `aws_access_key_id` / `aws_secret_access_key` in the profile.
    case sharedFile(profile: String, accessKeyID: String)
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    case environment(accessKeyID: String)

    public var accessKeyID: String {
        switch self {
        case .sealed(_, let id), .sharedFile(_, let id), .environment(let id): id
        }
    }

    public var description: String {
        switch self {
        case .sealed(let profile, let id): "\(id) (sealed for profile '\(profile)')"
        case .sharedFile(let profile, let id): "\(id) (profile '\(profile)' in the shared files)"
        case .environment(let id): "\(id) (AWS_ACCESS_KEY_ID)"
        }
    }
}

/// The MFA device a call uses, and how the profile that names it wants codes made.
public struct MFAUse: Sendable, Equatable {
    public enum Device: Sendable, Equatable {
        case serial(String)
        /// The profile has no `mfa_serial`: ask IAM (ListMFADevices) and use
        /// the user's only device.
        case discover
    }

    public var device: Device
    /// The profile whose settings these are.
    public var profile: String
    /// `latchkey_mfa`: `yubikey`, `sealed` or `prompt`.
    public var preferredSource: String?
    /// `latchkey_oath_account`: the account on the key or in the vault
    /// (default: the serial).
    public var oathAccount: String?
    /// `latchkey_reader`.
    public var reader: String?

    public init(device: Device, profile: String, preferredSource: String? = nil, oathAccount: String? = nil, reader: String? = nil) {
        self.device = device
        self.profile = profile
        self.preferredSource = preferredSource
        self.oathAccount = oathAccount
        self.reader = reader
    }

    var cacheText: String {
        switch device {
        case .serial(let serial): serial
        case .discover: "discover"
        }
    }
}

/// An AssumeRole call's parameters.
public struct RoleRequest: Sendable, Equatable {
    public var roleARN: String
    public var sessionName: String
    public var externalID: String?
    public var sourceIdentity: String?
    public var durationSeconds: Int
}

/// How a profile's credentials are made, innermost call first.
public indirect enum CredentialStep: Sendable, Equatable {
    case longTerm(LongTermKeySource)
    /// A source profile's own `credential_process` (never latchkey itself).
    case process(profile: String, command: String)
    /// GetSessionToken with an MFA code: an MFA session.
    case sessionToken(LongTermKeySource, mfa: MFAUse, durationSeconds: Int)
    /// AssumeRole with the source's credentials, with an MFA code when `mfa` is set.
    case assumeRole(source: CredentialStep, role: RoleRequest, mfa: MFAUse?)
    /// A session a latchkey agent makes from its own machine's profile of
    /// this name (the MFA, the keys and the roles are all over there).
    case agent(profile: String, durationSeconds: Int?)

    /// Whether making these credentials needs an MFA code anywhere.
    public var usesMFA: Bool {
        switch self {
        case .longTerm, .process: false
        case .sessionToken, .agent: true
        case .assumeRole(let source, _, let mfa): mfa != nil || source.usesMFA
        }
    }

    /// The long-term keys this chain starts from, if it starts from keys.
    public var rootKeys: LongTermKeySource? {
        switch self {
        case .longTerm(let source), .sessionToken(let source, _, _): source
        case .process, .agent: nil
        case .assumeRole(let source, _, _): source.rootKeys
        }
    }
}

/// Everything needed to make one profile's credentials.
public struct CredentialPlan: Sendable, Equatable {
    public var profile: String
    public var step: CredentialStep
    public var region: String?
    public var sts: ServiceEndpoint
    public var iam: ServiceEndpoint
    /// The CA bundle to verify STS and IAM against (`AWS_CA_BUNDLE`, else
    /// the profile's `ca_bundle`); `nil` for the system's.
    public var caBundle: String? = nil

    /// The cache entry for `step`'s result; `nil` for steps that are not
    /// cached (long-term keys, another tool's `credential_process`).
    public func cacheKey(for step: CredentialStep) -> CacheKey? {
        let endpoint = stsIdentity
        switch step {
        case .longTerm, .process:
            return nil
        case .sessionToken(let keys, let mfa, let duration):
            return CacheKey("mfa-session", [
                "source": "key:" + keys.accessKeyID, "mfa": mfa.cacheText, "duration": String(duration), "sts": endpoint,
            ])
        case .assumeRole(let source, let role, let mfa):
            let sourceText: String = switch source {
            case .longTerm(let keys): "key:" + keys.accessKeyID
            case .process(let profile, let command): "process:\(profile):\(command)"
            default: cacheKey(for: source)?.fileName ?? ""
            }
            var parts = [
                "source": sourceText, "role": role.roleARN, "session": role.sessionName,
                "duration": String(role.durationSeconds), "sts": endpoint,
            ]
            if let external = role.externalID { parts["external_id"] = external }
            if let identity = role.sourceIdentity { parts["source_identity"] = identity }
            if let mfa { parts["mfa"] = mfa.cacheText }
            return CacheKey("role", parts)
        case .agent(let profile, let duration):
            // The agent's machine chooses the endpoint and the default
            // length; what this side asked is all that tells sessions apart.
            return CacheKey("agent", ["profile": profile, "duration": duration.map(String.init) ?? "default"])
        }
    }

    /// Which STS issues the sessions, as far as it changes them: a
    /// configured endpoint (a test server, a VPC endpoint) by its URL; AWS's
    /// own endpoints by partition, since a session from any of them works
    /// everywhere, so profiles in different regions still share one MFA session.
    var stsIdentity: String {
        switch sts.source {
        case .regional, .global:
            let host = sts.url.host
            return host.hasSuffix(".amazonaws.com.cn") ? "aws-cn" : host.contains("us-gov") ? "aws-us-gov" : "aws"
        default:
            return sts.url.description
        }
    }

    /// The cache key of the profile's final credentials.
    public var cacheKey: CacheKey? { cacheKey(for: step) }

    /// Every cache key along the chain, outermost first.
    public var allCacheKeys: [CacheKey] {
        var keys: [CacheKey] = []
        var current: CredentialStep? = step
        while let step = current {
            if let key = cacheKey(for: step) { keys.append(key) }
            if case .assumeRole(let source, _, _) = step { current = source } else { current = nil }
        }
        return keys
    }
}
