import AWSConfig
import AWSSigning
import Foundation
import Testing
import TestSupport

/// A moto server on 127.0.0.1 with one IAM user, its access key, a policy,
/// a role and an enabled virtual MFA device, and signature checking on.
///
/// moto checks signatures and policies only after its first
/// `INITIAL_NO_AUTH_ACTION_COUNT` requests; the setup script below makes
/// exactly ``setupRequestCount`` of them (with boto3) and then proves that
/// the next request is refused, so every request a test makes is checked.
///
/// The script starts moto's `ThreadedMotoServer` on port 0 (the kernel
/// picks a free port: no race with other suites), prints one JSON line and
/// then waits for its stdin to close: the server goes away when ``stop()``
/// closes that pipe, when it is killed, or when the test process dies.
final class MotoServer: @unchecked Sendable {
    /// The resources the setup made, as the script reports them.
    struct Setup: Decodable {
        var port: Int
        var account: String
        var userName: String
        var userArn: String
        var accessKeyId: String
        var secretAccessKey: String
        var roleArn: String
        var mfaSerial: String
        /// The policy the user has (also what a test's own users get).
        var policyArn: String
    }

    /// CreateUser, CreateAccessKey, CreatePolicy, AttachUserPolicy,
    /// CreateRole, AttachRolePolicy, CreateVirtualMFADevice, EnableMFADevice.
    static let setupRequestCount = 8
    static let startTimeout: TimeInterval = 30

    @TaskLocal static var current: MotoServer?

    let setup: Setup
    private let process: Process
    private let stdin: Pipe
    private let directory: URL
    private let lock = NSLock()
    private var stopped = false

    var userCredentials: AWSCredentials {
        AWSCredentials(accessKeyID: setup.accessKeyId, secretAccessKey: setup.secretAccessKey)
    }

    var url: EndpointURL { EndpointURL(scheme: "http", host: "127.0.0.1", port: setup.port) }

    /// STS as `AWS_ENDPOINT_URL_STS` would configure it, signed for a
    /// region other than us-east-1 so the credential scope is not a default.
    var stsEndpoint: ServiceEndpoint {
        ServiceEndpoint(url: url, signingRegion: "eu-west-1", source: .environment("AWS_ENDPOINT_URL_STS"))
    }

    /// IAM as `AWS_ENDPOINT_URL_IAM` would configure it (signed for us-east-1).
    var iamEndpoint: ServiceEndpoint {
        ServiceEndpoint(url: url, signingRegion: "us-east-1", source: .environment("AWS_ENDPOINT_URL_IAM"))
    }

    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    private init(setup: Setup, process: Process, stdin: Pipe, directory: URL) {
        self.setup = setup
        self.process = process
        self.stdin = stdin
        self.directory = directory
    }

    deinit { stop() }

    /// Starts moto and runs the setup; throws (after killing the process)
    /// when either fails or takes longer than ``startTimeout``.
    static func start() async throws -> MotoServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-moto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("moto_setup.py")
        try setupScript.write(to: script, atomically: true, encoding: .utf8)
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(setupRequestCount)
        environment["AWS_CONFIG_FILE"] = "/dev/null"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try launchWithTerminationSignals(process)

        let deadline = Date().addingTimeInterval(startTimeout)
        var failure: String?
        var line: String?
        while line == nil && failure == nil {
            let text = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
            if let newline = text.firstIndex(of: "\n") {
                line = String(text[..<newline])
            } else if !process.isRunning {
                failure = "the moto setup script exited with status \(process.terminationStatus)"
            } else if Date() > deadline {
                failure = "moto was not ready after \(Int(startTimeout)) s"
            } else {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let setup = line.flatMap { try? JSONDecoder().decode(Setup.self, from: Data($0.utf8)) }
        guard let setup else {
            killAndReap(process, stdin: stdin)
            let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: directory)
            throw StartFailure(
                description: (failure ?? "the moto setup printed \(line ?? "")") + "\nstderr:\n" + String(stderr.suffix(4000)))
        }
        return MotoServer(setup: setup, process: process, stdin: stdin, directory: directory)
    }

