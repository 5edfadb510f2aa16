import AWSConfig
import STS
import SystemSupport

/// Turns a profile of the shared config into a ``CredentialPlan``, without
/// touching the network, a key or the vault: the warm `credential-process`
/// path plans, finds the cache entry, and prints it.
///
/// The rules (what a careful aws-vault or AWS CLI user expects):
/// - `role_arn` + `source_profile` (or `credential_source = Environment`):
///   AssumeRole with the source's credentials. When the role profile has
///   `mfa_serial` and the source is long-term keys, an MFA session
///   (GetSessionToken, 12 h) is made once per (keys, device) and shared by
///   every such role, and the role is assumed with it without another code.
///   Role chaining caps such a role at 1 hour, so asking for more assumes
///   the role straight from the keys with the MFA code instead.
/// - A role whose source is itself a role (or another tool's process) gets
///   the MFA code in its own AssumeRole call.
/// - Any other profile: GetSessionToken with its long-term keys and an MFA
///   code (the device from `mfa_serial`, else discovered through IAM).
/// - Long-term keys: sealed in the vault for the profile, else in the
///   profile, else (top profile only) `AWS_ACCESS_KEY_ID`.
/// - `credential_process` naming latchkey itself is never run: `latchkey
///   credential-process --profile X` as a source is planned as profile X.
///   Without `--profile`, it is planned as the profile that run would
///   choose from the environment it inherits (`AWS_PROFILE`, then
///   `AWS_DEFAULT_PROFILE`, then `default`).
public struct ProfileResolver {
    public var config: SharedConfig
    public var environment: Environment
    /// Profile → access key id of the keys sealed in the vault.
    public var sealedKeys: [String: String]
    /// `--duration`, when given.
    public var durationSeconds: Int?

    public static let defaultSessionDuration = 43_200
    public static let defaultRoleDuration = 3_600
    /// The longest role session that role chaining allows.
    public static let roleChainingLimit = 3_600
    /// The MFA session shared by roles.
    public static let mfaSessionDuration = 43_200

    public init(config: SharedConfig, environment: Environment, sealedKeys: [String: String], durationSeconds: Int? = nil) {
        self.config = config
        self.environment = environment
        self.sealedKeys = sealedKeys
        self.durationSeconds = durationSeconds
    }

    public func plan(profile name: String) throws(CredentialFlowError) -> CredentialPlan {
        guard let profile = config.profile(named: name) else {
            if name == "default", sealedKeys[name] != nil || environment.nonEmpty("AWS_ACCESS_KEY_ID") != nil {
                return try finish(name, step(for: ConfigSection(name: name), visited: [], isTop: true))
            }
            throw .profileNotFound(name)
        }
        return try finish(name, step(for: profile, visited: [], isTop: true))
    }

    /// The plan for credentials a latchkey agent makes from its machine's
    /// profile `name`: this machine's profile of that name (when there is
    /// one) only gives the region and endpoints, for `exec` and `whoami`.
    public func agentPlan(profile name: String) throws(CredentialFlowError) -> CredentialPlan {
        try finish(name, .agent(profile: name, durationSeconds: durationSeconds))
    }

    private func finish(_ name: String, _ step: CredentialStep) throws(CredentialFlowError) -> CredentialPlan {
        let profile = config.profile(named: name)
        let region = resolveRegion(environment: environment, profile: profile)?.value
        do {
            let sts = try EndpointResolver.sts(region: region, profile: profile, config: config, environment: environment)
            let iam = try EndpointResolver.iam(region: region, profile: profile, config: config, environment: environment)
            return CredentialPlan(
                profile: name, step: step, region: region, sts: sts, iam: iam,
                caBundle: resolveCABundle(environment: environment, profile: profile)?.value)
        } catch {
            throw .invalidProfile(name, "\(error)")
        }
    }

