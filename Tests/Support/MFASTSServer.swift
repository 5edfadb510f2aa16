import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// latchkey's own STS/IAM test server (`Fixtures/mfa_sts_server.py`), which,
/// unlike moto, checks MFA codes the way AWS does: each TOTP code is
/// accepted once, for the device's step T-1, T or T+1.
///
/// It checks every SigV4 signature with botocore's signer, answers
/// GetSessionToken, AssumeRole (role-chaining limit, MaxSessionDuration,
/// ExternalId, MFA-required roles), GetCallerIdentity and IAM ListMFADevices
/// with AWS's XML and AWS's error codes and messages, and takes orders from
/// tests: injected faults, a shifted clock, counters.
///
///     let server = try MFASTSServer.start(.standard())
///     defer { server.stop() }
///     let alice = server.config.users[0]
///     // point STS and IAM at server.endpoint ("http://127.0.0.1:PORT"),
///     // sign for any region (IAM: us-east-1), compute codes from
///     // alice.mfaDevices[0].seedBase32 at Date() + clock offset
///     try server.inject([.throttling(action: "GetSessionToken")])
///     #expect(try server.stats().mfaAccepted == 1)
///
/// Each server is a separate python3 process on a port the kernel picks, so
/// tests can each start their own and run in parallel. The process's stdin
/// is a pipe that only this object holds: it exits when ``stop()`` closes
/// the pipe (or sends SIGTERM), and by itself when the test process dies.
///
/// The control calls (``stats()``, ``inject(_:)``, ``setClockOffset(_:)``,
/// ``reset()``) are plain HTTP on the loopback interface and block the
/// calling thread for a few milliseconds.
///
/// `@unchecked Sendable`: the stored properties are constants except
/// `stopped`, which is read and written only under `lock`; the `Process`
/// and `Pipe` are used only by ``stop()`` under that lock.
public final class MFASTSServer: @unchecked Sendable {
    /// The configuration file the server reads (its JSON keys in `CodingKeys`).
    public struct Config: Codable, Sendable, Equatable {
        /// The 12-digit account id in every ARN the server makes.
        public var account: String
        public var users: [User]
        public var roles: [Role]
        /// Added to the real time for everything the server does with time:
        /// the signature window, TOTP steps, expirations, the `Date` header.
        public var clockOffsetSeconds: Int
        /// 0…6 digits after the seconds in `<Expiration>` (AWS sends 0, 3 or 6).
        public var expirationFractionDigits: Int
        /// Log every request to the server's stderr (see ``standardError()``).
        public var verbose: Bool
        /// Seconds after CreateAccessKey before the server accepts the new
        /// key (InvalidClientTokenId until then), as IAM takes to propagate it.
        public var keyPropagationSeconds: Double?

        public init(
            account: String = "123456789012", users: [User] = [], roles: [Role] = [], clockOffsetSeconds: Int = 0,
            expirationFractionDigits: Int = 0, verbose: Bool = false
        ) {
            self.account = account
            self.users = users
            self.roles = roles
            self.clockOffsetSeconds = clockOffsetSeconds
            self.expirationFractionDigits = expirationFractionDigits
            self.verbose = verbose
        }

        /// Account 123456789012; one user `alice` with a random access key and
        /// one MFA device (`arn:aws:iam::123456789012:mfa/alice`, a random
        /// 20-byte seed, 6 digits, 30 s); the role `admin` requiring MFA and
        /// the role `ops` without, both allowing 12 hours and no external id.
        public static func standard() -> Config {
            let account = "123456789012"
            return Config(
                account: account,
                users: [.random(name: "alice", account: account)],
                roles: [
                    Role(arn: "arn:aws:iam::\(account):role/admin", maxSessionDuration: 43_200, requireMFA: true),
                    Role(arn: "arn:aws:iam::\(account):role/ops", maxSessionDuration: 43_200, requireMFA: false),
                ])
        }

        /// The user called `name`, if configured.
        public func user(named name: String) -> User? { users.first { $0.name == name } }

        /// The role whose ARN ends in `/name`, if configured.
        public func role(named name: String) -> Role? { roles.first { $0.name == name } }

        enum CodingKeys: String, CodingKey {
            case account, users, roles, verbose
            case clockOffsetSeconds = "clock_offset_seconds"
            case expirationFractionDigits = "expiration_fraction_digits"
            case keyPropagationSeconds = "key_propagation_seconds"
        }
    }

    /// An IAM user with a long-term access key.
    public struct User: Codable, Sendable, Equatable {
        public var name: String
        public var accessKeyID: String
        public var secretAccessKey: String
        public var mfaDevices: [MFADevice]
        /// ListAccessKeys, CreateAccessKey and DeleteAccessKey need an MFA
        /// session (AccessDenied otherwise), as with AWS's "manage your own
        /// credentials only with MFA" policies.
        public var requireMFAForKeys: Bool?
        /// More keys IAM lists for the user (secrets unknown), e.g. a second key.
        public var extraAccessKeys: [String]?

