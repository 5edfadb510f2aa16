import Foundation
import TestSupport
import Testing

// Helpers for SetupTests and DoctorTests.

// MARK: - The repository's rule files

enum RepositoryRules {
    /// The package root: this file is Tests/CLITests/DeviceAccessSupport.swift.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("udev")

    static let placeholder = "@LATCHKEY_GROUP@"
    static let udevInstallPath = "etc/udev/rules.d/70-latchkey-yubikey.rules"
    static let polkitInstallPath = "etc/polkit-1/rules.d/50-latchkey-pcscd.rules"

    /// udev/70-latchkey-yubikey.rules as it is in the repository.
    static func udevTemplate() throws -> String {
        try String(contentsOf: directory.appendingPathComponent("70-latchkey-yubikey.rules"), encoding: .utf8)
    }

    /// udev/latchkey-pcscd.rules as it is in the repository.
    static func polkitTemplate() throws -> String {
        try String(contentsOf: directory.appendingPathComponent("latchkey-pcscd.rules"), encoding: .utf8)
    }

    /// Product ids of YubiKeys with a CCID interface, and some without one
    /// (REFERENCE §4).
    static let ccidProducts = ["0111", "0112", "0115", "0116", "0404", "0405", "0406", "0407"]
    static let nonCCIDProducts = ["0010", "0110", "0113", "0114", "0120", "0401", "0402", "0403", "0410"]
}

// MARK: - udev rule lines, read independently of latchkey's own reader

/// One `KEY op "value"` of a rule line.
struct RulePair: Equatable {
    var key: String
    var op: String
    var value: String
}

