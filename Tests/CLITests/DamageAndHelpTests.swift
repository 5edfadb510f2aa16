import Foundation
import LatchkeyCore
import OATH
import TestSupport
import Testing

@Suite("latchkey with a damaged vault")
struct DamagedVaultTests {
    /// A HOME with two accounts; returns it and the vault image.
    static func makeHome() throws -> (TestHome, [UInt8]) {
        let home = try TestHome()
        try home.add("alice", secret: randomSecret())
        try home.add("door", secret: randomSecret(), flags: ["--hotp"])
        return (home, try #require(home.vaultBytes))
    }

    /// Every command that opens the vault, on a damaged image: exit 4, one
    /// line naming the file, the file unchanged.
    static func expectDamaged(_ image: [UInt8], in home: TestHome, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try writeBytes(home.vaultFile, image)
        for (arguments, stdin) in [
            (["code", "alice", "--sealed"], nil), (["code", "door", "--sealed"], nil), (["accounts", "list", "--sealed", "--json"], nil),
            (["accounts", "add", "bob", "--sealed"], "JBSWY3DPEHPK3PXP"), (["accounts", "delete", "alice", "--sealed"], nil),
            (["vault", "passwd"], nil),
        ] as [([String], String?)] {
            let result = try home.run(
                arguments, stdin: stdin, environment: ["LATCHKEY_NEW_PASSPHRASE": "new-passphrase-damage"], sourceLocation: sourceLocation)
            #expect(result.status == Exit.vaultDamaged, "\(what): \(result)", sourceLocation: sourceLocation)
            #expect(result.stderr.contains(home.vaultFile), "\(what): \(result)", sourceLocation: sourceLocation)
            #expect(try readBytes(home.vaultFile) == image, "\(what): the file must be left as it was", sourceLocation: sourceLocation)
        }
    }

    @Test("A truncated vault is exit 4 for every command, says so in one line naming the file, and is left as it was")
    func truncated() throws {
        try requireBinary()
        let (home, image) = try Self.makeHome()
        for length in [0, 5, 8, 60, 124, 139, 140, image.count - 1] {
            try Self.expectDamaged(Array(image.prefix(length)), in: home, "\(length) bytes")
        }
        try writeBytes(home.vaultFile, Array(image.prefix(100)))
        let result = try home.code("alice")
        #expect(result.errorLine == "latchkey: \(home.vaultFile) is truncated")
    }

    @Test("A flipped bit in the header or the sealed payload is exit 4 for every command, and the file is left as it was")
    func flippedBits() throws {
        try requireBinary()
        let (home, image) = try Self.makeHome()
        for offset in [0, 8, 10, 20, 60, 100, 123, 124, image.count / 2, image.count - 1] {
            var damaged = image
            damaged[offset] ^= 0x10
            try Self.expectDamaged(damaged, in: home, "byte \(offset) flipped")
        }
    }

    @Test("Foreign files and a newer format version are exit 4; vault info says so too, without a passphrase")
    func foreignFiles() throws {
        try requireBinary()
        let (home, image) = try Self.makeHome()
        var random = SplitMix64(seed: 0xF00)
        let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        try Self.expectDamaged(noise, in: home, "random bytes")
        try Self.expectDamaged(Array("[default]\nregion = eu-west-1\n".utf8), in: home, "a text file")
        var newer = image
        newer[8] = 2
        try Self.expectDamaged(newer, in: home, "format 2")
        let result = try home.code("alice")
        #expect(result.stderr.contains("format 2") && result.stderr.contains("upgrade"), "\(result)")
        let info = try home.run(["vault", "info"], passphrase: .some(nil))
        #expect(info.status == Exit.vaultDamaged, "\(info)")
    }

    @Test("A vault path that is a directory is a one-line failure (exit 1) naming it, not a crash")
    func directoryAsVault() throws {
        try requireBinary()
        let home = try TestHome()
        try FileManager.default.createDirectory(atPath: home.vaultFile, withIntermediateDirectories: true)
        let result = try home.code("alice")
        #expect(result.status == Exit.failure, "\(result)")
        #expect(result.stderr.contains(home.vaultFile))
    }
}

@Suite("latchkey --help")
struct HelpTests {
    static let commands: [[String]] = [
        [], ["code"], ["accounts"], ["accounts", "add"], ["accounts", "list"], ["accounts", "delete"],
        ["vault"], ["vault", "init"], ["vault", "passwd"], ["vault", "info"],
    ]

    @Test("--help for latchkey and each of its foundation subcommands exits 0 and shows an example", arguments: commands)
    func help(command: [String]) throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(command + ["--help"], passphrase: .some(nil))
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE: latchkey"))
        #expect(result.stdout.contains("Example"), "latchkey \(command.joined(separator: " ")) --help has no example")
        #expect(!FileManager.default.fileExists(atPath: home.vaultDirectory), "help touches no files")
    }

    @Test("The top-level help shows the main job first (auth --yubikey, credential_process, exec), then the headless uses")
    func mainJobFirst() throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["--help"], passphrase: .some(nil))
        #expect(result.status == 0, "\(result)")
        let order = [
            "latchkey auth --profile work --yubikey",
            "credential_process = latchkey credential-process --profile admin",
            "latchkey exec --profile admin -- terraform plan",
            "With no key plugged in",
            "latchkey auth --profile work --sealed",
        ]
        let positions = order.map { result.stdout.range(of: $0)?.lowerBound }
        for (text, position) in zip(order, positions) {
            #expect(position != nil, "--help does not show \(text)")
        }
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "--help shows the main job's examples out of order")
        // A headless source appears exactly when this build has it.
        for source in ["tpm", "agent"] {
            #expect(
                result.stdout.contains("latchkey auth --profile work --\(source)") == (MFASource(rawValue: source) != nil),
                "--help and the build disagree about --\(source)")
        }
    }

    @Test("The top-level help lists every exit code scripts branch on")
    func exitCodeTable() throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["--help"], passphrase: .some(nil))
        for code in ["0", "1", "2", "3", "4", "5", "6", "7", "64"] {
            #expect(result.stdout.contains("\n  \(code) "), "exit code \(code) missing from --help")
        }
    }
}
