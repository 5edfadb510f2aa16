import LatchkeyCore
import ArgumentParser

/// `latchkey keys …`: long-term AWS access keys sealed in the vault.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seal long-term AWS access keys in the vault instead of ~/.aws/credentials, and rotate them.",
        discussion: """
            latchkey uses a profile's sealed keys, when there are any, in preference to the
            credentials file, to ask STS for short-lived credentials.

            Examples:
              latchkey keys add work
              latchkey keys list
              latchkey keys rotate work --yubikey
              latchkey keys remove work
            """,
        subcommands: [KeysAdd.self, KeysList.self, KeysRemove.self, KeysRotate.self])
}
