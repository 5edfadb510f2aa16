import Foundation
import TestSupport
import Testing

/// `exec --server` end to end: latchkey's credential server in front of the
/// MFA-checking STS server, the AWS CLI and boto3 as its clients (through
/// the container credential provider they already speak).
@Suite("exec --server: the AWS CLI and boto3 as clients of the credential server", .serialized)
struct CredentialServerCLITests {
    /// The test process's PATH, so the child finds the AWS CLI and python3.
    static var toolEnvironment: [String: String] { ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"] }

    @Test("the AWS CLI and boto3 get the role session from the server; the command has the URL and token and no static keys or secrets; a wrong token is refused")
    func awsCLIAndBoto3() throws {
        let world = try AuthWorld()
        let probe = """
            import os, urllib.request, urllib.error
            def status(token):
                request = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
                if token is not None:
                    request.add_header("Authorization", token)
                try:
                    return urllib.request.urlopen(request, timeout=5).status
                except urllib.error.HTTPError as error:
                    return error.code
            token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            print("statuses", status(None), status("wrong"), status(token[:-1] + ("0" if token[-1] != "0" else "1")), status(token))
            """
        let boto = """
            import boto3
            session = boto3.Session()
            print("boto3", session.client("sts", region_name="eu-west-1").get_caller_identity()["Arn"], session.get_credentials().method)
            """
        let script = """
            echo "env ${AWS_ACCESS_KEY_ID-unset} ${AWS_SECRET_ACCESS_KEY-unset} ${AWS_SESSION_TOKEN-unset} ${LATCHKEY_PASSPHRASE-unset} ${AWS_PROFILE-unset} ${#AWS_CONTAINER_AUTHORIZATION_TOKEN} $AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_REGION"
            echo "cli $('\(toolPath("aws"))' sts get-caller-identity --output text --query Arn)"
            '\(toolPath("python3"))' -c '\(boto)'
            '\(toolPath("python3"))' -c '\(probe)'
            exit 3
            """
        let result = try world.run(
            ["exec", "--profile", "admin", "--server", "--", "/bin/bash", "-c", script],
            environment: Self.toolEnvironment.merging(["AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": "AKIASTATICSTATIC0001", "AWS_SECRET_ACCESS_KEY": "static"]) { $1 },
            isLatchkeyOutput: false)
        #expect(result.status == 3, "the command's status is latchkey's: \(result)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let env = try #require(lines.first { $0.first == "env" })
        #expect(env.count == 9 && env[1...5].allSatisfy { $0 == "unset" } && env[6] == "64", "\(result)")
        #expect(env.count == 9 && env[7].hasPrefix("http://127.0.0.1:") && env[8] == "eu-west-1", "\(result)")
        let role = "arn:aws:sts::123456789012:assumed-role/admin/alice"
        #expect(lines.contains(["cli", role]), "\(result)")
        #expect(lines.contains(["boto3", role, "container-role"]), "\(result)")
        #expect(lines.contains(["statuses", "401", "403", "403", "200"]), "\(result)")
        // One code, one MFA session, one role session for all of it.
        let stats = try world.server.stats()
        #expect(stats.count("GetSessionToken") == 1 && stats.count("AssumeRole") == 1 && stats.mfaChecks == 1, "\(stats)")
    }

    @Test("32 requests at once, in the last 15 minutes of the session, cost one refresh (one AssumeRole, no code); boto3 then uses it")
    func thirtyTwoRequestsOneRefresh() throws {
        let world = try AuthWorld()
        // The first role session expires in 15 minutes and 5 seconds: due
        // for a refresh 5 seconds after it is made.
        let expiration = Date().addingTimeInterval(905)
        let formatter = ISO8601DateFormatter()
        let shortRole = """
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>\
            <AccessKeyId>ASIASHORTLIVEDROLE01</AccessKeyId><SecretAccessKey>short-lived-secret</SecretAccessKey>\
            <SessionToken>short-lived-token</SessionToken><Expiration>\(formatter.string(from: expiration))</Expiration></Credentials>\
            <AssumedRoleUser><AssumedRoleId>AROASHORT:alice</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/admin/alice</Arn>\
            </AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>short</RequestId></ResponseMetadata></AssumeRoleResponse>
            """
        try world.server.inject([.rawBody(shortRole, action: "AssumeRole")])
        let python = """
            import json, os, time, urllib.request, threading, boto3
            def get():
                request = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
                request.add_header("Authorization", os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
                return json.load(urllib.request.urlopen(request, timeout=30))
            print("first", get()["AccessKeyId"])
            time.sleep(max(0, float(os.environ["DUE"]) - time.time()))
            keys = []
            barrier = threading.Barrier(32)
            def worker():
                barrier.wait()
                keys.append(get()["AccessKeyId"])
            threads = [threading.Thread(target=worker) for _ in range(32)]
            for thread in threads: thread.start()
            for thread in threads: thread.join()
            print("keys", len(keys), " ".join(sorted(set(keys))))
            print("boto3", boto3.Session().client("sts", region_name="eu-west-1").get_caller_identity()["Arn"])
            """
        let due = expiration.timeIntervalSince1970 - 900 + 1
        let result = try world.run(
            ["exec", "--profile", "admin", "--server", "--", toolPath("python3"), "-c", python],
            environment: Self.toolEnvironment.merging(["DUE": String(due)]) { $1 }, isLatchkeyOutput: false)
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.first == ["first", "ASIASHORTLIVEDROLE01"], "\(result)")
        let keys = try #require(lines.first { $0.first == "keys" })
        #expect(keys.count == 3 && keys[1] == "32" && keys[2].hasPrefix("ASIA") && keys[2] != "ASIASHORTLIVEDROLE01", "\(result)")
        #expect(lines.contains(["boto3", "arn:aws:sts::123456789012:assumed-role/admin/alice"]), "\(result)")
        let stats = try world.server.stats()
        #expect(stats.count("AssumeRole") == 2 && stats.count("GetSessionToken") == 1 && stats.mfaChecks == 1, "\(stats)")
    }

