import Foundation
import OATH
import Testing
import TestSupport

/// `latchkey mfa list` and `latchkey mfa enroll --sealed` against moto with
/// signature checking on. moto does not check MFA codes, so the calls go
/// through a recording proxy: the test reads the seed moto sent back and the
/// two codes latchkey sent, and checks them itself.
@Suite("latchkey mfa against moto", .serialized, .motoServer)
struct MotoMFATests {
    /// One test's HOME with the moto user's keys in `[dev]` of the
    /// credentials file and `[profile dev]` in the config file.
    final class World {
        let moto: MotoServer
        let latchkey: String
        let home: TemporaryDirectory
        let proxy: RecordingProxy
        static let config = "# my settings\n[profile dev]\nregion = eu-west-1\n; keep this\n\n[profile other]\nregion = us-east-2\n"

        init() throws {
            moto = try #require(MotoServer.current, "the suite's moto server is missing")
            latchkey = try #require(builtExecutable("latchkey", override: "LATCHKEY_BIN"), "latchkey was not built")
            home = try TemporaryDirectory("moto-mfa")
            proxy = try RecordingProxy(target: moto.setup.port, log: home.file("proxy.log"))
            try FileManager.default.createDirectory(atPath: home.file(".aws"), withIntermediateDirectories: true)
            try writeBytes(home.file(".aws/credentials"), Array("""
                [dev]
                aws_access_key_id = \(moto.setup.accessKeyId)
                aws_secret_access_key = \(moto.setup.secretAccessKey)

                """.utf8))
            try writeBytes(home.file(".aws/config"), Array(Self.config.utf8))
        }

        deinit { proxy.stop() }

        var environment: [String: String] {
            [
                "PATH": "/usr/bin:/bin", "HOME": home.path, "LANG": "C.UTF-8", "LATCHKEY_PASSPHRASE": "moto-mfa-passphrase",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:\(proxy.port)",
                // No key: the answer for the YubiKey is then always "unknown (no key)".
                "LATCHKEY_READER": "no-such-reader-in-these-tests",
            ]
        }

        func run(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
            // 120 s: an auth right after enroll waits up to 60 s for a step enroll did not spend.
            try runProgram(
                latchkey, arguments, environment: environment, inheritEnvironment: false, stdin: stdin.map { Array($0.utf8) },
                newSession: true, timeout: 120)
        }

        func list() throws -> [[String: String]] {
            let result = try run(["mfa", "list", "--profile", "dev", "--json"])
            #expect(result.status == 0, "\(result)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(object?["user"] as? String == moto.setup.userArn)
            return try #require(object?["devices"] as? [[String: String]])
        }

        /// The virtual devices moto holds (boto3 with the user's keys, signed).
        func virtualDevices() throws -> [String] {
            let script = """
                import boto3
                iam = boto3.client("iam", endpoint_url="http://127.0.0.1:\(moto.setup.port)", region_name="us-east-1",
                    aws_access_key_id="\(moto.setup.accessKeyId)", aws_secret_access_key="\(moto.setup.secretAccessKey)")
                for device in iam.list_virtual_mfa_devices()["VirtualMFADevices"]:
                    print(device["SerialNumber"])
                """
            let result = try runProgram("/usr/bin/env", ["python3", "-c", script], environment: ["AWS_CONFIG_FILE": "/dev/null"], timeout: 60)
            #expect(result.status == 0, "\(result)")
            return result.lines
        }
    }

    @Test("mfa list shows the user's device, and whether the vault holds its account; no key is 'unknown (no key)'")
    func list() throws {
        let world = try World()
        let before = try world.list()
        let device = try #require(before.first { $0["serial"] == world.moto.setup.mfaSerial }, "\(before)")
        #expect(device["sealed"] == "no" && device["yubikey"] == "unknown (no key)", "\(device)")

        let added = try world.run(
            ["accounts", "add", world.moto.setup.mfaSerial, "--sealed", "--scrypt-log2n", "10"], stdin: "JBSWY3DPEHPK3PXP\n")
        #expect(added.status == 0, "\(added)")
        let after = try world.list()
        #expect(after.first { $0["serial"] == world.moto.setup.mfaSerial }?["sealed"] == "yes", "\(after)")

        let text = try world.run(["mfa", "list", "--profile", "dev"])
        #expect(text.status == 0 && text.stdout.contains("\(world.moto.setup.mfaSerial)  enabled "), "\(text)")
    }