/// The rule lines of a udev file (comments and blank lines dropped), each
/// split into its pairs; a line that is not comma-separated `KEY op "value"`
/// pairs is recorded as an issue.
func udevRuleLines(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [[RulePair]] {
    let pairPattern = try! Regex(#"^\s*([A-Za-z_]+(?:\{[^}]+\})?)(==|!=|\+=|-=|:=|=)"([^"]*)"\s*$"#)
    var lines: [[RulePair]] = []
    for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
        var pairs: [RulePair] = []
        // No value in these files holds a comma, so a plain split is exact.
        for piece in line.split(separator: ",", omittingEmptySubsequences: false) {
            guard let match = try? pairPattern.wholeMatch(in: String(piece)),
                let key = match.output[1].substring, let op = match.output[2].substring,
                let value = match.output[3].substring
            else {
                Issue.record("not KEY op \"value\": \(piece.debugDescription) in \(line.debugDescription)", sourceLocation: sourceLocation)
                continue
            }
            pairs.append(RulePair(key: String(key), op: String(op), value: String(value)))
        }
        lines.append(pairs)
    }
    return lines
}

// MARK: - Running doctor

/// Runs `latchkey doctor` with a HOME and root of the test's own and
/// nothing else from the test's environment. `PCSCLITE_CSOCK_NAME` points
/// at a socket that does not exist, so these runs never reach a pcscd that
/// the virtual-key tests may have running (their APDU counts would change).
func runDoctor(
    _ arguments: [String] = [], home: TestHome, root: String, environment: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ProcessResult {
    var env = [
        "PATH": "/usr/bin:/bin", "HOME": home.home, "LANG": "C.UTF-8",
        "PCSCLITE_CSOCK_NAME": home.root + "/no-pcscd.comm", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
    ]
    for (key, value) in environment { env[key] = value }
    return try runProgram(
        latchkeyBinary, ["doctor", "--root", root] + arguments, environment: env, inheritEnvironment: false,
        newSession: true, timeout: runTimeout, sourceLocation: sourceLocation)
}

/// One check line of doctor's text output.
struct DoctorLine: CustomStringConvertible {
    var symbol: String
    var title: String
    var detail: String
    /// The `fix:` line under it, if any.
    var fix: String?

    var description: String { "\(symbol) \(title): \(detail)" + (fix.map { " | fix: \($0)" } ?? "") }
}

/// Parses doctor's text output: `SYMBOL TITLE: DETAIL`, then optionally
/// `    fix: …`. Anything else is recorded as an issue.
func doctorLines(_ output: String, sourceLocation: SourceLocation = #_sourceLocation) -> [DoctorLine] {
    var lines: [DoctorLine] = []
    for line in output.split(separator: "\n") {
        if line.hasPrefix("    fix: "), !lines.isEmpty, lines[lines.count - 1].fix == nil {
            lines[lines.count - 1].fix = String(line.dropFirst("    fix: ".count))
            continue
        }
        let symbol = String(line.prefix(1))
        guard ["✓", "✗", "⚠", "–"].contains(symbol), line.dropFirst().hasPrefix(" "),
            let colon = line.firstIndex(of: ":")
        else {
            Issue.record("not a doctor line: \(line.debugDescription)", sourceLocation: sourceLocation)
            continue
        }
        let title = String(line[line.index(line.startIndex, offsetBy: 2)..<colon])
        lines.append(DoctorLine(symbol: symbol, title: title, detail: String(line[colon...].dropFirst(2)), fix: nil))
    }
    return lines
}

extension Array where Element == DoctorLine {
    func line(_ title: String) -> DoctorLine? { first { $0.title == title } }
}

// MARK: - A root directory with everything doctor looks for

/// A temporary root directory for `doctor --root` / `setup --root`.
final class TestRoot {
    private let directory: TemporaryDirectory
    var path: String { directory.path }

    init() throws { directory = try TemporaryDirectory("root") }

    /// Writes `text` at `relative` below the root, creating directories.
    func write(_ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try writeBytes(url.path, Array(text.utf8))
        chmod(url.path, 0o644)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: path + "/" + relative, encoding: .utf8)
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }

    /// Every path below the root, relative, sorted.
    func contents() -> [String] {
        (FileManager.default.subpaths(atPath: path) ?? []).sorted()
    }
}

/// An AWS config with one profile for each MFA source (and one without MFA).
let mfaProfilesConfig = """
    [default]
    region = eu-west-1

    [profile work]
    mfa_serial = arn:aws:iam::123456789012:mfa/alice
    latchkey_mfa = yubikey

    [profile ops]
    mfa_serial = arn:aws:iam::123456789012:mfa/ops
    latchkey_mfa = sealed

    [profile dev]
    mfa_serial = arn:aws:iam::123456789012:mfa/dev

    [profile plain]
    region = us-east-1
    """

// MARK: - A fake STS that only tells the time

/// A loopback HTTP server standing in for STS: every request gets an STS-like
/// 400 whose `Date` header is the true time plus `offset` seconds. The
/// request lines and headers it saw are kept in a log file.
final class ClockServer {
    private let scratch: TemporaryDirectory
    private let server: RunningProgram
    let port: Int
    private let scheme: String
    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    static let script = """
        import email.utils, http.server, ssl, sys, time

        offset = float(sys.argv[1])
        log = open(sys.argv[2], "a", buffering=1)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def date_time_string(self, timestamp=None):
                return email.utils.formatdate(time.time() + offset, usegmt=True)

            def do_GET(self):
                log.write(self.requestline + "\\n" + str(self.headers))
                body = b"<ErrorResponse><Error><Code>MissingAction</Code></Error></ErrorResponse>"
                self.send_response(400)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if len(sys.argv) > 4:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[3], sys.argv[4])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    /// Starts the server and waits (at most 10 s) for its port; HTTPS with
    /// `tls`'s certificate and key when given.
    init(offset: Double, tls: (cert: String, key: String)? = nil) throws {
        scratch = try TemporaryDirectory("clock")
        scheme = tls == nil ? "http" : "https"
        try writeBytes(scratch.file("clock.py"), Array(Self.script.utf8))
        server = try RunningProgram(
            "/usr/bin/env",
            ["python3", scratch.file("clock.py"), String(offset), scratch.file("requests.log")]
                + (tls.map { [$0.cert, $0.key] } ?? []),
            timeout: 120)
        let deadline = Date().addingTimeInterval(10)
        var output = server.stdoutSoFar()
        while !output.contains(UInt8(ascii: "\n")), server.isRunning, Date() < deadline {
            usleep(10_000)
            output = server.stdoutSoFar()
        }
        guard let port = Int(String(decoding: output.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)) else {
            killProcess(server.process)
            throw ServerDidNotStart()
        }
        self.port = port
    }

    deinit { killProcess(server.process) }

    /// What the server was sent: request lines and headers.
    var requests: String { (try? String(contentsOfFile: scratch.file("requests.log"), encoding: .utf8)) ?? "" }

    struct ServerDidNotStart: Error {}
}
