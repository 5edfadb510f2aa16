import LatchkeyCore
import ArgumentParser
import SealedStore
import FoundationEssentials

/// `latchkey keys list [--json]`: profiles and key ids, never secrets.
struct KeysList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the profiles with sealed keys and their access key ids (never the secrets).",
        discussion: """
            Examples:
              latchkey keys list
              latchkey keys list --json
            """)

    @Flag(help: "Print JSON: [{\"profile\", \"access_key_id\"}].")
    var json = false

    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let vault = try VaultSession(world: world, passphraseFile: passphrase.passphraseFile)
        let keys = try vault.open().map { SealedAWSKey.all(in: $0.contents) } ?? []
        if json {
            struct Listed: Encodable {
                var profile: String
                var access_key_id: String
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let listed = keys.map { Listed(profile: $0.profile, access_key_id: $0.accessKeyID) }
            world.standardOutput(listed.isEmpty ? "[]\n" : String(decoding: try encoder.encode(listed), as: UTF8.self) + "\n")
            return
        }
        for key in keys { world.standardOutput("\(key.profile)\t\(key.accessKeyID)\n") }
    }
}
