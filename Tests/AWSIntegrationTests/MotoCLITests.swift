import AWSConfig
import Foundation
import Testing
import TestSupport

/// The latchkey binary against moto with signature checking on: a role
/// assumed with an MFA code (moto does not check codes, so any six digits),
/// printed as credential_process JSON, and consumed by the AWS CLI, whose
/// own signed request moto then verifies.
@Suite("latchkey credential-process against moto, consumed by the AWS CLI", .serialized, .motoServer)
struct MotoCLITests {
    @Test("A role (over 1 h: AssumeRole straight from the keys with the code) works for the AWS CLI")
    func roleThroughTheCLI() throws {
        let moto = try #require(MotoServer.current, "the suite's moto server is missing")
        let latchkey = try #require(builtExecutable("latchkey", override: "LATCHKEY_BIN"), "latchkey was not built")
        let home = try TemporaryDirectory("moto-cli")
        try FileManager.default.createDirectory(atPath: home.file(".aws"), withIntermediateDirectories: true)
        try writeBytes(home.file(".aws/credentials"), Array("""
            [dev]
            aws_access_key_id = \(moto.setup.accessKeyId)
            aws_secret_access_key = \(moto.setup.secretAccessKey)

            """.utf8))
        try writeBytes(home.file(".aws/config"), Array("""
            [profile admin]
            source_profile = dev
            role_arn = \(moto.setup.roleArn)
            mfa_serial = \(moto.setup.mfaSerial)
            duration_seconds = 7200
            region = eu-west-1

            [profile consumer]
            credential_process = \(latchkey) credential-process --profile admin --mfa-code 123456
            region = eu-west-1

            """.utf8))
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["HOME"] = home.path
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(moto.setup.port)"
        let result = try runProgram(
            toolPath("aws"), ["sts", "get-caller-identity", "--profile", "consumer", "--output", "json"], environment: environment,
            inheritEnvironment: false, timeout: 120)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains(":assumed-role/"), "\(result)")

        // A wrong secret is refused by moto's signature check: one line, exit 20.
        try writeBytes(home.file(".aws/credentials"), Array("""
            [dev]
            aws_access_key_id = \(moto.setup.accessKeyId)
            aws_secret_access_key = not-the-secret-\(moto.setup.secretAccessKey)

            """.utf8))
        let refused = try runProgram(
            latchkey, ["credential-process", "--profile", "admin", "--mfa-code", "654321", "--refresh"],
            environment: environment, inheritEnvironment: false, timeout: 60)
        #expect(refused.status == 20, "\(refused)")
        #expect(refused.stdout.isEmpty && refused.stderr.hasPrefix("latchkey: AssumeRole: AWS SignatureDoesNotMatch"), "\(refused)")
        #expect(!refused.stderr.contains(moto.setup.secretAccessKey))
    }
}
