import Foundation
import OATH
import TestSupport
import Testing
import VirtualKey

@Suite("State file")
struct StateFileTests {
    /// Runs `body` with a path in a new temporary directory, removed after.
    static func withTemporaryPath(_ name: String, _ body: (String) throws -> Void) throws {
        let directory = try TemporaryDirectory("vkey-state")
        try withExtendedLifetime(directory) { try body(directory.file(name)) }
    }

    @Test("A missing state file is created with a random 8-byte salt and no accounts, mode 0600")
    func created() throws {
        try Self.withTemporaryPath("key.json") { path in
            let state = try StateFile(path: path).loadOrCreate(random: CountingRandom())
            #expect(state == KeyState(salt: [1, 2, 3, 4, 5, 6, 7, 8]))
            #expect(FileManager.default.fileExists(atPath: path))
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try StateFile(path: path).loadOrCreate(random: CountingRandom()) == state)
        }
    }

    @Test("Accounts, the access key and non-UTF-8 names survive a save and load")
    func roundTrip() throws {
        try Self.withTemporaryPath("key.json") { path in
            let file = StateFile(path: path)
            let state = KeyState(
                salt: [8, 7, 6, 5, 4, 3, 2, 1],
                accessKey: KeyState.AccessKey(algorithm: .sha256, key: [0xAA, 0xBB]),
                accounts: [
                    StoredAccount(name: Array("Example:alice".utf8), type: .totp, algorithm: .sha1, digits: 6, secret: [1, 2, 3]),
                    StoredAccount(name: [0xFF, 0xFE, 0x00], type: .hotp, algorithm: .sha512, digits: 8, secret: [9],
                                  requiresTouch: true, onlyIncreasing: true, counter: 42),
                ])
            try file.save(state)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("\"name\" : \"Example:alice\""))
            #expect(text.contains("\"nameHex\" : \"fffe00\""))
            #expect(try file.loadOrCreate(random: CountingRandom()) == state)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            #expect(leftovers == ["key.json"])
        }
    }

    /// Not JSON, the wrong shape, a short salt, an empty name, 12 digits,
    /// an unknown type with a non-hex secret.
    static let corruptFiles = [
        "{",
        "[]",
        #"{"salt": "00"}"#,
        #"{"salt": "0102030405060708", "accounts": [{"name": "", "type": "TOTP", "algorithm": "SHA1", "digits": 6, "secret": "00"}]}"#,
        #"{"salt": "0102030405060708", "accounts": [{"name": "a", "type": "TOTP", "algorithm": "SHA1", "digits": 12, "secret": "00"}]}"#,
        #"{"salt": "0102030405060708", "accounts": [{"name": "a", "type": "XOTP", "algorithm": "SHA1", "digits": 6, "secret": "zz"}]}"#,
    ]

    @Test("A corrupt or invalid state file is an error with the path, never a crash or a silent reset", arguments: corruptFiles)
    func corrupt(content: String) throws {
        try Self.withTemporaryPath("key.json") { path in
            try content.write(toFile: path, atomically: false, encoding: .utf8)
            #expect {
                try StateFile(path: path).loadOrCreate(random: CountingRandom())
            } throws: { error in
                "\(error)".contains(path)
            }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == content)
        }
    }
}