    private func step(for profile: ConfigSection, visited: [String], isTop: Bool) throws(CredentialFlowError) -> CredentialStep {
        let name = profile.name
        guard !visited.contains(name) else { throw .cycle(visited + [name]) }
        let visited = visited + [name]
        let mfa = mfaUse(profile)

        if let roleARN = profile.nonEmpty("role_arn") {
            let source = try roleSource(profile, visited: visited)
            let configured = try intValue(profile, "duration_seconds")
            let requested = durationSeconds ?? configured ?? Self.defaultRoleDuration
            let role = RoleRequest(
                roleARN: roleARN, sessionName: sessionName(profile, mfa: mfa), externalID: profile.nonEmpty("external_id"),
                sourceIdentity: profile.nonEmpty("source_identity"), durationSeconds: requested)
            guard let mfa else { return .assumeRole(source: source, role: role, mfa: nil) }
            if case .longTerm(let keys) = source, requested <= Self.roleChainingLimit {
                let session = CredentialStep.sessionToken(keys, mfa: mfa, durationSeconds: Self.mfaSessionDuration)
                return .assumeRole(source: session, role: role, mfa: nil)
            }
            return .assumeRole(source: source, role: role, mfa: mfa)
        }

        // A profile that only says `credential_process = latchkey
        // credential-process --profile X` (what the SDKs read) means X.
        if mfa == nil, longTermKeys(profile, allowEnvironment: false) == nil,
            let command = profile.nonEmpty("credential_process"),
            case .credentialProcess(let target) = Self.latchkeyInvocation(command)
        {
            let targetName = nestedProfileName(target)
            guard let targetProfile = config.profile(named: targetName) else { throw .profileNotFound(targetName) }
            return try step(for: targetProfile, visited: visited, isTop: isTop)
        }
        guard let keys = longTermKeys(profile, allowEnvironment: isTop) else { throw .noLongTermKeys(name) }
        let configured = try intValue(profile, "duration_seconds")
        let duration = durationSeconds ?? configured ?? Self.defaultSessionDuration
        return .sessionToken(keys, mfa: mfa ?? MFAUse(device: .discover, profile: name,
            preferredSource: profile.nonEmpty("latchkey_mfa"), oathAccount: profile.nonEmpty("latchkey_oath_account"),
            reader: profile.nonEmpty("latchkey_reader")), durationSeconds: duration)
    }

    /// The credentials a role profile assumes the role with.
    private func roleSource(_ profile: ConfigSection, visited: [String]) throws(CredentialFlowError) -> CredentialStep {
        if let sourceName = profile.nonEmpty("source_profile") {
            if sourceName == profile.name {
                // A profile may be its own source when it holds the keys.
                guard let keys = longTermKeys(profile, allowEnvironment: false) else { throw .noLongTermKeys(profile.name) }
                return .longTerm(keys)
            }
            guard let source = config.profile(named: sourceName) else { throw .profileNotFound(sourceName) }
            return try sourceStep(source, visited: visited)
        }
        if let credentialSource = profile.nonEmpty("credential_source") {
            guard credentialSource == "Environment" else {
                throw .unsupportedCredentialSource(profile.name, credentialSource)
            }
            guard let keys = environmentKeys() else { throw .noEnvironmentKeys(profile.name) }
            return .longTerm(keys)
        }
        throw .invalidProfile(profile.name, "role_arn needs source_profile or credential_source")
    }

    /// A source profile's credentials: its role, its keys, or its process.
    private func sourceStep(_ source: ConfigSection, visited: [String]) throws(CredentialFlowError) -> CredentialStep {
        if source.nonEmpty("role_arn") != nil {
            return try step(for: source, visited: visited, isTop: false)
        }
        if let keys = longTermKeys(source, allowEnvironment: false) { return .longTerm(keys) }
        if let command = source.nonEmpty("credential_process") {
            switch Self.latchkeyInvocation(command) {
            case .runAsProcess:
                return .process(profile: source.name, command: command)
            case .credentialProcess(let profile):
                let targetName = nestedProfileName(profile)
                guard let target = config.profile(named: targetName) else { throw .profileNotFound(targetName) }
                return try step(for: target, visited: visited + [source.name], isTop: false)
            case .refused:
                throw .recursion(source.name)
            }
        }
        throw .noLongTermKeys(source.name)
    }

    /// The profile a `latchkey credential-process` that latchkey would have
    /// run chooses: its `--profile`, else the one the environment it
    /// inherits names. ``CredentialProcessRunner`` passes `AWS_PROFILE` and
    /// `AWS_DEFAULT_PROFILE` on, so the run would have read them.
    private func nestedProfileName(_ explicit: String?) -> String {
        SharedConfig.selectedProfileName(explicit: explicit, environment: environment)
    }

