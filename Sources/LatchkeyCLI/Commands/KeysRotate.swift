import ArgumentParser
import LatchkeyCore

/// `latchkey keys rotate PROFILE`: a new access key for the profile's IAM
/// user, stored where the old one was, and the old one deleted.
struct KeysRotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a profile's long-term access key with a new one and delete the old one.",
        discussion: """
            With the profile's MFA session (cached, or made with one code: one touch),
            ListAccessKeys and CreateAccessKey; the new key goes where the old one was (the
            vault, or the profile's section of ~/.aws/credentials or ~/.aws/config, every
            other byte kept); the cached sessions made with the old key are dropped; the new
            key signs GetCallerIdentity (retried every 2 s for 30 s while IAM learns of it)
            and DeleteAccessKey of the old key (with the MFA session when a policy asks for
            MFA). No second code is needed, so no TOTP step is used twice.

            A user who already has two keys gets an error before anything changes. An
            interrupted rotation is finished by running the same command again: a key
            created but never stored is deleted, an old key not yet deleted is deleted.
            Needs iam:ListAccessKeys, iam:CreateAccessKey and iam:DeleteAccessKey on the
            user itself.

            Examples:
              latchkey keys rotate work --yubikey
              latchkey keys rotate admin-keys --sealed
            """)

    @Argument(help: "The profile whose key is rotated (for a role profile: the keys it starts from).")
    var profile: String

    @OptionGroup var mfa: MFACodeOptions

    func validate() throws {
        if mfa.mfaSource == .agent { throw ValidationError("--agent cannot rotate keys: run rotate on the agent's machine") }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        var request = CredentialRequest()
        request.profile = profile
        mfa.apply(to: &request)
        let result = try KeyRotation(world: world, request: request).run()
        for note in result.notes { world.standardError("latchkey: \(note)\n") }
        if result.finishedInterrupted {
            world.standardError("Finished the interrupted rotation of \(result.place): \(result.newKeyID) is in use and \(result.oldKeyID) is deleted\n")
        } else {
            let dropped = result.droppedSessions == 0 ? "" : "; \(result.droppedSessions) cached session(s) of the old key dropped"
            world.standardError("Rotated the access key of \(result.userName) (\(result.place)): \(result.oldKeyID) is deleted, \(result.newKeyID) is in use\(dropped)\n")
        }
        world.standardOutput(result.newKeyID + "\n")
    }
}