        public init(name: String, accessKeyID: String, secretAccessKey: String, mfaDevices: [MFADevice] = []) {
            self.name = name
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.mfaDevices = mfaDevices
        }

        /// A user with a random `AKIA…` key, a random 40-character secret and
        /// one virtual MFA device `arn:aws:iam::ACCOUNT:mfa/NAME` with a random
        /// 20-byte seed.
        public static func random(name: String, account: String = "123456789012") -> User {
            var generator = SystemRandomNumberGenerator()
            return User(
                name: name, accessKeyID: "AKIA" + randomText(upperAlphanumerics, 16, using: &generator),
                secretAccessKey: randomText(secretCharacters, 40, using: &generator),
                mfaDevices: [
                    MFADevice(
                        serial: "arn:aws:iam::\(account):mfa/\(name)",
                        seedBase32: base32((0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }))
                ])
        }

        /// `arn:aws:iam::ACCOUNT:user/NAME`, as GetCallerIdentity names the user.
        public func arn(account: String) -> String { "arn:aws:iam::\(account):user/\(name)" }

        enum CodingKeys: String, CodingKey {
            case name
            case accessKeyID = "access_key_id"
            case secretAccessKey = "secret_access_key"
            case mfaDevices = "mfa_devices"
            case requireMFAForKeys = "require_mfa_for_keys"
            case extraAccessKeys = "extra_access_keys"
        }
    }

    /// A TOTP device (HMAC-SHA1, as AWS's virtual MFA devices).
    public struct MFADevice: Codable, Sendable, Equatable {
        /// The device's ARN, sent as `SerialNumber`.
        public var serial: String
        /// The seed in base32, as AWS shows it when the device is created.
        public var seedBase32: String
        public var digits: Int
        public var period: Int

        public init(serial: String, seedBase32: String, digits: Int = 6, period: Int = 30) {
            self.serial = serial
            self.seedBase32 = seedBase32
            self.digits = digits
            self.period = period
        }

        enum CodingKeys: String, CodingKey {
            case serial, digits, period
            case seedBase32 = "seed_base32"
        }
    }

    /// A role that anyone configured may assume, subject to its conditions.
    public struct Role: Codable, Sendable, Equatable {
        public var arn: String
        /// 3600–43200 on AWS; DurationSeconds above it is a ValidationError.
        public var maxSessionDuration: Int
        /// When set, AssumeRole must send this ExternalId.
        public var externalID: String?
        /// When set, the caller's credentials must be MFA-authenticated or
        /// the request must carry a SerialNumber and TokenCode that pass.
        public var requireMFA: Bool

        public init(arn: String, maxSessionDuration: Int = 3600, externalID: String? = nil, requireMFA: Bool = false) {
            self.arn = arn
            self.maxSessionDuration = maxSessionDuration
            self.externalID = externalID
            self.requireMFA = requireMFA
        }

        /// The part of the ARN after the last `/`.
        public var name: String { arn.split(separator: "/").last.map(String.init) ?? arn }

        enum CodingKeys: String, CodingKey {
            case arn
            case maxSessionDuration = "max_session_duration"
            case externalID = "external_id"
            case requireMFA = "require_mfa"
        }
    }

    /// The server's counters since it started (or since ``reset()``).
    public struct Stats: Decodable, Sendable, Equatable {
        /// Requests that carried a SerialNumber (each is one check).
        public var mfaChecks: Int
        public var mfaAccepted: Int
        /// Wrong, reused or out-of-window codes and unknown serials.
        public var mfaRejected: Int
        /// API requests per `Action`, refused and faulted ones included.
        public var actions: [String: Int]
        /// API requests (control requests are not counted).
        public var requests: Int
        /// Virtual devices made by CreateVirtualMFADevice and not deleted.
        public var virtualDevices: Int

        /// How many requests named `action`.
        public func count(_ action: String) -> Int { actions[action] ?? 0 }

        enum CodingKeys: String, CodingKey {
            case actions, requests
            case virtualDevices = "virtual_devices"
            case mfaChecks = "mfa_checks"
            case mfaAccepted = "mfa_accepted"
            case mfaRejected = "mfa_rejected"
        }
    }

    /// A misbehaviour for the next request(s) naming ``action`` (`"*"`: any),
    /// acted out before any check. Faults are used in the order injected;
    /// each serves ``times`` requests.
    public struct Fault: Codable, Sendable, Equatable {
        public var action: String
        public var times: Int
        /// The HTTP status of an error or of ``rawBody``.
        public var status: Int?
        /// Answer with AWS's error XML with this code and ``message``.
        public var code: String?
        public var message: String?
        /// Answer with exactly this body (`Content-Type: text/xml`).
        public var rawBody: String?
        /// Wait this long first (then answer normally, unless another field says otherwise).
        public var delaySeconds: Double?
        /// Drop the connection without answering.
        public var close: Bool?