    private func mfaUse(_ profile: ConfigSection) -> MFAUse? {
        guard let serial = profile.nonEmpty("mfa_serial") else { return nil }
        return MFAUse(
            device: .serial(serial), profile: profile.name, preferredSource: profile.nonEmpty("latchkey_mfa"),
            oathAccount: profile.nonEmpty("latchkey_oath_account"), reader: profile.nonEmpty("latchkey_reader"))
    }

    private func longTermKeys(_ profile: ConfigSection, allowEnvironment: Bool) -> LongTermKeySource? {
        if let id = sealedKeys[profile.name] { return .sealed(profile: profile.name, accessKeyID: id) }
        if let id = profile.nonEmpty("aws_access_key_id"), profile.nonEmpty("aws_secret_access_key") != nil,
            profile.nonEmpty("aws_session_token") == nil
        {
            return .sharedFile(profile: profile.name, accessKeyID: id)
        }
        return allowEnvironment ? environmentKeys() : nil
    }

    /// Long-term keys from the environment; temporary ones (with a session
    /// token, as `latchkey exec` leaves them) cannot open an MFA session.
    private func environmentKeys() -> LongTermKeySource? {
        guard let id = environment.nonEmpty("AWS_ACCESS_KEY_ID"), environment.nonEmpty("AWS_SECRET_ACCESS_KEY") != nil,
            environment.nonEmpty("AWS_SESSION_TOKEN") == nil
        else { return nil }
        return .environment(accessKeyID: id)
    }

    /// `role_session_name`, else one derived from the MFA device's user name
    /// (`arn:aws:iam::123456789012:mfa/alice` → `alice`), else `$USER`.
    private func sessionName(_ profile: ConfigSection, mfa: MFAUse?) -> String {
        if let name = profile.nonEmpty("role_session_name") { return name }
        if case .serial(let serial)? = mfa?.device {
            // arn:aws:iam::ACCOUNT:mfa/[PATH/]USER
            if let user = ARN(serial)?.iamName(ofType: "mfa") {
                return RoleSessionName.derived(fromUserName: user)
            }
        }
        return RoleSessionName.derived(fromUserName: environment.nonEmpty("USER") ?? environment.nonEmpty("LOGNAME") ?? "latchkey")
    }

    private func intValue(_ profile: ConfigSection, _ key: String) throws(CredentialFlowError) -> Int? {
        guard let text = profile.nonEmpty(key) else { return nil }
        guard let value = Int(text), value > 0 else { throw .invalidProfile(profile.name, "\(key) must be a number of seconds") }
        return value
    }

    public enum LatchkeyInvocation: Equatable {
        /// Another program, or latchkey asking its agent
        /// (`credential-process --agent`): run it as a process.
        case runAsProcess
        /// `latchkey credential-process [--profile NAME]`: planned here.
        case credentialProcess(profile: String?)
        /// Any other latchkey command line, or one ``CredentialOption``
        /// does not read: never run (latchkey does not call itself).
        case refused
    }

    /// Whether a `credential_process` command runs latchkey (by its first
    /// word's base name), and what for: the command is split into words as
    /// the shell that runs it would (``ShellWords``), and the arguments after
    /// `credential-process` are read with ``CredentialOption``'s table, as
    /// latchkey itself would read them. A command the shell cannot split is
    /// run, and fails there.
    public static func latchkeyInvocation(_ command: String) -> LatchkeyInvocation {
        guard let words = ShellWords.split(command), let first = words.first,
            first.split(separator: "/").last == "latchkey"
        else { return .runAsProcess }
        guard words.count >= 2, words[1] == "credential-process" else { return .refused }
        var profile: String?
        var fromAgent = false
        let read = CredentialOption.read(words[2...], allowing: CredentialOption.allCases, positionals: 0) { option, value in
            switch option {
            case .profile: profile = value
            case .agent: fromAgent = true
            default: break
            }
            return true
        }
        guard read != nil else { return .refused }
        // The agent's credentials are made on its machine, from its own
        // profile: this process cannot stand in for that run.
        return fromAgent ? .runAsProcess : .credentialProcess(profile: profile)
    }
}
