import Foundation
import OATH
import TestSupport
import Testing

/// One test's world for the credentials commands: latchkey's MFA-checking
/// STS server (real HTTP, SigV4 checked with botocore, each TOTP step
/// accepted once), a temporary HOME with `~/.aws/config` and
/// `~/.aws/credentials`, and alice's MFA seed sealed in the vault.
///
/// Profiles:
/// - `dev`: alice's keys (credentials file), `mfa_serial`, `latchkey_mfa = sealed`: GetSessionToken.
/// - `admin`: role `admin` (requires MFA) from `dev` with `mfa_serial`: MFA session + AssumeRole.
/// - `ops`: role `ops` from `dev` with `mfa_serial` (shares admin's MFA session).
/// - `consumer`: `credential_process = latchkey credential-process --profile admin`.
final class AuthWorld {
    let server: MFASTSServer
    let home: TestHome
    let user: MFASTSServer.User
    let device: MFASTSServer.MFADevice
    let seed: [UInt8]

    static let adminRole = "arn:aws:iam::123456789012:role/admin"
    static let opsRole = "arn:aws:iam::123456789012:role/ops"

    init(sealAccount: Bool = true, config: MFASTSServer.Config = .standard()) throws {
        try requireBinary()
        server = try MFASTSServer.start(config)
        home = try TestHome()
        user = try #require(server.config.user(named: "alice"))
        device = try #require(user.mfaDevices.first)
        seed = try Base32.decode(device.seedBase32)
        home.forbid(secret: seed)
        home.forbid(user.secretAccessKey)
        try writeConfig()
        try writeCredentials(Self.standardCredentials(user))
        if sealAccount {
            // The account is named by the device's ARN, latchkey's default.
            let added = try home.run(
                ["accounts", "add", device.serial, "--sealed", "--scrypt-log2n", "10"],
                stdin: Base32.encode(seed) + "\n")
            #expect(added.status == 0, "\(added)")
        }
    }

    deinit { server.stop() }

    var awsDirectory: String { home.home + "/.aws" }
    var configPath: String { awsDirectory + "/config" }
    var credentialsPath: String { awsDirectory + "/credentials" }
    var sessionsDirectory: String { home.home + "/.cache/latchkey/sessions" }

    /// Points every AWS client (latchkey, the AWS CLI, boto3) at the server.
    var environment: [String: String] { ["AWS_ENDPOINT_URL": server.endpoint] }

    static func standardCredentials(_ user: MFASTSServer.User) -> String {
        """
        # alice's long-term keys
        [dev]
        aws_access_key_id = \(user.accessKeyID)
        aws_secret_access_key = \(user.secretAccessKey)

        """
    }

    func writeConfig(extra: String = "") throws {
        try FileManager.default.createDirectory(atPath: awsDirectory, withIntermediateDirectories: true)
        let text = """
            [profile dev]
            region = eu-west-1
            mfa_serial = \(device.serial)
            latchkey_mfa = sealed

            [profile admin]
            source_profile = dev
            role_arn = \(Self.adminRole)
            mfa_serial = \(device.serial)
            latchkey_mfa = sealed
            region = eu-west-1

            [profile ops]
            source_profile = dev
            role_arn = \(Self.opsRole)
            mfa_serial = \(device.serial)
            latchkey_mfa = sealed

            [profile consumer]
            credential_process = \(latchkeyBinary) credential-process --profile admin
            region = eu-west-1

            """ + extra
        try writeBytes(configPath, Array(text.utf8))
    }

    func writeCredentials(_ text: String) throws {
        try writeBytes(credentialsPath, Array(text.utf8))
    }

    func run(
        _ arguments: [String], environment extra: [String: String] = [:], isLatchkeyOutput: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> RunResult {
        try home.run(
            arguments, environment: environment.merging(extra) { $1 }, isLatchkeyOutput: isLatchkeyOutput,
            sourceLocation: sourceLocation)
    }

    /// The code the device shows now, and one that is certainly wrong.
    func currentCode(offset: Int = 0) -> String {
        OTP.totp(secret: seed, at: UInt64(Date().timeIntervalSince1970) &+ UInt64(bitPattern: Int64(offset)), period: 30, algorithm: .sha1, digits: 6)
    }

    func wrongCode() -> String {
        let valid = Set((-2...2).map { currentCode(offset: $0 * 30) })
        return (0..<1_000_000).lazy.map { String(format: "%06d", $0) }.first { !valid.contains($0) }!
    }

    /// Runs a program other than latchkey (the AWS CLI, Python) with this
    /// HOME and the server endpoint.
    func runTool(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        for name in environment.keys where name.hasPrefix("AWS_") { environment[name] = nil }
        environment["HOME"] = home.home
        environment["LATCHKEY_PASSPHRASE"] = home.passphrase
        environment.merge(self.environment) { $1 }
        environment.merge(extra) { $1 }
        return try runProgram(executable, arguments, environment: environment, inheritEnvironment: false, timeout: 120)
    }

    func sessionFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sessionsDirectory)) ?? []).filter { !$0.hasSuffix(".lock") }.sorted()
    }
}

/// The credential_process JSON latchkey printed.
struct ProcessCredentials: Decodable, Equatable {
    var Version: Int
    var AccessKeyId: String
    var SecretAccessKey: String
    var SessionToken: String?
    var Expiration: String?

    init(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
        self = try JSONDecoder().decode(ProcessCredentials.self, from: Data(result.stdout.utf8))
    }
}