    @Test("mfa enroll --sealed: the two codes sent are the seed's codes for consecutive steps; the profile gets mfa_serial; auth then works")
    func enrollSealed() throws {
        let world = try World()
        let name = "latchkey-it-\(UUID().uuidString.prefix(8))"
        let started = UInt64(Date().timeIntervalSince1970)
        let result = try world.run(["mfa", "enroll", "--profile", "dev", "--sealed", "--device-name", name, "--scrypt-log2n", "10"])
        let finished = UInt64(Date().timeIntervalSince1970)
        #expect(result.status == 0, "\(result)")
        let serial = "arn:aws:iam::\(world.moto.setup.account):mfa/\(name)"
        #expect(result.stdout == serial + "\n", "\(result)")

        let exchanges = try world.proxy.exchanges()
        #expect(exchanges.map(\.action) == ["GetCallerIdentity", "CreateVirtualMFADevice", "EnableMFADevice"])
        let created = try #require(exchanges.first { $0.action == "CreateVirtualMFADevice" })
        let encoded = try #require(created.response.firstMatch(of: /<Base32StringSeed>([^<]+)</)?.1)
        let base32 = String(decoding: try #require(Data(base64Encoded: String(encoded))), as: UTF8.self)
        let seed = try Base32.decode(base32)
        #expect(!result.stdout.contains(base32) && !result.stderr.contains(base32))
        let enable = try #require(exchanges.first { $0.action == "EnableMFADevice" })
        let code1 = try #require(enable.parameters["AuthenticationCode1"])
        let code2 = try #require(enable.parameters["AuthenticationCode2"])
        #expect(enable.parameters["UserName"] == world.moto.setup.userName)
        #expect(enable.parameters["SerialNumber"] == serial)
        let steps = (started / 30)...(finished / 30)
        let matching = steps.filter { step in
            OTP.totp(secret: seed, at: step * 30, period: 30, algorithm: .sha1, digits: 6) == code1
                && OTP.totp(secret: seed, at: step * 30 + 30, period: 30, algorithm: .sha1, digits: 6) == code2
        }
        #expect(matching.count == 1, "the codes sent are not the seed's codes for two consecutive steps")

        let config = String(decoding: try readBytes(world.home.file(".aws/config")), as: UTF8.self)
        #expect(config == World.config.replacingOccurrences(
            of: "region = eu-west-1\n", with: "region = eu-west-1\nmfa_serial = \(serial)\nlatchkey_mfa = sealed\n"), "\(config)")
        #expect(try world.list().first { $0["serial"] == serial }?["sealed"] == "yes")

        let auth = try world.run(["auth", "--profile", "dev", "--format", "json"])
        #expect(auth.status == 0, "\(auth)")
        let session = try #require(try world.proxy.exchanges().last { $0.action == "GetSessionToken" })
        #expect(session.parameters["SerialNumber"] == serial)
        #expect(session.parameters["TokenCode"]?.count == 6)
    }

    @Test("an EnableMFADevice refusal (no such user) leaves neither a virtual device nor an account, and the config as it was")
    func enrollRollsBack() throws {
        let world = try World()
        let name = "latchkey-it-\(UUID().uuidString.prefix(8))"
        let result = try world.run(
            ["mfa", "enroll", "--profile", "dev", "--sealed", "--user", "nobody", "--device-name", name, "--scrypt-log2n", "10"])
        #expect(result.status == 20, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("latchkey: EnableMFADevice: AWS NoSuchEntity"), "\(result)")
        #expect(result.stderr.hasSuffix("; the new device was removed\n"), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try world.proxy.exchanges().map(\.action) == ["CreateVirtualMFADevice", "EnableMFADevice", "DeleteVirtualMFADevice"])
        #expect(!(try world.virtualDevices()).contains { $0.hasSuffix("/\(name)") })
        let accounts = try world.run(["accounts", "list", "--sealed"])
        #expect(accounts.status == 0 && !accounts.stdout.contains(name), "\(accounts)")
        #expect(try readBytes(world.home.file(".aws/config")) == Array(World.config.utf8))
    }
}

/// An HTTP proxy in front of moto that writes each request body and
/// response body as one JSON line (requests keep their Host header, so
/// moto's signature check still sees what the client signed).
final class RecordingProxy: @unchecked Sendable {
    struct Exchange {
        var request: String
        var response: String
        var parameters: [String: String] {
            var result: [String: String] = [:]
            for pair in request.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                if parts.count == 2 { result[parts[0]] = parts[1] }
            }
            return result
        }
        var action: String { parameters["Action"] ?? "" }
    }

    let port: Int
    let log: String
    private let process: Process
    private let stdin = Pipe()

    init(target: Int, log: String) throws {
        self.log = log
        let output = log + ".port"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, String(target), log, output]
        process.standardInput = stdin
        try launchWithTerminationSignals(process)
        let deadline = Date().addingTimeInterval(20)
        var port: Int?
        while port == nil, Date() < deadline, process.isRunning {
            port = (try? String(contentsOfFile: output, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { usleep(50_000) }
        }
        guard let port else {
            process.terminate()
            throw MotoServer.StartFailure(description: "the recording proxy did not start")
        }
        self.port = port
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    func exchanges() throws -> [Exchange] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            return Exchange(request: object["request"] ?? "", response: object["response"] ?? "")
        }
    }

    static let script = #"""
        import http.server, json, os, sys, threading, urllib.request, urllib.error
        target, log, port_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        lock = threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "connection", "accept-encoding")}
                request = urllib.request.Request("http://127.0.0.1:%d%s" % (target, self.path), data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request) as answer:
                        status, data, answer_headers = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, data, answer_headers = error.code, error.read(), error.headers
                with lock, open(log, "a") as out:
                    out.write(json.dumps({"request": body.decode(), "response": data.decode()}) + "\n")
                self.send_response(status)
                for name in ("Content-Type", "Date"):
                    if answer_headers.get(name): self.send_header(name, answer_headers.get(name))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as out: out.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        sys.stdin.read()
        os._exit(0)
        """#
}
