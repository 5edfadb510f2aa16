import AWSConfig
import Testing

@testable import CredentialFlow

let aliceSerial = "arn:aws:iam::123456789012:mfa/alice"
let adminRole = "arn:aws:iam::123456789012:role/admin"

/// The keys of profile `dev` in the credentials file.
let devCredentials = """
    [dev]
    aws_access_key_id = AKIADEV
    aws_secret_access_key = dev-secret
    """

/// A user with keys and a YubiKey, and two roles opened with it.
let teamConfig = """
    [profile dev]
    mfa_serial = arn:aws:iam::123456789012:mfa/alice
    region = eu-west-1

    [profile admin]
    role_arn = arn:aws:iam::123456789012:role/admin
    source_profile = dev
    mfa_serial = arn:aws:iam::123456789012:mfa/alice
    region = eu-west-1

    [profile readonly]
    role_arn = arn:aws:iam::123456789012:role/readonly
    source_profile = dev
    mfa_serial = arn:aws:iam::123456789012:mfa/alice
    region = eu-west-1
    """

private let devKeys = LongTermKeySource.sharedFile(profile: "dev", accessKeyID: "AKIADEV")

private func alice(_ profile: String) -> MFAUse { MFAUse(device: .serial(aliceSerial), profile: profile) }

private func role(_ arn: String, session: String, duration: Int = 3_600, externalID: String? = nil) -> RoleRequest {
    RoleRequest(
        roleARN: arn, sessionName: session, externalID: externalID, sourceIdentity: nil, durationSeconds: duration)
}

@Suite("ProfileResolver: which STS calls make a profile's credentials")
struct ProfileResolverTests {
    // MARK: - MFA sessions

    @Test("A profile with keys and mfa_serial is one GetSessionToken of 12 hours")
    func sessionTokenDefault() throws {
        let plan = try resolvePlan("dev", config: teamConfig, credentials: devCredentials)
        #expect(plan.profile == "dev")
        #expect(plan.step == .sessionToken(devKeys, mfa: alice("dev"), durationSeconds: 43_200))
        #expect(plan.step.usesMFA)
        #expect(plan.step.rootKeys == devKeys)
    }

    @Test("duration_seconds sets the session's length, and --duration beats it")
    func sessionTokenDuration() throws {
        let config = teamConfig.replacingOccurrences(
            of: "region = eu-west-1\n\n[profile admin]",
            with: "region = eu-west-1\nduration_seconds = 7200\n\n[profile admin]")
        #expect(config != teamConfig)
        let configured = try resolvePlan("dev", config: config, credentials: devCredentials)
        #expect(configured.step == .sessionToken(devKeys, mfa: alice("dev"), durationSeconds: 7_200))
        let overridden = try resolvePlan("dev", config: config, credentials: devCredentials, durationSeconds: 900)
        #expect(overridden.step == .sessionToken(devKeys, mfa: alice("dev"), durationSeconds: 900))
    }

    @Test("A duration_seconds that is not a positive number is a profile error", arguments: ["abc", "0", "-60", "1h"])
    func badDuration(_ text: String) {
        expectFlowError(.invalidProfile("dev", "duration_seconds must be a number of seconds")) {
            try resolvePlan(
                "dev", config: "[profile dev]\nmfa_serial = \(aliceSerial)\nduration_seconds = \(text)",
                credentials: devCredentials)
        }
    }

    @Test("Without mfa_serial the device is discovered, and the latchkey_* settings travel with it")
    func discoveredDevice() throws {
        let plan = try resolvePlan(
            "dev",
            config:
                "[profile dev]\nlatchkey_mfa = sealed\nlatchkey_oath_account = AWS:alice\nlatchkey_reader = Yubico YubiKey",
            credentials: devCredentials)
        let use = MFAUse(
            device: .discover, profile: "dev", preferredSource: "sealed", oathAccount: "AWS:alice",
            reader: "Yubico YubiKey")
        #expect(plan.step == .sessionToken(devKeys, mfa: use, durationSeconds: 43_200))
    }

    // MARK: - Roles

