import LatchkeyCore
import ArgumentParser

/// `latchkey mfa …`: the IAM user's MFA devices.
struct MFA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa",
        abstract: "List, enroll and resync the IAM user's virtual MFA devices.",
        discussion: """
            These calls use the profile's long-term keys (no MFA session is needed: the
            `latchkey policy require-mfa` policy leaves them callable without MFA).

            Examples:
              latchkey mfa list --profile dev
              latchkey mfa enroll --profile dev --yubikey --touch
              latchkey mfa enroll --profile dev --sealed
              latchkey mfa resync --profile dev --yubikey
            """,
        subcommands: [MFAList.self, MFAEnroll.self, MFAResync.self])
}