        public init(
            action: String = "*", times: Int = 1, status: Int? = nil, code: String? = nil, message: String? = nil,
            rawBody: String? = nil, delaySeconds: Double? = nil, close: Bool? = nil
        ) {
            self.action = action
            self.times = times
            self.status = status
            self.code = code
            self.message = message
            self.rawBody = rawBody
            self.delaySeconds = delaySeconds
            self.close = close
        }

        /// An error response: `<Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error>`.
        public static func error(
            _ code: String, message: String, status: Int, action: String = "*", times: Int = 1
        ) -> Fault {
            Fault(action: action, times: times, status: status, code: code, message: message)
        }

        /// 400 Throttling "Rate exceeded", as STS throttles.
        public static func throttling(action: String = "*", times: Int = 1) -> Fault {
            .error("Throttling", message: "Rate exceeded", status: 400, action: action, times: times)
        }

        /// 500 InternalFailure, a Receiver error.
        public static func internalFailure(action: String = "*", times: Int = 1) -> Fault {
            .error(
                "InternalFailure", message: "The request processing has failed because of an unknown error.",
                status: 500, action: action, times: times)
        }

        /// A response with this body and status, whatever it is.
        public static func rawBody(_ body: String, status: Int = 200, action: String = "*", times: Int = 1) -> Fault {
            Fault(action: action, times: times, status: status, rawBody: body)
        }

        /// A pause before the normal answer.
        public static func delay(seconds: Double, action: String = "*", times: Int = 1) -> Fault {
            Fault(action: action, times: times, delaySeconds: seconds)
        }

        /// The connection closed with no response at all.
        public static func dropConnection(action: String = "*", times: Int = 1) -> Fault {
            Fault(action: action, times: times, close: true)
        }

        enum CodingKeys: String, CodingKey {
            case action, times, status, code, message, close
            case rawBody = "raw_body"
            case delaySeconds = "delay_seconds"
        }
    }

    /// Why the server could not be started or a control call failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The Python script, found next to this file.
    public static let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/mfa_sts_server.py").path

