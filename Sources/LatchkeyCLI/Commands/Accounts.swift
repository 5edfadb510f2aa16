import LatchkeyCore
import ArgumentParser

/// `latchkey accounts …`: the OATH accounts latchkey can produce codes for.
struct Accounts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list, rename and delete OATH (TOTP/HOTP) accounts.",
        discussion: """
            Accounts live on a YubiKey (--yubikey) or in the sealed vault (--sealed).

            Examples:
              printf '%s' "$SEED" | latchkey accounts add alice --yubikey --touch
              latchkey accounts list --sealed --json
            """,
        subcommands: [AccountsAdd.self, AccountsList.self, AccountsDelete.self, AccountsRename.self])
}
