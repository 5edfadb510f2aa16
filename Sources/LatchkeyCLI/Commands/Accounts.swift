import ArgumentParser

/// `latchkey accounts …`: the OATH accounts latchkey can produce codes for.
struct Accounts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list and delete OATH (TOTP/HOTP) accounts.",
        subcommands: [AccountsAdd.self, AccountsList.self, AccountsDelete.self, AccountsRename.self])
}
