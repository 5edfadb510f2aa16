import Foundation
import TestSupport
import Testing

/// `keys rotate` against moto with signature checking on: each test makes
/// its own IAM user (so the suite's user keeps its key), with the suite's
/// policy and no MFA device, so the key itself signs the access-key calls.
@Suite("keys rotate against moto", .serialized, .motoServer)
struct MotoRotateTests {
    final class World {
        let moto: MotoServer
        let latchkey: String
        let home: TemporaryDirectory
        let userName = "rotate-" + UUID().uuidString.prefix(8).lowercased()
        let keyID: String
        let secret: String

        init() throws {
            moto = try #require(MotoServer.current, "the suite's moto server is missing")
            latchkey = try #require(builtExecutable("latchkey", override: "LATCHKEY_BIN"), "latchkey was not built")
            home = try TemporaryDirectory("moto-rotate")
            let made = try Self.boto3(moto, """
                iam.create_user(UserName="\(userName)")
                iam.attach_user_policy(UserName="\(userName)", PolicyArn="\(moto.setup.policyArn)")
                key = iam.create_access_key(UserName="\(userName)")["AccessKey"]
                print(key["AccessKeyId"]); print(key["SecretAccessKey"])
                """)
            try #require(made.count == 2, "\(made)")
            keyID = made[0]
            secret = made[1]
            try FileManager.default.createDirectory(atPath: home.file(".aws"), withIntermediateDirectories: true)
            try writeBytes(home.file(".aws/config"), Array("[profile rot]\nregion = eu-west-1\n".utf8))
        }

        /// Lines a boto3 script printed, with an IAM client signed by the suite's user.
        func boto3(_ body: String) throws -> [String] { try Self.boto3(moto, body) }

        static func boto3(_ moto: MotoServer, _ body: String) throws -> [String] {
            let script = """
                import boto3
                iam = boto3.client("iam", endpoint_url="http://127.0.0.1:\(moto.setup.port)", region_name="us-east-1",
                    aws_access_key_id="\(moto.setup.accessKeyId)", aws_secret_access_key="\(moto.setup.secretAccessKey)")
                """ + "\n" + body
            let result = try runProgram("/usr/bin/env", ["python3", "-c", script], environment: ["AWS_CONFIG_FILE": "/dev/null"], timeout: 60)
            #expect(result.status == 0, "\(result)")
            return result.lines
        }

        /// The user's key ids, as moto lists them.
        func keys() throws -> [String] {
            try boto3("""
                for key in iam.list_access_keys(UserName="\(userName)")["AccessKeyMetadata"]:
                    print(key["AccessKeyId"])
                """)
        }

        var environment: [String: String] {
            [
                "PATH": "/usr/bin:/bin", "HOME": home.path, "LANG": "C.UTF-8", "LATCHKEY_PASSPHRASE": "moto-rotate-passphrase",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:\(moto.setup.port)",
                // Never another suite's virtual key in pcscd.
                "PCSCLITE_CSOCK_NAME": home.file("no-pcscd.comm"),
            ]
        }

        func run(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
            try runProgram(
                latchkey, arguments, environment: environment, inheritEnvironment: false, stdin: stdin.map { Array($0.utf8) }, timeout: 120)
        }
    }

    @Test("keys in ~/.aws/credentials: the new key replaces the old in place, moto lists only the new one, and the AWS CLI works with it")
    func credentialsFile() throws {
        let world = try World()
        let credentials = "# mine\n[rot]\naws_access_key_id = \(world.keyID)\naws_secret_access_key = \(world.secret)\n"
        try writeBytes(world.home.file(".aws/credentials"), Array(credentials.utf8))
        let rotated = try world.run(["keys", "rotate", "rot"])
        #expect(rotated.status == 0, "\(rotated)")
        let newID = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newID != world.keyID && !newID.isEmpty)
        #expect(!rotated.stdout.contains(world.secret) && !rotated.stderr.contains(world.secret))
        #expect(try world.keys() == [newID])
        let text = try String(contentsOfFile: world.home.file(".aws/credentials"), encoding: .utf8)
        #expect(text.hasPrefix("# mine\n[rot]\naws_access_key_id = \(newID)\naws_secret_access_key = "), "\(text)")
        let cli = try runProgram(
            toolPath("aws"), ["sts", "get-caller-identity", "--profile", "rot", "--output", "text", "--query", "Arn"],
            environment: world.environment, inheritEnvironment: false, timeout: 120)
        #expect(cli.status == 0 && cli.stdout.contains(":user/\(world.userName)"), "\(cli)")
    }

    @Test("sealed keys: the vault gets the new key, moto lists only it")
    func sealed() throws {
        let world = try World()
        let added = try world.run(["keys", "add", "rot"], stdin: "\(world.keyID)\n\(world.secret)\n")
        #expect(added.status == 0, "\(added)")
        let rotated = try world.run(["keys", "rotate", "rot"])
        #expect(rotated.status == 0, "\(rotated)")
        let newID = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try world.keys() == [newID])
        let list = try world.run(["keys", "list"])
        #expect(list.status == 0 && list.stdout.contains(newID) && !list.stdout.contains(world.keyID), "\(list)")
    }
}
