import LatchkeyCore
import ArgumentParser
import SealedStore
import SystemSupport

/// `latchkey keys add PROFILE`: key id and secret from the terminal or stdin.
struct KeysAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Seal a profile's access key id and secret access key.",
        discussion: """
            On a terminal both are asked for (the secret with echo off). Otherwise stdin holds
            two lines: the access key id, then the secret access key. Never on the command line.

            Examples:
              latchkey keys add work
              printf '%s\\n%s\\n' "$KEY_ID" "$SECRET" | latchkey keys add work
            """)

    @Argument(help: "The AWS profile the keys belong to.")
    var profile: String

    @Flag(help: "Replace keys already sealed for this profile.")
    var force = false

    @OptionGroup var passphrase: PassphraseOptions

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        guard !profile.isEmpty, !profile.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            throw LatchkeyError(.invalidInput, "the profile name must be non-empty and contain no spaces or control characters")
        }
        let key = try readKey(world)
        let vault = try VaultSession(world: world, passphraseFile: passphrase.passphraseFile)
        let location = vault.location
        try vault.update(creatingWith: .standard) { contents in
            if !force, contents.entry(.awsAccessKey, named: profile) != nil {
                throw LatchkeyError(.alreadyExists, "keys for profile '\(profile)' are already sealed; add --force to replace them")
            }
            try contents.upsert(key.entry)
            try SealedKeyIndex.rewrite(from: contents, at: location)
        }
        world.standardError("Sealed the access key \(key.accessKeyID) for profile '\(profile)' in \(location.file)\n")
    }

    private func readKey(_ world: World) throws -> SealedAWSKey {
        var id: String
        var secret: [UInt8]
        if world.output.inputIsTerminal, world.prompter.canAsk {
            id = String(decoding: try world.prompter.ask("Access key id for '\(profile)': ", secret: false)?.bytes ?? [], as: UTF8.self)
            secret = try world.prompter.ask("Secret access key: ", secret: true)?.bytes ?? []
        } else {
            var input = try world.output.readInput()
            defer { input.wipe() }
            let lines = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
                .map { line in line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : Array(line) }
            guard lines.count == 2 else {
                throw LatchkeyError(.invalidInput, "stdin must hold two lines: the access key id, then the secret access key")
            }
            id = String(decoding: lines[0], as: UTF8.self)
            secret = lines[1]
        }
        defer { secret.wipe() }
        id = String(id.trimmingASCIIWhitespace())
        guard SealedAWSKey.isValidAccessKeyID(id) else {
            throw LatchkeyError(.invalidInput, "the access key id must be 16 to 128 upper-case letters and digits (like AKIA…)")
        }
        guard SealedAWSKey.isValidSecret(secret) else {
            throw LatchkeyError(.invalidInput, "the secret access key must be 16 to 128 printable characters without spaces")
        }
        return SealedAWSKey(profile: profile, accessKeyID: id, secretAccessKey: SecretBytes(secret))
    }
}
