import Foundation
import ArgumentParser
@testable import LatchkeyCLI
import CredentialFlow
import LatchkeyCore
import OATH
import YKOATH
import TestWorld
import VirtualKey
import Testing

/// The real commands, parsed and run in-process with a test World: the
/// virtual key's applet in memory and a scripted STS. No pcscd, no
/// subprocess; each test runs well under a second (the touch timeout's own
/// 2 s wait aside).
@Suite("The commands in-process with a test World")
struct InProcessTests {
    static let seed = Array("12345678901234567890".utf8)
    static let serial = "arn:aws:iam::123456789012:mfa/alice"

    static func world(touch: any TouchSensor = AlwaysTouched(), requireTouch: Bool = false) throws -> TestWorld {
        let world = try TestWorld(touch: touch)
        try world.write(
            ".aws/config",
            "[profile work]\nregion = us-east-1\nmfa_serial = \(serial)\nlatchkey_mfa = yubikey\n")
        try world.write(".aws/credentials", "[work]\naws_access_key_id = AKIAWORKEXAMPLE01\naws_secret_access_key = work-secret\n")
        try world.key.session().put(OATHCredential(name: serial, secret: seed), requireTouch: requireTouch)
        world.sts.answer("GetSessionToken", ScriptedHTTP.sessionToken(keyID: "ASIAFROMSTS", expiration: world.clock.unixTime + 43_200))
        return world
    }

    var expectedCode: (TestWorld) -> String { { OATHCredential(name: Self.serial, secret: Self.seed).code(at: $0.clock.unixTime) } }

    @Test("auth --profile work --yubikey prints export lines with the session STS returned for the key's code")
    func auth() throws {
        let world = try Self.world()
        try Latchkey.run(["auth", "--profile", "work", "--yubikey"], in: world.world)
        #expect(world.standardOutput.hasPrefix("export AWS_ACCESS_KEY_ID=ASIAFROMSTS\nexport AWS_SECRET_ACCESS_KEY=secret-of-ASIAFROMSTS\n"))
        #expect(world.sts.calls.first?["TokenCode"] == expectedCode(world))
    }

    @Test("credential-process --profile work prints the credential_process JSON; a second run costs no CALCULATE")
    func credentialProcess() throws {
        let world = try Self.world()
        try Latchkey.run(["credential-process", "--profile", "work"], in: world.world)
        #expect(world.standardOutput.hasPrefix(#"{"Version":1,"AccessKeyId":"ASIAFROMSTS","SecretAccessKey":"secret-of-ASIAFROMSTS""#))
        try Latchkey.run(["credential-process", "--profile", "work", "--transport", "ccid"], in: world.world)
        #expect(world.key.calculateCount == 1)
        #expect(world.sts.calls.count == 1)
    }

    @Test("code NAME --yubikey and code --sealed print the code only")
    func codes() throws {
        let world = try Self.world()
        try Latchkey.run(["code", "alice", "--yubikey"], in: world.world)
        #expect(world.standardOutput == expectedCode(world) + "\n")
        world.environment["LATCHKEY_PASSPHRASE"] = "pw"
        world.standardInput = Array("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".utf8)
        try Latchkey.run(["accounts", "add", "bob", "--sealed", "--scrypt-log2n", "10"], in: world.world)
        try Latchkey.run(["code", "--sealed"], in: world.world)
        #expect(world.standardOutput == expectedCode(world) + "\n" + expectedCode(world) + "\n")
    }

    @Test("A touch that never comes (the key gives up after 2 s) is category touchTimeout, exit 10")
    func touchTimeout() throws {
        let world = try Self.world(touch: NeverTouched(givingUpAfter: 2), requireTouch: true)
        let error = #expect(throws: LatchkeyError.self) { try Latchkey.run(["code", Self.serial, "--yubikey"], in: world.world) }
        #expect(error.map { ExitStatus($0.category).rawValue } == 10)
    }

    @Test("A wrong OATH password is exit 12")
    func wrongPassword() throws {
        let world = try Self.world()
        let session = try world.key.session()
        try session.setAccessKey(try OATHSession.deriveAccessKey(password: Array("right".utf8), salt: session.select.salt))
        world.environment["LATCHKEY_OATH_PASSWORD"] = "wrong"
        let error = #expect(throws: (any Error).self) { try Latchkey.run(["code", "alice", "--yubikey"], in: world.world) }
        #expect(error.flatMap(LatchkeyError.init(mapping:)).map { ExitStatus($0.category).rawValue } == 12)
    }
}

@Suite("Exit codes: one table")
struct ExitCodeTableTests {
    @Test("The README's exit-code table is ExitStatus's table, row for row")
    func readmeTable() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let section = try #require(text.range(of: "### Exit codes")).upperBound
        let rows = text[section...].split(separator: "\n").drop { !$0.hasPrefix("| code") }.dropFirst(2).prefix { $0.hasPrefix("|") }
        let table = rows.map { row -> String in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return "\(cells[0]) \(cells[1])"
        }
        #expect(table == ExitStatus.allCases.map { "\($0.rawValue) \($0.meaning)" })
    }

    @Test("Every failure category has its own exit code")
    func distinctCodes() {
        let codes = FailureCategory.allCases.map { ExitStatus($0).rawValue }
        #expect(Set(codes).count == codes.count)
        #expect(!codes.contains(0))
    }
}

@Suite("The warm path's option table")
struct OptionTableTests {
    /// Every `--name` a command's help shows, less `--help` and `--version`.
    static func optionNames(_ command: any ParsableCommand.Type) -> Set<String> {
        var names: Set<String> = []
        var rest = Substring(Latchkey.helpMessage(for: command, columns: 1000))
        while let start = rest.range(of: "--") {
            let name = rest[start.lowerBound...].prefix { $0 == "-" || $0.isLetter || $0.isNumber }
            if name.count > 2 { names.insert(String(name)) }
            rest = rest[start.upperBound...]
        }
        return names.subtracting(["--help", "--version"])
    }

    @Test("Every credentials command declares exactly CredentialOption's options, so the warm path reads what the command takes")
    func sameOptions() {
        let table = Set(CredentialOption.allCases.map { "--" + $0.name })
        for command in [CredentialProcess.self, Auth.self, Exec.self, Whoami.self] as [any ParsableCommand.Type] {
            let own: Set<String> = command == Auth.self ? ["--format", "--write-profile"] : command == Exec.self ? ["--server"] : []
            #expect(Self.optionNames(command).subtracting(own) == table, "\(command)")
        }
        // `code`, which FastPaths also reads with the table: exactly its code options.
        #expect(Self.optionNames(Code.self) == Set(CredentialOption.codeOptions.map { "--" + $0.name }))
    }

    @Test("The table reads code's command line: one name, the key's options, and nothing else")
    func codeParse() {
        let parsed = CredentialOption.parse(["alice", "--yubikey", "--reader=Yubico", "--transport", "ccid"], allowing: CredentialOption.codeOptions, positionals: 1)
        #expect(parsed?.positionals == ["alice"])
        #expect(parsed?.request.mfaSource == .yubikey)
        #expect(parsed?.request.key == KeySettings(reader: "Yubico", transport: .ccid))
        for arguments in [["a", "b", "--yubikey"], ["--yubikey", "--profile", "p"], ["-h"], ["--yubikey", "--", "x"], ["--yubikey", "--sealed"]] {
            #expect(CredentialOption.parse(arguments[...], allowing: CredentialOption.codeOptions, positionals: 1) == nil, "\(arguments)")
        }
    }
}
