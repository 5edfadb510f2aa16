import Foundation
import TestSupport
import Testing

/// latchkey's YubiKey path through the real stack: latchkey → pcscd →
/// vsmartcard's vpcd → latchkey-virtual-key, with oathtool and Yubico's ykman
/// as independent checks. Shares vpcd's port with the ykman suite; the
/// harness makes runs take turns.
@Suite(
    "latchkey against the virtual key on pcscd", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct LatchkeyOnKeyTests {
    static var latchkey: String? { builtExecutable("latchkey", override: "LATCHKEY_BIN") }

    /// `latchkey ARGS…` with the session's HOME, the virtual reader chosen,
    /// stdin from `input`, and no terminal (setsid), so nothing can prompt.
    func latchkey(_ session: VirtualKeySession, _ arguments: [String], input: String = "", environment: [String: String] = [:], timeout: Double = 40) async throws -> ProcessResult {
        try await Self.latchkey(home: session.home, arguments, input: input, environment: environment, timeout: timeout)
    }

    static func latchkey(home: String, _ arguments: [String], input: String = "", environment: [String: String] = [:], timeout: Double = 40) async throws -> ProcessResult {
        let binary = try #require(Self.latchkey, "latchkey was not built beside the tests; set LATCHKEY_BIN")
        return try await runProgram(binary, arguments, environment: [
            "HOME": home, "LATCHKEY_READER": VirtualKeySession.reader,
            "LATCHKEY_PASSPHRASE": "", "LATCHKEY_OATH_PASSWORD": "", "LATCHKEY_NEW_OATH_PASSWORD": "",
        ].merging(environment) { $1 }, stdin: Array(input.utf8), newSession: true, timeout: timeout)
    }

    /// A random secret of `bytes` bytes in base32 (no padding).
    static func randomBase32(_ bytes: Int = 20) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, buffer = 0, out = ""
        for _ in 0..<bytes {
            buffer = (buffer << 8) | Int.random(in: 0...255)
            bits += 8
            while bits >= 5 { out.append(alphabet[(buffer >> (bits - 5)) & 31]); bits -= 5 }
            buffer &= (1 << bits) - 1
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }

    func expectOneLineError(_ result: ProcessResult, status: Int32, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "stdout must be empty on error: \(result)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("latchkey: "), "one line on stderr: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "\(result)", sourceLocation: sourceLocation)
    }

    @Test("Codes for SHA1/SHA256/SHA512 × 6/8 digits × 30/60 s equal oathtool's, and each costs exactly SELECT + CALCULATE")
    func codesMatchOathtool() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey {
            var accounts: [(id: String, secret: String, algorithm: String, digits: Int, period: Int)] = []
            for algorithm in ["SHA1", "SHA256", "SHA512"] {
                for digits in [6, 8] {
                    for period in [30, 60] {
                        let name = "acct-\(algorithm)-\(digits)-\(period)"
                        // Longer than the hash block for SHA512 rows: the key must hold H(secret).
                        let secret = Self.randomBase32(algorithm == "SHA512" ? 130 : (algorithm == "SHA256" ? 70 : 20))
                        let added = try await latchkey(session, ["accounts", "add", name, "--yubikey", "--algorithm", algorithm, "--digits", "\(digits)", "--period", "\(period)"], input: secret)
                        #expect(added.status == 0, "\(added)")
                        accounts.append((period == 30 ? name : "\(period)/\(name)", secret, algorithm, digits, period))
                    }
                }
            }
            for account in accounts {
                session.clearLog()
                let before = unixTime()
                let code = try await latchkey(session, ["code", account.id, "--yubikey"])
                let after = unixTime()
                #expect(code.status == 0, "\(code)")
                let expected = try await oathtoolCodes(base32: account.secret, algorithm: account.algorithm.lowercased(), digits: account.digits, period: account.period, at: [before, after])
                #expect(expected.contains(code.stdout.trimmingCharacters(in: .newlines)), "\(account.id): \(code.stdout) vs \(expected)")
                #expect(session.instructions() == ["SELECT", "CALCULATE"], "APDUs for one code: \(session.instructions())")
                #expect(code.stderr.isEmpty, "no touch prompt for an account without touch: \(code.stderr)")
            }
            // A unique part of a name costs a LIST as well (the exact-id
            // CALCULATE fails first), and still gives the right code.
            session.clearLog()
            let partial = try await latchkey(session, ["code", "SHA256-8-60", "--yubikey"])
            #expect(partial.status == 0, "\(partial)")
            #expect(session.instructions() == ["SELECT", "CALCULATE", "LIST", "CALCULATE"])
        }
    }

    @Test("Thirty accounts are listed correctly when the key answers in 16-byte chunks")
    func thirtyAccountsChunked() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let names = (1...30).map { "Issuer\($0):user\($0)@example.com" }
        let binary = try #require(Tools.virtualKey)
        for (index, name) in names.enumerated() {
            var arguments = ["add", "--state", session.state, name, "--secret-base32", Self.randomBase32()]
            if index % 5 == 0 { arguments += ["--touch"] }
            if index % 7 == 0 { arguments += ["--hotp"] }
            let added = try await runProgram(binary, arguments, timeout: 10)
            try #require(added.status == 0, "\(added)")
        }
        try await session.withKey(["--chunk", "16"]) {
            let listed = try await latchkey(session, ["accounts", "list", "--yubikey", "--json"])
            #expect(listed.status == 0, "\(listed)")
            let json = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(Set(json.compactMap { $0["id"] as? String }) == Set(names))
            let touched = Set(json.filter { $0["touch"] as? Bool == true }.compactMap { $0["id"] as? String })
            let hotp = Set(json.filter { $0["type"] as? String == "hotp" }.compactMap { $0["id"] as? String })
            #expect(hotp == Set(names.enumerated().filter { $0.offset % 7 == 0 }.map(\.element)))
            // CALCULATE ALL marks touch only for TOTP accounts (HOTP shows as 77).
            #expect(touched == Set(names.enumerated().filter { $0.offset % 5 == 0 && $0.offset % 7 != 0 }.map(\.element)))
            #expect(session.instructions().count(of: "SEND_REMAINING") > 10, "chunking was in effect")
            let text = try await latchkey(session, ["accounts", "list", "--yubikey"])
            #expect(text.lines.count == 30)
            // Account 0 is HOTP with touch; CALCULATE ALL reports HOTP as 77, so only [HOTP] shows.
            #expect(text.lines.contains("Issuer1:user1@example.com  [HOTP]"), "\(text)")
            #expect(text.lines.contains("Issuer6:user6@example.com  [touch]"), "\(text)")
        }
    }

    @Test("An OATH password: missing or wrong exits 12; right costs SELECT + VALIDATE + CALCULATE; --remember keeps the access key; ykman agrees")
    func password() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let secret = Self.randomBase32()
        try await session.withKey {
            #expect(try await latchkey(session, ["accounts", "add", "aws", "--yubikey"], input: secret).status == 0)
            let set = try await latchkey(session, ["key", "password", "set"], environment: ["LATCHKEY_NEW_OATH_PASSWORD": "correct horse"])
            #expect(set.status == 0, "\(set)")

            expectOneLineError(try await latchkey(session, ["code", "aws", "--yubikey"]), status: 12, containing: "LATCHKEY_OATH_PASSWORD")
            expectOneLineError(try await latchkey(session, ["code", "aws", "--yubikey"], environment: ["LATCHKEY_OATH_PASSWORD": "wrong"]), status: 12, containing: "wrong OATH password")

            session.clearLog()
            let before = unixTime()
            let code = try await latchkey(session, ["code", "aws", "--yubikey"], environment: ["LATCHKEY_OATH_PASSWORD": "correct horse"])
            let after = unixTime()
            #expect(code.status == 0, "\(code)")
            #expect(try await oathtoolCodes(base32: secret, at: [before, after]).contains(code.stdout.trimmingCharacters(in: .newlines)))
            #expect(session.instructions() == ["SELECT", "VALIDATE", "CALCULATE"])

            // Yubico's client opens the same key with the same password.
            let ykman = try await session.ykman(["oath", "accounts", "list", "-p", "correct horse"])
            #expect(ykman.status == 0 && ykman.lines == ["aws"], "\(ykman)")

            // --remember: the access key goes into the sealed vault; later
            // calls need the vault passphrase, not the OATH password.
            let vault = ["LATCHKEY_PASSPHRASE": "vault pass"]
            let remember = try await latchkey(session, ["code", "aws", "--yubikey", "--remember"], environment: vault.merging(["LATCHKEY_OATH_PASSWORD": "correct horse"]) { $1 })
            #expect(remember.status == 0, "\(remember)")
            let remembered = try await latchkey(session, ["code", "aws", "--yubikey"], environment: vault)
            #expect(remembered.status == 0, "\(remembered)")
            let vaultFile = try String(contentsOfFile: session.home + "/.local/share/latchkey/vault.sealed", encoding: .isoLatin1)
            #expect(!vaultFile.contains("correct horse"))

            let clear = try await latchkey(session, ["key", "password", "clear"], environment: ["LATCHKEY_OATH_PASSWORD": "correct horse"])
            #expect(clear.status == 0, "\(clear)")
            session.clearLog()
            #expect(try await latchkey(session, ["code", "aws", "--yubikey"]).status == 0)
            #expect(session.instructions() == ["SELECT", "CALCULATE"])
        }
    }

    @Test("A touch account: the prompt goes to stderr (no terminal) while the key waits and the code to stdout; accounts without touch never prompt")
    func touchGiven() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let secret = Self.randomBase32()
        try await session.withKey(["--touch-delay", "2"]) {
            #expect(try await latchkey(session, ["accounts", "add", "touchy", "--yubikey", "--touch"], input: secret).status == 0)
            #expect(try await latchkey(session, ["accounts", "add", "plain", "--yubikey"], input: secret).status == 0)
            let before = unixTime()
            let code = try await latchkey(session, ["code", "touchy", "--yubikey"])
            let after = unixTime()
            #expect(code.status == 0, "\(code)")
            #expect(code.stderr == "Touch your YubiKey…\n", "\(code)")
            #expect(code.seconds >= 2)
            #expect(try await oathtoolCodes(base32: secret, at: [before, after]).contains(code.stdout.trimmingCharacters(in: .newlines)))
            let plain = try await latchkey(session, ["code", "plain", "--yubikey"])
            #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain)")
        }
    }

    @Test("On a terminal the touch prompt counts down on /dev/tty, and stdout still holds only the code")
    func touchPromptOnTerminal() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let binary = try #require(Self.latchkey)
        let secret = Self.randomBase32()
        try await session.withKey(["--touch-delay", "3"]) {
            #expect(try await latchkey(session, ["accounts", "add", "touchy", "--yubikey", "--touch"], input: secret).status == 0)
            // script(1) gives the command a pseudo-terminal as /dev/tty and
            // records what is written to it; stdout goes to a file.
            let out = session.directory.appendingPathComponent("code.out").path
            let typescript = session.directory.appendingPathComponent("tty.log").path
            let before = unixTime()
            let result = try await runProgram("/usr/bin/script", ["-qec", "\(binary) code touchy --yubikey > \(out)", typescript], environment: [
                "HOME": session.home, "LATCHKEY_READER": VirtualKeySession.reader,
            ], timeout: 30)
            let after = unixTime()
            #expect(result.status == 0, "\(result)")
            let code = try String(contentsOfFile: out, encoding: .utf8)
            #expect(try await oathtoolCodes(base32: secret, at: [before, after]).contains(code.trimmingCharacters(in: .newlines)), "stdout: \(code)")
            let tty = try String(contentsOfFile: typescript, encoding: .utf8)
            #expect(tty.contains("Touch your YubiKey… (15 s)"), "\(tty)")
            #expect(tty.contains("Touch your YubiKey… (14 s)"), "the countdown advances: \(tty)")
        }
    }

    @Test("A touch that never comes: exit 10 with 'touch timed out' once the key gives up")
    func touchTimedOut() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey(["--touch", "never", "--touch-timeout", "6"]) {
            #expect(try await latchkey(session, ["accounts", "add", "touchy", "--yubikey", "--touch"], input: Self.randomBase32()).status == 0)
            let result = try await latchkey(session, ["code", "touchy", "--yubikey"])
            #expect(result.status == 10, "\(result)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("Touch your YubiKey…"))
            #expect(result.stderr.contains("latchkey: touch timed out"), "\(result)")
        }
    }

    @Test("The key killed while latchkey waits on it: a one-line error and exit 13, within seconds")
    func keyKilledMidOperation() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey(["--touch", "never", "--touch-timeout", "30"]) {
            #expect(try await latchkey(session, ["accounts", "add", "touchy", "--yubikey", "--touch"], input: Self.randomBase32()).status == 0)
            let home = session.home
            async let pending = Self.latchkey(home: home, ["code", "touchy", "--yubikey"], timeout: 25)
            try await Task.sleep(for: .seconds(1.5))
            let killer = try await runProgram("/usr/bin/pkill", ["-KILL", "-f", "latchkey-virtual-key.*\(session.state)"], timeout: 5)
            #expect(killer.status == 0, "the key process was found and killed: \(killer)")
            let result = try await pending
            #expect(result.seconds < 15, "latchkey gave up soon after the key vanished: \(result)")
            #expect(result.status == 13, "\(result)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.split(separator: "\n").last?.hasPrefix("latchkey: ") == true, "\(result)")
        }
    }

    @Test("An account latchkey writes is read by ykman, and one ykman writes is read by latchkey")
    func interopWithYkman() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let ours = Self.randomBase32(), theirs = Self.randomBase32()
        try await session.withKey {
            #expect(try await latchkey(session, ["accounts", "add", "arn:aws:iam::123456789012:mfa/alice", "--yubikey", "--algorithm", "SHA256"], input: ours).status == 0)
            var before = unixTime()
            let ykmanCode = try await session.ykman(["oath", "accounts", "code", "--single", "mfa/alice"])
            var after = unixTime()
            #expect(ykmanCode.status == 0, "\(ykmanCode)")
            #expect(try await oathtoolCodes(base32: ours, algorithm: "sha256", at: [before, after]).contains(ykmanCode.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

            let added = try await session.ykman(["oath", "accounts", "add", "-f", "-i", "Corp", "-d", "8", "-P", "60", "bob", theirs])
            #expect(added.status == 0, "\(added)")
            before = unixTime()
            let ourCode = try await latchkey(session, ["code", "60/Corp:bob", "--yubikey"])
            after = unixTime()
            #expect(ourCode.status == 0, "\(ourCode)")
            #expect(try await oathtoolCodes(base32: theirs, digits: 8, period: 60, at: [before, after]).contains(ourCode.stdout.trimmingCharacters(in: .newlines)))

            let renamed = try await latchkey(session, ["accounts", "rename", "60/Corp:bob", "Corp:robert", "--yubikey"])
            #expect(renamed.status == 0, "\(renamed)")
            let listed = try await session.ykman(["oath", "accounts", "list"])
            #expect(Set(listed.lines) == ["arn:aws:iam::123456789012:mfa/alice", "60/Corp:robert"], "\(listed)")
            let deleted = try await latchkey(session, ["accounts", "delete", "60/Corp:robert", "--yubikey"])
            #expect(deleted.status == 0, "\(deleted)")
            #expect(try await session.ykman(["oath", "accounts", "list"]).lines == ["arn:aws:iam::123456789012:mfa/alice"])
        }
    }

    @Test("Errors without a usable key: empty reader → 11, unknown account → 2 with candidates, pcscd unreachable → 13 naming pcscd")
    func errors() async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        try await session.withKey {
            #expect(try await latchkey(session, ["accounts", "add", "alice", "--yubikey"], input: Self.randomBase32()).status == 0)
            expectOneLineError(try await latchkey(session, ["code", "zed", "--yubikey"]), status: 2, containing: "accounts: alice")
            expectOneLineError(try await latchkey(session, ["code", "alice", "--yubikey"], environment: ["LATCHKEY_READER": "Virtual PCD 00 01"]), status: 11, containing: "the reader has no card in it")
            expectOneLineError(try await latchkey(session, ["code", "alice", "--yubikey"], environment: ["LATCHKEY_READER": "no such reader"]), status: 11, containing: "no reader name contains")
            let devices = try await latchkey(session, ["devices"])
            #expect(devices.status == 0 && devices.stdout.contains("  Virtual PCD 00 00: OATH 5.4.3, no password"), "\(devices)")
            #expect(devices.stdout.contains("\nUSB: "), "the USB view follows the readers: \(devices)")
        }
        // pcscd's socket moved somewhere nothing listens: what a user sees
        // when pcscd is not running.
        let noService = try await latchkey(session, ["code", "alice", "--yubikey"], environment: ["PCSCLITE_CSOCK_NAME": session.directory.path + "/no-pcscd.comm"])
        expectOneLineError(noService, status: 13, containing: "pcscd is not running")
    }
}