    /// What the server was started with (the clock offset may have changed since).
    public let config: Config
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_IAM`.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    private let process: Process
    private let stdin: Pipe
    private let directory: URL
    private let lock = NSLock()
    private var stopped = false

    private init(config: Config, port: Int, process: Process, stdin: Pipe, directory: URL) {
        self.config = config
        self.port = port
        self.process = process
        self.stdin = stdin
        self.directory = directory
    }

    deinit { stop() }

    // MARK: - Starting and stopping

    /// Starts a server for `config` and waits until it listens.
    ///
    /// Throws ``Failure`` (with the server's stderr) when python3 cannot be
    /// run, the configuration is refused, or no port is reported within
    /// `timeout` seconds; the process is killed then.
    public static func start(_ config: Config, timeout: TimeInterval = 30) throws -> MFASTSServer {
        guard FileManager.default.fileExists(atPath: fixturePath) else {
            throw Failure("the MFA STS server script is missing: \(fixturePath)")
        }
        let directory = try makeTemporaryDirectory("mfa-sts")
        var process: Process?
        let stdin = Pipe()
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try writeBytes(directory.appendingPathComponent("config.json").path, Array(try encoder.encode(config)))
            try writeBytes(directory.appendingPathComponent("stdout").path, [])
            try writeBytes(directory.appendingPathComponent("stderr").path, [])

            let launched = Process()
            launched.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            launched.arguments = ["python3", fixturePath, directory.appendingPathComponent("config.json").path]
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
            environment["PYTHONUNBUFFERED"] = "1"
            environment["PYTHONDONTWRITEBYTECODE"] = "1"
            launched.environment = environment
            launched.standardInput = stdin
            launched.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent("stdout"))
            launched.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("stderr"))
            try launchWithTerminationSignals(launched)
            process = launched

            let port = try waitForPort(launched, directory: directory, timeout: timeout)
            return MFASTSServer(config: config, port: port, process: launched, stdin: stdin, directory: directory)
        } catch {
            try? stdin.fileHandleForWriting.close()
            if let process { stopProcess(process, grace: 1) }
            let stderr = (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: directory)
            guard stderr.isEmpty else { throw Failure("\(error)\nserver stderr:\n\(stderr.suffix(4000))") }
            throw error
        }
    }

    /// Reads the `{"port": N}` line the script prints once it listens.
    private static func waitForPort(_ process: Process, directory: URL, timeout: TimeInterval) throws -> Int {
        struct Ready: Decodable { var port: Int }
        let stdout = directory.appendingPathComponent("stdout")
        let deadline = Date().addingTimeInterval(timeout)
        var pause: UInt32 = 1_000
        while true {
            let text = (try? String(contentsOf: stdout, encoding: .utf8)) ?? ""
            if let newline = text.firstIndex(of: "\n") {
                let line = String(text[..<newline])
                guard let ready = try? JSONDecoder().decode(Ready.self, from: Data(line.utf8)), ready.port > 0 else {
                    throw Failure("the MFA STS server printed \(line.debugDescription) instead of {\"port\": N}")
                }
                return ready.port
            }
            guard process.isRunning else {
                throw Failure("the MFA STS server exited with status \(process.terminationStatus) before listening")
            }
            guard Date() < deadline else {
                throw Failure("the MFA STS server was not listening after \(timeout) s")
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// Ends the server: closes its stdin and sends SIGTERM, then SIGKILL
    /// if it is still there after 3 s. Safe to call more than once.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        try? stdin.fileHandleForWriting.close()
        stopProcess(process, grace: 3)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Whether the server process is running.
    public var isRunning: Bool { process.isRunning }

    /// What the server wrote to stderr so far (request logs with
    /// ``Config/verbose``, Python tracebacks); empty once stopped.
    public func standardError() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
    }

    // MARK: - Control

    /// The counters (`GET /__stats`).
    public func stats() throws -> Stats {
        let body = try control("GET", "/__stats")
        do {
            return try JSONDecoder().decode(Stats.self, from: Data(body))
        } catch {
            throw Failure("GET /__stats returned \(String(decoding: body, as: UTF8.self).debugDescription): \(error)")
        }
    }

    /// Adds faults after those still pending (`POST /__faults`).
    public func inject(_ faults: [Fault]) throws {
        _ = try control("POST", "/__faults", body: Array(try JSONEncoder().encode(faults)))
    }

    /// Sets the server's clock to the real time plus `seconds` (`POST /__clock`).
    public func setClockOffset(_ seconds: Int) throws {
        _ = try control("POST", "/__clock", body: Array("{\"offset_seconds\": \(seconds)}".utf8))
    }

    /// Forgets pending faults, counters and spent MFA steps (`POST /__reset`);
    /// users, roles, issued credentials and the clock offset stay.
    public func reset() throws {
        _ = try control("POST", "/__reset", body: Array("{}".utf8))
    }

    /// One control request; the body of a 200 response.
    private func control(_ method: String, _ path: String, body: [UInt8] = []) throws -> [UInt8] {
        let head =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let response = try RawHTTP.exchange(port: port, request: Array(head.utf8) + body, timeoutSeconds: 10)
        guard response.status == 200 else {
            throw Failure(
                "\(method) \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}

// MARK: - Helpers

/// One request to 127.0.0.1 over a plain socket, read until the server
/// closes the connection (the request says `Connection: close`). No proxy
/// settings apply, and every wait is bounded by `timeoutSeconds`. Used for
/// the test servers' control calls and to talk to latchkey's credential
/// server byte by byte.
public enum RawHTTP {
    public static func exchange(port: Int, request: [UInt8], timeoutSeconds: Int) throws -> (status: Int, body: [UInt8]) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw failure("socket") }
        defer { close(descriptor) }
        var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw failure("connect to 127.0.0.1:\(port)") }

        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw failure("send") }
            sent += count
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw failure("recv") }
            response += buffer[0..<count]
        }

        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, response.count - 3)).first(where: { Array(response[$0..<($0 + 4)]) == separator }),
            let statusLine = String(decoding: response[..<end], as: UTF8.self).split(separator: "\r\n").first,
            let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else {
            throw MFASTSServer.Failure(
                "an unreadable response: \(String(decoding: response.prefix(200), as: UTF8.self))")
        }
        return (status, Array(response[(end + 4)...]))
    }

    static func failure(_ call: String) -> MFASTSServer.Failure {
        MFASTSServer.Failure("\(call) failed: \(String(cString: strerror(errno)))")
    }
}

private let upperAlphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
private let secretCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

private func randomText(_ alphabet: [Character], _ count: Int, using generator: inout some RandomNumberGenerator)
    -> String
{
    String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
}

/// RFC 4648 base32 without padding (TestSupport cannot see the OATH target).
private func base32(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    var text = ""
    var buffer: UInt32 = 0
    var bits = 0
    for byte in bytes {
        buffer = (buffer << 8) | UInt32(byte)
        bits += 8
        while bits >= 5 {
            text.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
            bits -= 5
        }
        buffer &= (1 << UInt32(bits)) - 1
    }
    if bits > 0 { text.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
    return text
}