    @Test("A role with mfa_serial from keys is assumed with a shared 12-hour MFA session, 1 hour, no second code")
    func roleThroughMFASession() throws {
        let plan = try resolvePlan("admin", config: teamConfig, credentials: devCredentials)
        #expect(
            plan.step
                == .assumeRole(
                    source: .sessionToken(devKeys, mfa: alice("admin"), durationSeconds: 43_200),
                    role: role(adminRole, session: "alice"), mfa: nil))
        #expect(plan.step.usesMFA)
        #expect(plan.step.rootKeys == devKeys)
    }

    @Test("A role asking for more than role chaining's hour is assumed straight from the keys with the code")
    func roleBeyondChainingLimit() throws {
        let config = teamConfig + "\nduration_seconds = 7200\n"
        let direct = CredentialStep.assumeRole(
            source: .longTerm(devKeys),
            role: role("arn:aws:iam::123456789012:role/readonly", session: "alice", duration: 7_200),
            mfa: alice("readonly"))
        #expect(try resolvePlan("readonly", config: config, credentials: devCredentials).step == direct)
        // The same through --duration, and the limit itself still chains.
        let viaFlag = try resolvePlan("admin", config: teamConfig, credentials: devCredentials, durationSeconds: 3_601)
        #expect(
            viaFlag.step
                == .assumeRole(
                    source: .longTerm(devKeys), role: role(adminRole, session: "alice", duration: 3_601),
                    mfa: alice("admin")))
        let atLimit = try resolvePlan("admin", config: teamConfig, credentials: devCredentials, durationSeconds: 3_600)
        #expect(
            atLimit.step
                == .assumeRole(
                    source: .sessionToken(devKeys, mfa: alice("admin"), durationSeconds: 43_200),
                    role: role(adminRole, session: "alice"), mfa: nil))
    }

    @Test("A role without mfa_serial is assumed with the keys alone, named after $USER")
    func roleWithoutMFA() throws {
        let config =
            "[profile ops]\nrole_arn = \(adminRole)\nsource_profile = dev\nexternal_id = ext-42\n\n[profile dev]\n"
        let plan = try resolvePlan("ops", config: config, credentials: devCredentials, environment: ["USER": "carol"])
        #expect(
            plan.step
                == .assumeRole(
                    source: .longTerm(devKeys), role: role(adminRole, session: "carol", externalID: "ext-42"), mfa: nil)
        )
        #expect(!plan.step.usesMFA)
    }

    @Test("Role to role: the inner role opens the MFA session, the outer is assumed with the inner's credentials")
    func roleChain() throws {
        let config =
            teamConfig
            + "\n\n[profile deploy]\nrole_arn = arn:aws:iam::210987654321:role/deploy\nsource_profile = admin\n"
        let plan = try resolvePlan(
            "deploy", config: config, credentials: devCredentials, environment: ["USER": "alice.b"])
        let inner = CredentialStep.assumeRole(
            source: .sessionToken(devKeys, mfa: alice("admin"), durationSeconds: 43_200),
            role: role(adminRole, session: "alice"),
            mfa: nil)
        #expect(
            plan.step
                == .assumeRole(
                    source: inner, role: role("arn:aws:iam::210987654321:role/deploy", session: "alice.b"), mfa: nil))
        // An outer role with its own device gets the code in its own call.
        let withOwnMFA = try resolvePlan(
            "deploy", config: config + "mfa_serial = arn:aws:iam::123456789012:mfa/bob\n", credentials: devCredentials)
        #expect(
            withOwnMFA.step
                == .assumeRole(
                    source: inner, role: role("arn:aws:iam::210987654321:role/deploy", session: "bob"),
                    mfa: MFAUse(device: .serial("arn:aws:iam::123456789012:mfa/bob"), profile: "deploy")))
    }

    @Test("A role profile may be its own source when it holds the keys")
    func selfSourced() throws {
        let config = "[profile solo]\nrole_arn = \(adminRole)\nsource_profile = solo\nmfa_serial = \(aliceSerial)\n"
        let keys = "[solo]\naws_access_key_id = AKIASOLO\naws_secret_access_key = s\n"
        let plan = try resolvePlan("solo", config: config, credentials: keys)
        let soloKeys = LongTermKeySource.sharedFile(profile: "solo", accessKeyID: "AKIASOLO")
        #expect(
            plan.step
                == .assumeRole(
                    source: .sessionToken(soloKeys, mfa: alice("solo"), durationSeconds: 43_200),
                    role: role(adminRole, session: "alice"),
                    mfa: nil))
        // Without keys of its own it fails, even with keys in the environment.
        expectFlowError(.noLongTermKeys("solo")) {
            try resolvePlan(
                "solo", config: config, environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"])
        }
    }

    @Test("credential_source = Environment takes the keys from AWS_ACCESS_KEY_ID; other sources are refused")
    func credentialSource() throws {
        let config = "[profile ci]\nrole_arn = \(adminRole)\ncredential_source = Environment\n"
        let environment = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e", "USER": "ci"]
        let plan = try resolvePlan("ci", config: config, environment: environment)
        #expect(
            plan.step
                == .assumeRole(
                    source: .longTerm(.environment(accessKeyID: "AKIAENV")), role: role(adminRole, session: "ci"),
                    mfa: nil))
        for source in ["Ec2InstanceMetadata", "EcsContainer", "environment"] {
            expectFlowError(.unsupportedCredentialSource("ci", source)) {
                try resolvePlan(
                    "ci", config: "[profile ci]\nrole_arn = \(adminRole)\ncredential_source = \(source)\n",
                    environment: environment)
            }
        }
        expectFlowError(.invalidProfile("ci", "role_arn needs source_profile or credential_source")) {
            try resolvePlan("ci", config: "[profile ci]\nrole_arn = \(adminRole)\n", environment: environment)
        }
    }

    @Test(
        "credential_source = Environment with no keys in the environment says so, not that Environment is unsupported")
    func environmentSourceWithoutKeys() {
        do {
            _ = try resolvePlan(
                "ci", config: "[profile ci]\nrole_arn = \(adminRole)\ncredential_source = Environment\n")
            Issue.record("planned a role from an environment without keys")
        } catch {
            #expect(!"\(error)".contains("is not supported"), "\(error)")
        }
    }

    // MARK: - Where keys come from

    @Test("Keys sealed in the vault win over the profile's keys")
    func sealedKeysWin() throws {
        let plan = try resolvePlan(
            "dev", config: teamConfig, credentials: devCredentials, sealedKeys: ["dev": "AKIASEALED"])
        #expect(
            plan.step
                == .sessionToken(
                    .sealed(profile: "dev", accessKeyID: "AKIASEALED"), mfa: alice("dev"), durationSeconds: 43_200))
        let role = try resolvePlan(
            "admin", config: teamConfig, credentials: devCredentials, sealedKeys: ["dev": "AKIASEALED"])
        #expect(role.step.rootKeys == .sealed(profile: "dev", accessKeyID: "AKIASEALED"))
    }

    @Test("Environment keys serve the requested profile only, and never with AWS_SESSION_TOKEN")
    func environmentKeys() throws {
        let keys = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"]
        let plan = try resolvePlan("dev", config: teamConfig, environment: keys)
        #expect(
            plan.step == .sessionToken(.environment(accessKeyID: "AKIAENV"), mfa: alice("dev"), durationSeconds: 43_200)
        )
        expectFlowError(.noLongTermKeys("dev")) {
            try resolvePlan("dev", config: teamConfig, environment: keys.merging(["AWS_SESSION_TOKEN": "t"]) { $1 })
        }
        expectFlowError(.noLongTermKeys("dev")) {
            try resolvePlan("admin", config: teamConfig, environment: keys)
        }
        // Keys in the files beat the environment's.
        let fromFile = try resolvePlan("dev", config: teamConfig, credentials: devCredentials, environment: keys)
        #expect(fromFile.step.rootKeys == devKeys)
    }

    @Test("A session token in the profile means its keys are not long-term")
    func profileSessionToken() {
        expectFlowError(.noLongTermKeys("dev")) {
            try resolvePlan("dev", config: teamConfig, credentials: devCredentials + "\naws_session_token = t\n")
        }
    }

    @Test("Profile `default` may be absent when the environment or the vault holds keys")
    func absentDefault() throws {
        let plan = try resolvePlan(
            "default", config: "", environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"])
        #expect(
            plan.step
                == .sessionToken(
                    .environment(accessKeyID: "AKIAENV"), mfa: MFAUse(device: .discover, profile: "default"),
                    durationSeconds: 43_200))
        let sealed = try resolvePlan("default", config: "", sealedKeys: ["default": "AKIASEALED"])
        #expect(sealed.step.rootKeys == .sealed(profile: "default", accessKeyID: "AKIASEALED"))
        expectFlowError(.profileNotFound("default")) { try resolvePlan("default", config: "") }
    }

    // MARK: - Failures

    @Test("Missing profiles, a missing source, no keys, and loops")
    func failures() {
        expectFlowError(.profileNotFound("nope")) {
            try resolvePlan("nope", config: teamConfig, credentials: devCredentials)
        }
        expectFlowError(.profileNotFound("ghost")) {
            try resolvePlan("r", config: "[profile r]\nrole_arn = \(adminRole)\nsource_profile = ghost\n")
        }
        expectFlowError(.noLongTermKeys("dev")) { try resolvePlan("dev", config: teamConfig) }
        expectFlowError(.noLongTermKeys("dev")) { try resolvePlan("admin", config: teamConfig) }
        let loop = """
            [profile a]
            role_arn = arn:aws:iam::123456789012:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::123456789012:role/b
            source_profile = c
            [profile c]
            role_arn = arn:aws:iam::123456789012:role/c
            source_profile = a
            """
        expectFlowError(.cycle(["a", "b", "c", "a"])) { try resolvePlan("a", config: loop) }
        expectFlowError(.cycle(["b", "c", "a", "b"])) { try resolvePlan("b", config: loop) }
    }

    // MARK: - credential_process sources

    @Test("A source whose credential_process is another tool is run as a process, the role taking the code")
    func foreignProcessSource() throws {
        let config = """
            [profile sso]
            credential_process = /usr/local/bin/aws-sso-util credential-process --profile x
            [profile app]
            role_arn = \(adminRole)
            source_profile = sso
            mfa_serial = \(aliceSerial)
            """
        let plan = try resolvePlan("app", config: config)
        let process = CredentialStep.process(
            profile: "sso", command: "/usr/local/bin/aws-sso-util credential-process --profile x")
        #expect(plan.step == .assumeRole(source: process, role: role(adminRole, session: "alice"), mfa: alice("app")))
        #expect(plan.step.rootKeys == nil)
    }

    /// The team's config plus profile `app`, a role whose source profile
    /// `wrapped` has `credential_process = command`.
    static func roleOverProcess(_ command: String, extra: String = "") -> String {
        teamConfig
            + "\n\n[profile wrapped]\ncredential_process = \(command)\n\n[profile app]\nrole_arn = \(adminRole)\nsource_profile = wrapped\n"
            + extra
    }

    @Test(
        "A source running `latchkey credential-process` is planned as that profile, in this process",
        arguments: [
            "latchkey credential-process --profile dev",
            "/usr/local/bin/latchkey credential-process --profile dev",
            "latchkey credential-process --profile=dev",
            "\"/opt/bin/latchkey\" credential-process --yubikey --profile 'dev'",
            "latchkey credential-process --duration 12h --profile dev --reader \"Yubico\"",
            "latchkey credential-process --profile dev --reader \"Yubico YubiKey OTP+FIDO+CCID 00 00\"",
            "'/opt/my apps/latchkey' credential-process --profile \"dev\"",
        ])
    func latchkeySource(_ command: String) throws {
        let config = Self.roleOverProcess(command)
        let plan = try resolvePlan("app", config: config, credentials: devCredentials, environment: ["USER": "carol"])
        #expect(
            plan.step
                == .assumeRole(
                    source: .sessionToken(devKeys, mfa: alice("dev"), durationSeconds: 43_200),
                    role: role(adminRole, session: "carol"), mfa: nil))
    }

    @Test("`latchkey credential-process` without --profile means profile default")
    func latchkeySourceDefault() throws {
        let config =
            "[default]\nmfa_serial = \(aliceSerial)\n[profile wrapped]\ncredential_process = latchkey credential-process\n[profile app]\nrole_arn = \(adminRole)\nsource_profile = wrapped\n"
        let keys = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n"
        let plan = try resolvePlan("app", config: config, credentials: keys, environment: ["USER": "u"])
        #expect(plan.step.rootKeys == .sharedFile(profile: "default", accessKeyID: "AKIADEFAULT"))
    }

    // The run latchkey stands in for inherits AWS_PROFILE (the runner passes
    // it on) and would read it, as `latchkey credential-process` does.
    @Test("`latchkey credential-process` without --profile means the profile the environment names")
    func latchkeySourceFromEnvironment() throws {
        let wrapped = "[profile wrapped]\ncredential_process = latchkey credential-process\n"
        let config =
            "[default]\nmfa_serial = \(aliceSerial)\n[profile dev]\nmfa_serial = \(aliceSerial)\n" + wrapped
            + "[profile app]\nrole_arn = \(adminRole)\nsource_profile = wrapped\n"
        let keys = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n" + devCredentials + "\n"
        for (variable, value) in [("AWS_PROFILE", "dev"), ("AWS_DEFAULT_PROFILE", "dev")] {
            let plan = try resolvePlan("app", config: config, credentials: keys, environment: ["USER": "u", variable: value])
            #expect(plan.step.rootKeys == devKeys, "\(variable)")
        }
        // AWS_PROFILE first, as for latchkey's own choice of profile.
        let both = try resolvePlan(
            "app", config: config, credentials: keys,
            environment: ["USER": "u", "AWS_PROFILE": "dev", "AWS_DEFAULT_PROFILE": "default"])
        #expect(both.step.rootKeys == devKeys)
        // The nested run would read the profile that holds it: a loop, not
        // profile default.
        expectFlowError(.cycle(["app", "wrapped", "app"])) {
            try resolvePlan("app", config: config, credentials: keys, environment: ["AWS_PROFILE": "app"])
        }
        expectFlowError(.profileNotFound("gone")) {
            try resolvePlan("app", config: config, credentials: keys, environment: ["AWS_PROFILE": "gone"])
        }
        // A profile that is only that process, chosen by AWS_PROFILE itself.
        expectFlowError(.cycle(["wrapped", "wrapped"])) {
            try resolvePlan("wrapped", config: config, credentials: keys, environment: ["AWS_PROFILE": "wrapped"])
        }
    }

    @Test("Other latchkey invocations as a credential_process are refused; a self-reference is a loop")
    func latchkeyRecursion() {
        for command in ["latchkey exec --profile dev -- aws", "/usr/bin/latchkey", "latchkey auth --profile dev"] {
            let config =
                "[profile wrapped]\ncredential_process = \(command)\n[profile app]\nrole_arn = \(adminRole)\nsource_profile = wrapped\n"
            expectFlowError(.recursion("wrapped")) { try resolvePlan("app", config: config) }
        }
        let loop =
            "[profile w]\ncredential_process = latchkey credential-process --profile w\n[profile app]\nrole_arn = \(adminRole)\nsource_profile = w\n"
        expectFlowError(.profileNotFound("w")) {
            try resolvePlan("app", config: loop.replacingOccurrences(of: "[profile w]", with: "[profile x]"))
        }
        expectFlowError(.cycle(["app", "w", "w"])) { try resolvePlan("app", config: loop) }
    }

    @Test("Which commands count as latchkey, by the first word's base name")
    func latchkeyInvocation() {
        #expect(ProfileResolver.latchkeyInvocation("latchkey credential-process") == .credentialProcess(profile: nil))
        #expect(
            ProfileResolver.latchkeyInvocation("latchkey\tcredential-process\t--profile\tp")
                == .credentialProcess(profile: "p"))
        #expect(
            ProfileResolver.latchkeyInvocation("~/bin/latchkey credential-process --profile=a --profile b")
                == .credentialProcess(profile: "b"))
        #expect(ProfileResolver.latchkeyInvocation("latchkey whoami") == .refused)
        #expect(ProfileResolver.latchkeyInvocation("latchkey-old credential-process --profile p") == .runAsProcess)
        #expect(
            ProfileResolver.latchkeyInvocation("/opt/latchkey/bin/aws-vault export --format=json p") == .runAsProcess)
        #expect(ProfileResolver.latchkeyInvocation("") == .runAsProcess)
        // The shell cannot split it: run, it fails there.
        #expect(ProfileResolver.latchkeyInvocation("latchkey credential-process --profile 'dev") == .runAsProcess)
    }

    @Test(
        "`credential-process`'s arguments are read with CredentialOption's table: what it does not read is never planned",
        arguments: [
            // Not options of credential-process, a missing value, a short flag, a stray word.
            "latchkey credential-process --profile dev --verbose", "latchkey credential-process --profile",
            "latchkey credential-process -p dev", "latchkey credential-process dev", "latchkey credential-process --help",
        ])
    func unreadInvocation(_ command: String) {
        #expect(ProfileResolver.latchkeyInvocation(command) == .refused)
        let config = Self.roleOverProcess(command)
        expectFlowError(.recursion("wrapped")) {
            try resolvePlan("app", config: config, credentials: devCredentials, environment: ["USER": "carol"])
        }
    }

    @Test("A value that looks like an option is still the value: `--reader --profile` names a reader")
    func valueThatLooksLikeAnOption() {
        #expect(
            ProfileResolver.latchkeyInvocation("latchkey credential-process --reader --profile --profile dev")
                == .credentialProcess(profile: "dev"))
    }

    @Test("A source asking the latchkey agent (`credential-process --agent`) is run as a process: its machine makes them")
    func agentSource() throws {
        let command = "latchkey credential-process --agent --profile dev"
        #expect(ProfileResolver.latchkeyInvocation(command) == .runAsProcess)
        let config = Self.roleOverProcess(command, extra: "mfa_serial = \(aliceSerial)\n")
        let plan = try resolvePlan("app", config: config, credentials: devCredentials, environment: ["USER": "carol"])
        #expect(
            plan.step
                == .assumeRole(
                    source: .process(profile: "wrapped", command: command), role: role(adminRole, session: "alice"),
                    mfa: alice("app")))
    }

    // MARK: - Role session names

    @Test("role_session_name, else the MFA device's user, else $USER, made valid for AssumeRole")
    func sessionNames() throws {
        func name(_ lines: String, _ environment: [String: String]) throws -> String? {
            let plan = try resolvePlan(
                "r", config: "[profile r]\nrole_arn = \(adminRole)\nsource_profile = dev\n\(lines)\n[profile dev]\n",
                credentials: devCredentials, environment: environment)
            guard case .assumeRole(_, let role, _) = plan.step else { return nil }
            return role.sessionName
        }
        #expect(try name("role_session_name = build-42\nmfa_serial = \(aliceSerial)", ["USER": "u"]) == "build-42")
        #expect(try name("mfa_serial = \(aliceSerial)", ["USER": "u"]) == "alice")
        #expect(try name("mfa_serial = arn:aws:iam::123456789012:mfa/team/bob.smith", ["USER": "u"]) == "bob.smith")
        // A hardware token's serial is not an ARN: no user in it.
        #expect(try name("mfa_serial = GAHT12345678", ["USER": "dave"]) == "dave")
        #expect(try name("", ["USER": "eve"]) == "eve")
        #expect(try name("", ["LOGNAME": "frank"]) == "frank")
        #expect(try name("", ["USER": "j doe"]) == "j-doe")
        #expect(try name("", [:]) == "latchkey")
    }

    @Test("latchkey_mfa, latchkey_oath_account and latchkey_reader of the role profile reach the MFA session")
    func latchkeySettings() throws {
        let config = teamConfig.replacingOccurrences(
            of:
                "source_profile = dev\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nregion = eu-west-1\n\n[profile readonly]",
            with:
                "source_profile = dev\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = yubikey\nlatchkey_oath_account = Amazon Web Services:alice@123456789012\nlatchkey_reader = Yubico YubiKey OTP+FIDO+CCID 01 00\n\n[profile readonly]"
        )
        #expect(config != teamConfig)
        let plan = try resolvePlan("admin", config: config, credentials: devCredentials)
        let use = MFAUse(
            device: .serial(aliceSerial), profile: "admin", preferredSource: "yubikey",
            oathAccount: "Amazon Web Services:alice@123456789012", reader: "Yubico YubiKey OTP+FIDO+CCID 01 00")
        #expect(
            plan.step
                == .assumeRole(
                    source: .sessionToken(devKeys, mfa: use, durationSeconds: 43_200),
                    role: role(adminRole, session: "alice"), mfa: nil))
    }

    // MARK: - Region and endpoints

    @Test("The region and STS/IAM endpoints come from the requested profile and the environment")
    func regionAndEndpoints() throws {
        let plan = try resolvePlan("admin", config: teamConfig, credentials: devCredentials)
        #expect(plan.region == "eu-west-1")
        #expect(
            plan.sts
                == ServiceEndpoint(
                    url: EndpointURL(scheme: "https", host: "sts.eu-west-1.amazonaws.com"), signingRegion: "eu-west-1",
                    source: .regional))
        #expect(
            plan.iam
                == ServiceEndpoint(
                    url: EndpointURL(scheme: "https", host: "iam.amazonaws.com"), signingRegion: "us-east-1",
                    source: .global))

        let env = try resolvePlan(
            "admin", config: teamConfig, credentials: devCredentials, environment: ["AWS_REGION": "ap-south-1"])
        #expect(env.region == "ap-south-1")
        #expect(env.sts.url.host == "sts.ap-south-1.amazonaws.com")

        let local = try resolvePlan(
            "dev", config: teamConfig, credentials: devCredentials,
            environment: ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:4566"])
        #expect(
            local.sts
                == ServiceEndpoint(
                    url: EndpointURL(scheme: "http", host: "127.0.0.1", port: 4566), signingRegion: "eu-west-1",
                    source: .environment("AWS_ENDPOINT_URL_STS")))
        #expect(local.iam.url.host == "iam.amazonaws.com")

        let legacy = try resolvePlan(
            "dev", config: "[profile dev]\nregion = us-east-1\nsts_regional_endpoints = legacy\n",
            credentials: devCredentials)
        #expect(legacy.sts.url.host == "sts.amazonaws.com")
        #expect(legacy.sts.signingRegion == "us-east-1")

        let noRegion = try resolvePlan("dev", config: "[profile dev]\n", credentials: devCredentials)
        #expect(noRegion.region == nil)
        #expect(noRegion.sts.source == .global)
    }

    @Test("A region that cannot be a host name is a profile error")
    func badRegion() {
        expectFlowError(.invalidProfile("dev", "\"eu west 1\" is not a valid AWS region name")) {
            try resolvePlan("dev", config: "[profile dev]\nregion = eu west 1\n", credentials: devCredentials)
        }
        expectFlowError(
            .invalidProfile("dev", "the endpoint URL in AWS_ENDPOINT_URL_STS is not a valid http:// or https:// URL")
        ) {
            try resolvePlan(
                "dev", config: "[profile dev]\n", credentials: devCredentials,
                environment: ["AWS_ENDPOINT_URL_STS": "ftp://x"])
        }
    }

    @Test("A profile that only runs `latchkey credential-process --profile X` is planned as X; a loop is a cycle")
    func credentialProcessProfileIsItsTarget() throws {
        let config = teamConfig + """

            [profile consumer]
            credential_process = latchkey credential-process --profile admin

            [profile loop]
            credential_process = /usr/local/bin/latchkey credential-process --profile=loop
            """
        let consumer = try resolvePlan("consumer", config: config, credentials: devCredentials)
        let admin = try resolvePlan("admin", config: config, credentials: devCredentials)
        #expect(consumer.step == admin.step)
        #expect(consumer.cacheKey == admin.cacheKey)
        do {
            _ = try resolvePlan("loop", config: config, credentials: devCredentials)
            Issue.record("a profile naming itself was planned")
        } catch {
            #expect("\(error)".contains("loops"), "\(error)")
        }
    }
}
