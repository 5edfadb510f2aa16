import LatchkeyCore
import ArgumentParser
import SealedStore

/// `latchkey keys remove PROFILE`.
struct KeysRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a profile's sealed keys.",
        discussion: """
            Example:
              latchkey keys remove work
            """)

    @Argument(help: "The profile, exactly as `keys list` shows it.")
    var profile: String

    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let vault = try VaultSession(world: world, passphraseFile: passphrase.passphraseFile)
        let location = vault.location
        try vault.update(creatingWith: nil) { contents in
            guard contents.remove(.awsAccessKey, named: profile) else {
                let profiles = SealedAWSKey.all(in: contents).map(\.profile)
                throw LatchkeyError(.accountNotFound, "no keys are sealed for profile '\(profile)'" + (profiles.isEmpty ? "" : "; profiles: \(profiles.joined(separator: ", "))"))
            }
            try SealedKeyIndex.rewrite(from: contents, at: location)
        }
        world.standardError("Removed the sealed keys of profile '\(profile)' from \(location.file)\n")
    }
}
