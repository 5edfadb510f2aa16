import Foundation
import OATH
import TestSupport
import Testing

/// auth, credential-process, exec, whoami and logout against latchkey's
/// MFA-checking STS server, with real files under a temporary HOME, and the
/// output consumed by the AWS CLI and boto3.
@Suite("Auth and credential-process against an MFA-checking STS", .serialized)
struct AuthTests {
    @Test("auth prints shell exports the AWS CLI accepts; a second auth is served from the cache")
    func authEnvironmentWorksWithTheAWSCLI() throws {
        let world = try AuthWorld()
        let first = try world.run(["auth", "--profile", "dev"])
        #expect(first.status == 0, "\(first)")
        let lines = first.stdout.split(separator: "\n").map(String.init)
        #expect(lines.map { $0.split(separator: "=").first.map(String.init) ?? "" } == [
            "export AWS_ACCESS_KEY_ID", "export AWS_SECRET_ACCESS_KEY", "export AWS_SESSION_TOKEN", "export AWS_CREDENTIAL_EXPIRATION",
        ])
        #expect(lines[0].hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"))
        #expect(try world.server.stats().count("GetSessionToken") == 1)

        // eval the output in bash and call STS with the AWS CLI.
        let script = first.stdout + "\n\(toolPath("aws")) sts get-caller-identity --region eu-west-1 --output json\n"
        let cli = try world.runTool("/bin/bash", ["-c", script])
        #expect(cli.status == 0, "\(cli)")
        #expect(cli.stdout.contains("\"Arn\": \"\(world.user.arn(account: "123456789012"))\""), "\(cli)")

        let second = try world.run(["auth", "--profile", "dev"])
        #expect(second.stdout == first.stdout)
        let stats = try world.server.stats()
        #expect(stats.count("GetSessionToken") == 1 && stats.mfaChecks == 1, "the cached session was not reused: \(stats)")
    }

    @Test("every --format has the AWS CLI's shape", arguments: [
        ("env", "export AWS_ACCESS_KEY_ID=ASIA"), ("env-no-export", "AWS_ACCESS_KEY_ID=ASIA"),
        ("fish", "set -gx AWS_ACCESS_KEY_ID ASIA"), ("powershell", "$Env:AWS_ACCESS_KEY_ID=\"ASIA"),
        ("windows-cmd", "set AWS_ACCESS_KEY_ID=ASIA"), ("json", "{\"Version\":1,\"AccessKeyId\":\"ASIA"),
    ])
    func formats(format: String, prefix: String) throws {
        let world = try AuthWorld()
        let result = try world.run(["auth", "--profile", "dev", "--format", format])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix(prefix), "\(result)")
        #expect(result.stdout.hasSuffix("\n"))
    }

    @Test("the AWS CLI and boto3 run latchkey as credential_process: one MFA session, one AssumeRole")
    func credentialProcessConsumers() throws {
        let world = try AuthWorld()
        let cli = try world.runTool(toolPath("aws"), ["sts", "get-caller-identity", "--profile", "consumer", "--output", "json"])
        #expect(cli.status == 0, "\(cli)")
        #expect(cli.stdout.contains("assumed-role/admin/alice"), "\(cli)")

        let python = """
            import boto3
            session = boto3.Session(profile_name="consumer")
            print(session.client("sts").get_caller_identity()["Arn"])
            print(session.get_credentials().get_frozen_credentials().access_key)
            """
        let boto = try world.runTool(toolPath("python3"), ["-c", python])
        #expect(boto.status == 0, "\(boto)")
        #expect(boto.lines.first?.hasSuffix(":assumed-role/admin/alice") == true, "\(boto)")

        let direct = try ProcessCredentials(try world.run(["credential-process", "--profile", "admin"]))
        #expect(boto.lines.last == direct.AccessKeyId, "boto3 and latchkey should share the cached role session")
        let stats = try world.server.stats()
        #expect(stats.count("GetSessionToken") == 1, "\(stats)")
        #expect(stats.count("AssumeRole") == 1, "\(stats)")
        #expect(stats.mfaChecks == 1, "\(stats)")
    }

    @Test("credential-process JSON: five keys, Expiration YYYY-MM-DDTHH:MM:SSZ, nothing else on stdout")
    func credentialProcessShape() throws {
        let world = try AuthWorld()
        let result = try world.run(["credential-process", "--profile", "admin"])
        #expect(result.status == 0, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"])
        #expect(object["Version"] as? Int == 1)
        let expiration = try #require(object["Expiration"] as? String)
        #expect(expiration.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(expiration)")
        #expect(result.stdout.filter { $0 == "\n" }.count == 1)
    }

    @Test("two roles from the same keys share one MFA session: the second costs no code")
    func rolesShareTheMFASession() throws {
        let world = try AuthWorld()
        #expect(try world.run(["credential-process", "--profile", "admin"]).status == 0)
        #expect(try world.run(["credential-process", "--profile", "ops"]).status == 0)
        let stats = try world.server.stats()
        #expect(stats.count("GetSessionToken") == 1 && stats.count("AssumeRole") == 2 && stats.mfaChecks == 1, "\(stats)")
    }

    @Test("16 processes on a cold cache: one code, one GetSessionToken, one AssumeRole, one answer")
    func concurrentColdCache() throws {
        let world = try AuthWorld()
        let started = try (0..<16).map { _ in
            try world.home.start(["credential-process", "--profile", "admin"], environment: world.environment)
        }
        let results = try started.map { try $0.wait() }
        for result in results { #expect(result.status == 0, "\(result)") }
        let keys = Set(try results.map { try ProcessCredentials($0).AccessKeyId })
        #expect(keys.count == 1, "every process should print the one session: \(keys)")
        let stats = try world.server.stats()
        #expect(stats.mfaChecks == 1 && stats.count("GetSessionToken") == 1 && stats.count("AssumeRole") == 1, "\(stats)")
    }

    @Test("a spent time step is never sent again: the next run waits for the next code")
    func oneCodeOneUse() throws {
        let world = try AuthWorld()
        let first = try world.run(["auth", "--profile", "dev", "--refresh", "--format", "json"])
        // The step the first run spent ends at the next multiple of 30 s at
        // the latest; the second run must not send a code before then.
        let spentStepEnd = (Int(Date().timeIntervalSince1970) / 30 + 1) * 30
        let second = try world.run(["auth", "--profile", "dev", "--refresh", "--format", "json"])
        #expect(first.status == 0 && second.status == 0, "\(first)\n\(second)")
        #expect(Int(Date().timeIntervalSince1970) >= spentStepEnd - 1, "the second run did not wait for a new step")
        let stats = try world.server.stats()
        #expect(stats.mfaAccepted == 2 && stats.mfaRejected == 0, "a code was reused: \(stats)")
    }

    @Test("a spent-step line far in the future (planted in mfa-steps) neither stalls auth nor survives it")
    func poisonedLedger() throws {
        let world = try AuthWorld()
        let hash = try world.runTool("/bin/sh", ["-c", "printf '%s' \"$SERIAL\" | sha256sum | cut -c1-24"], environment: ["SERIAL": world.device.serial])
        let id = hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.count == 24, "\(hash)")
        let ledger = world.home.home + "/.cache/latchkey/mfa-steps"
        try FileManager.default.createDirectory(atPath: world.home.home + "/.cache/latchkey", withIntermediateDirectories: true)
        try writeBytes(ledger, Array("step \(id) 99999999999 \(Int(Date().timeIntervalSince1970))\n".utf8))
        let result = try world.run(["auth", "--profile", "dev", "--format", "json"])
        #expect(result.status == 0 && result.seconds < 35, "\(result)")
        let text = String(decoding: try readBytes(ledger), as: UTF8.self)
        #expect(text.contains("step \(id) ") && !text.contains("99999999999"), "\(text)")
    }

    @Test("a typed code is refused locally the second time, without a call to AWS")
    func typedCodeReuse() throws {
        let world = try AuthWorld(sealAccount: false)
        let code = world.currentCode()
        let first = try world.run(["auth", "--profile", "dev", "--mfa-code", code, "--format", "json"])
        #expect(first.status == 0, "\(first)")
        let second = try world.run(["auth", "--profile", "dev", "--mfa-code", code, "--refresh"])
        #expect(second.status == 6, "\(second)")
        #expect(second.errorLine.contains("already sent to AWS"), "\(second)")
        #expect(try world.server.stats().count("GetSessionToken") == 1)
    }

    @Test("a wrong code: exit 20, one line, nothing cached")
    func wrongCode() throws {
        let world = try AuthWorld(sealAccount: false)
        let result = try world.run(["auth", "--profile", "dev", "--mfa-code", world.wrongCode()])
        #expect(result.status == 20, "\(result)")
        #expect(result.errorLine.contains("refused the MFA code"), "\(result)")
        #expect(world.sessionFiles().isEmpty)
    }

    @Test("a skewed clock: exit 22 and the offset measured from AWS's Date header")
    func clockSkew() throws {
        let world = try AuthWorld()
        try world.server.setClockOffset(1_200)
        let result = try world.run(["auth", "--profile", "dev"])
        #expect(result.status == 22, "\(result)")
        let seconds = try #require(result.errorLine.firstMatch(of: /clock is (\d+) s behind/)?.1).flatMap { Int($0) }
        #expect(seconds.map { abs($0 - 1_200) <= 5 } == true, "\(result)")
    }

    @Test("throttling once is retried; throttling twice, garbage, or no server: exit 21")
    func unavailable() throws {
        let world = try AuthWorld()
        try world.server.inject([.throttling(action: "GetSessionToken", times: 1)])
        #expect(try world.run(["auth", "--profile", "dev"]).status == 0)

        // Typed codes from here on: a sealed code would wait for the next
        // time step after each run (these calls never reach the MFA check).
        try world.server.inject([.throttling(action: "GetSessionToken", times: 2)])
        let throttled = try world.run(["auth", "--profile", "dev", "--refresh", "--mfa-code", "000001"])
        #expect(throttled.status == 21 && throttled.errorLine.contains("Throttling"), "\(throttled)")

        try world.server.inject([.rawBody("<<<not xml", action: "GetSessionToken", times: 2)])
        let garbage = try world.run(["auth", "--profile", "dev", "--refresh", "--mfa-code", "000002"])
        #expect(garbage.status == 21, "\(garbage)")

        let down = try world.run(
            ["auth", "--profile", "dev", "--refresh", "--mfa-code", "000003"], environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:9"])
        #expect(down.status == 21 && down.errorLine.contains("cannot reach AWS"), "\(down)")
    }

    @Test("a warm cache is served without the network; --refresh is not")
    func warmCacheNeedsNoServer() throws {
        let world = try AuthWorld()
        let cold = try world.run(["credential-process", "--profile", "admin", "--sealed"])
        #expect(cold.status == 0)
        world.server.stop()
        let warm = try world.run(["credential-process", "--profile", "admin", "--sealed"])
        #expect(warm.status == 0 && warm.stdout == cold.stdout, "\(warm)")
        let refresh = try world.run(["credential-process", "--profile", "admin", "--refresh", "--mfa-code", "000004"])
        #expect(refresh.status == 21, "\(refresh)")
    }

    @Test("--write-profile rewrites one section, keeps every other byte, 0600; refuses links and long-term keys")
    func writeProfile() throws {
        let world = try AuthWorld()
        let original = AuthWorld.standardCredentials(world.user) + """

            ; a comment that stays
            [other]
            aws_access_key_id = AKIAOTHEROTHEROTHER1
            aws_secret_access_key = other/secret/other/secret
            """
        try world.writeCredentials(original)
        let result = try world.run(["auth", "--profile", "admin", "--write-profile", "admin-session"])
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
        let written = String(decoding: try readBytes(world.credentialsPath), as: UTF8.self)
        #expect(written.hasPrefix(original), "the existing bytes changed:\n\(written)")
        let added = written.dropFirst(original.count)
        #expect(added.hasPrefix("\n\n[admin-session]\naws_access_key_id = ASIA"), "\(added)")
        #expect(added.contains("aws_session_token = ") && added.contains("latchkey_expiration = "))
        var info = stat()
        #expect(stat(world.credentialsPath, &info) == 0 && info.st_mode & 0o777 == 0o600)

        // Writing again replaces that section only.
        #expect(try world.run(["auth", "--profile", "ops", "--write-profile", "admin-session"]).status == 0)
        let again = String(decoding: try readBytes(world.credentialsPath), as: UTF8.self)
        #expect(again.hasPrefix(original) && again.components(separatedBy: "[admin-session]").count == 2)

        let longTerm = try world.run(["auth", "--profile", "admin", "--write-profile", "dev"])
        #expect(longTerm.status == 6 && longTerm.errorLine.contains("long-term keys"), "\(longTerm)")

        let target = world.home.root + "/io/real-credentials"
        try writeBytes(target, Array(original.utf8))
        try FileManager.default.removeItem(atPath: world.credentialsPath)
        try FileManager.default.createSymbolicLink(atPath: world.credentialsPath, withDestinationPath: target)
        let linked = try world.run(["auth", "--profile", "admin", "--write-profile", "admin-session"])
        #expect(linked.status == 6 && linked.errorLine.contains("symbolic link"), "\(linked)")
        #expect(try readBytes(target) == Array(original.utf8))
    }

    @Test("exec sets the session, drops AWS_PROFILE, and exits with the command's status")
    func exec() throws {
        let world = try AuthWorld()
        let result = try world.run(
            ["exec", "--profile", "admin", "--", "/bin/sh", "-c",
             "echo \"$AWS_ACCESS_KEY_ID|${AWS_PROFILE-unset}|$AWS_REGION|${AWS_SESSION_TOKEN:+token}|$AWS_CREDENTIAL_EXPIRATION\"; exit 7"],
            environment: ["AWS_PROFILE": "admin"], isLatchkeyOutput: false)
        #expect(result.status == 7, "\(result)")
        let fields = result.stdout.dropLast().split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(fields.count == 5 && fields[0].hasPrefix("ASIA") && fields[1] == "unset" && fields[2] == "eu-west-1" && fields[3] == "token", "\(result)")
        let missing = try world.run(["exec", "--profile", "admin", "--", "/no/such/program"])
        #expect(missing.status == 127 && missing.errorLine.contains("cannot run /no/such/program"), "\(missing)")
    }

    @Test("exec's command gets none of latchkey's secret variables; other LATCHKEY_ variables stay")
    func execWithoutSecrets() throws {
        let world = try AuthWorld()
        let result = try world.run(
            ["exec", "--profile", "admin", "--", "/bin/sh", "-c",
             "echo \"${LATCHKEY_PASSPHRASE-unset}|${LATCHKEY_OATH_PASSWORD-unset}|${LATCHKEY_TPM_PIN-unset}|${LATCHKEY_READER-unset}\""],
            environment: ["LATCHKEY_OATH_PASSWORD": "oath-pass", "LATCHKEY_TPM_PIN": "4711", "LATCHKEY_READER": "Virtual"],
            isLatchkeyOutput: false)
        #expect(result.status == 0 && result.stdout == "unset|unset|unset|Virtual\n", "\(result)")
    }

    @Test("whoami names the role; logout forgets the sessions so the next call needs a code")
    func whoamiAndLogout() throws {
        let world = try AuthWorld()
        let whoami = try world.run(["whoami", "--profile", "admin"])
        #expect(whoami.status == 0 && whoami.stdout.contains("\"Arn\":\"arn:aws:sts::123456789012:assumed-role/admin/alice\""), "\(whoami)")
        #expect(world.sessionFiles().count == 2)
        let logout = try world.run(["logout", "--profile", "admin"])
        #expect(logout.status == 0 && logout.stderr.contains("Removed 2 cached sessions"), "\(logout)")
        #expect(world.sessionFiles().isEmpty)
        #expect(try world.run(["credential-process", "--profile", "admin"]).status == 0)
        #expect(try world.server.stats().count("GetSessionToken") == 2)
        #expect(try world.run(["logout", "--all"]).status == 0)
        #expect(world.sessionFiles().isEmpty)
    }

    @Test("without mfa_serial the only device is found through IAM")
    func discovery() throws {
        let world = try AuthWorld()
        try world.writeConfig(extra: """
            [profile bare]
            region = eu-west-1
            latchkey_mfa = sealed
            latchkey_oath_account = \(world.device.serial)
            """)
        try world.writeCredentials(AuthWorld.standardCredentials(world.user).replacingOccurrences(of: "[dev]", with: "[bare]"))
        let result = try world.run(["auth", "--profile", "bare", "--format", "json"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("Using the MFA device \(world.device.serial)"), "\(result)")
        #expect(try world.server.stats().count("ListMFADevices") == 1)
    }

    @Test("profile problems are one line: missing profile 23, role chaining over 1 h asks AssumeRole directly, bad config 6")
    func profileProblems() throws {
        let world = try AuthWorld()
        let missing = try world.run(["auth", "--profile", "nope"])
        #expect(missing.status == 23 && missing.errorLine.contains("no profile 'nope'"), "\(missing)")

        // More than an hour: no MFA session; AssumeRole itself carries the code.
        let long = try world.run(["auth", "--profile", "admin", "--duration", "2h", "--format", "json"])
        #expect(long.status == 0, "\(long)")
        let stats = try world.server.stats()
        #expect(stats.count("GetSessionToken") == 0 && stats.count("AssumeRole") == 1 && stats.mfaAccepted == 1, "\(stats)")

        try writeBytes(world.configPath, Array("[profile dev\nregion = x\n".utf8))
        let malformed = try world.run(["auth", "--profile", "dev"])
        #expect(malformed.status == 6 && malformed.errorLine.contains("config"), "\(malformed)")
    }
}