    /// Ends the server: closing stdin lets the script exit; SIGKILL after
    /// 3 s (or at once when it is already gone) makes sure of it.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        Self.killAndReap(process, stdin: stdin, grace: 3)
        try? FileManager.default.removeItem(at: directory)
    }

    private static func killAndReap(_ process: Process, stdin: Pipe, grace: TimeInterval = 0) {
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Whether the server process is still up (for the test that it stops).
    var isRunning: Bool { process.isRunning }
    var processIdentifier: Int32 { process.processIdentifier }

    static let setupScript = #"""
        import json, logging, os, sys
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        expected = int(os.environ["INITIAL_NO_AUTH_ACTION_COUNT"])
        from moto.server import ThreadedMotoServer
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        port = server.get_host_and_port()[1]
        endpoint = "http://127.0.0.1:%d" % port
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10)
        made = 0

        def iam_call(name, **arguments):
            global made
            made += 1
            # Before signature checking starts, any key will do.
            iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", config=config,
                               aws_access_key_id="AKIASETUPSETUPSETUP0", aws_secret_access_key="setup")
            return getattr(iam, name)(**arguments)

        user = iam_call("create_user", UserName="latchkey-it")["User"]
        key = iam_call("create_access_key", UserName="latchkey-it")["AccessKey"]
        allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "sts:GetSessionToken", "sts:AssumeRole", "sts:GetCallerIdentity", "iam:ListMFADevices",
            "iam:ListVirtualMFADevices", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice",
            "iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice", "iam:CreateUser", "iam:AttachUserPolicy",
            "iam:ListAccessKeys", "iam:CreateAccessKey", "iam:DeleteAccessKey"]}]}
        policy = iam_call("create_policy", PolicyName="latchkey-it", PolicyDocument=json.dumps(allow))["Policy"]
        iam_call("attach_user_policy", UserName="latchkey-it", PolicyArn=policy["Arn"])
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": user["Arn"]}}]}
        role = iam_call("create_role", RoleName="latchkey-it-role",
                        AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        iam_call("attach_role_policy", RoleName="latchkey-it-role", PolicyArn=policy["Arn"])
        mfa = iam_call("create_virtual_mfa_device", VirtualMFADeviceName="latchkey-it")["VirtualMFADevice"]
        iam_call("enable_mfa_device", UserName="latchkey-it", SerialNumber=mfa["SerialNumber"],
                 AuthenticationCode1="123456", AuthenticationCode2="654321")
        if made != expected:
            sys.exit("the setup made %d requests, INITIAL_NO_AUTH_ACTION_COUNT is %d" % (made, expected))

        # Checking must be on now: a key moto never issued is refused.
        try:
            boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", config=config,
                         aws_access_key_id="AKIASETUPSETUPSETUP0",
                         aws_secret_access_key="setup").get_caller_identity()
            sys.exit("moto accepted an unknown key after the setup: signature checking is off")
        except ClientError as error:
            if error.response["Error"]["Code"] != "InvalidClientTokenId":
                sys.exit("unexpected refusal: %r" % (error.response,))

        print(json.dumps({
            "port": port, "account": user["Arn"].split(":")[4], "userName": user["UserName"],
            "userArn": user["Arn"], "accessKeyId": key["AccessKeyId"],
            "secretAccessKey": key["SecretAccessKey"], "roleArn": role["Arn"],
            "mfaSerial": mfa["SerialNumber"], "policyArn": policy["Arn"]}), flush=True)
        sys.stdin.read()  # until the test closes the pipe (or dies)
        os._exit(0)
        """#
}

/// Runs a suite with one moto server (``MotoServer/current``), stopped when
/// the suite ends, also when a test fails or throws.
struct MotoServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        try await MotoServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == MotoServerTrait {
    static var motoServer: Self { Self() }
}

/// A TCP port on 127.0.0.1 that is bound but not listening while this
/// value lives: a connection to it is refused at once, and no other process
/// can take the port meanwhile.
final class ClosedPort {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