    @Test("exec --server of a command that cannot run: exit 127, one line")
    func missingCommand() throws {
        let world = try AuthWorld()
        let result = try world.run(["exec", "--profile", "admin", "--server", "--", "/no/such/program"])
        #expect(result.status == 127 && result.errorLine.contains("cannot run /no/such/program"), "\(result)")
    }

    @Test("SIGTERM to exec --server reaches the command; latchkey exits with the command's status")
    func termPassedOn() throws {
        let world = try AuthWorld()
        let script = "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.1; done"
        var started = try world.home.start(["exec", "--profile", "admin", "--server", "--", "/bin/sh", "-c", script], environment: world.environment)
        started.isLatchkeyOutput = false
        defer { kill(started.pid, SIGKILL) }
        for _ in 0..<300 where !String(decoding: started.stdoutSoFar(), as: UTF8.self).contains("ready") { usleep(50_000) }
        let latchkey = try #require(Self.descendant(named: "latchkey", of: started.pid))
        kill(latchkey, SIGTERM)
        let result = try started.wait()
        #expect(result.status == 5 && result.stdout == "ready\ngot-term\n", "\(result)")
    }

    @Test("serve --port on a port that is taken: exit 1, one line naming the port, before any code is spent")
    func portTaken() throws {
        let world = try AuthWorld()
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 && listen(holder, 1) == 0 && getsockname(holder, $0, &length) == 0 }
        }
        try #require(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let result = try world.run(["serve", "--profile", "admin", "--port", String(port)])
        #expect(result.status == 1 && result.errorLine == "latchkey: cannot listen on 127.0.0.1:\(port): Address already in use", "\(result)")
        #expect(try world.server.stats().requests == 0)
    }

    /// The first process called `name` below `pid` (from /proc).
    static func descendant(named name: String, of pid: Int32) -> Int32? {
        var parents: [Int32: Int32] = [:]
        var names: [Int32: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            names[child] = String(stat[stat.index(after: open)..<close])
            parents[child] = stat[stat.index(close, offsetBy: 2)...].split(separator: " ").dropFirst().first.flatMap { Int32($0) }
        }
        var frontier = [pid]
        while let next = frontier.popLast() {
            for (child, parent) in parents where parent == next {
                if names[child] == name { return child }
                frontier.append(child)
            }
        }
        return nil
    }

    @Test("serve prints the two exports, answers the AWS CLI, and stops on SIGTERM with status 0")
    func serve() throws {
        let world = try AuthWorld()
        let started = try world.home.start(["serve", "--profile", "admin"], environment: world.environment)
        defer { kill(started.pid, SIGKILL) }
        var exports = ""
        for _ in 0..<300 where exports.split(separator: "\n").count < 2 {
            exports = String(decoding: started.stdoutSoFar(), as: UTF8.self)
            usleep(50_000)
        }
        let lines = exports.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:")
            && lines[1].hasPrefix("export AWS_CONTAINER_AUTHORIZATION_TOKEN="), "\(exports)")
        let cli = try world.runTool("/bin/bash", ["-c", exports + "\n'\(toolPath("aws"))' sts get-caller-identity --region eu-west-1 --output text --query Arn"])
        #expect(cli.status == 0 && cli.stdout == "arn:aws:sts::123456789012:assumed-role/admin/alice\n", "\(cli)")
        // The run is setsid → timeout → latchkey: signal latchkey itself.
        let latchkey = try #require(Self.descendant(named: "latchkey", of: started.pid))
        kill(latchkey, SIGTERM)
        let result = try started.wait()
        #expect(result.status == 0, "\(result)")
    }
}
