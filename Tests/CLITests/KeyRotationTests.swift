import Foundation
import OATH
import TestSupport
import Testing

/// `keys rotate` against latchkey's MFA-checking STS/IAM server, whose
/// access-key calls need an MFA session (as with AWS's "manage your own
/// credentials only with MFA" policies) and which refuses a new key for
/// the first seconds, as IAM does while it propagates.
@Suite("keys rotate against the MFA-checking server", .serialized)
struct KeyRotationTests {
    /// alice needs MFA for her key calls; new keys work after 3 s.
    static func world(propagation: Double = 3, extraKeys: [String]? = nil) throws -> AuthWorld {
        var config = MFASTSServer.Config.standard()
        config.users[0].requireMFAForKeys = true
        config.users[0].extraAccessKeys = extraKeys
        config.keyPropagationSeconds = propagation
        return try AuthWorld(config: config)
    }

    /// A credentials file with more than `[dev]`: comments, another profile,
    /// and a setting of `[dev]`'s own that must stay.
    static func credentials(_ user: MFASTSServer.User) -> String {
        """
        # my keys; do not lose this comment
        [other]
        aws_access_key_id = AKIAOTHEROTHEROTHER1
        aws_secret_access_key = other-secret-other-secret

        [dev]
        ; from the IAM console
        aws_access_key_id = \(user.accessKeyID)
        aws_secret_access_key = \(user.secretAccessKey)
        region = eu-west-1

        """
    }

    /// The AWS CLI's GetCallerIdentity with these keys (no profile).
    func callerARN(_ world: AuthWorld, id: String, secret: String) throws -> ProcessResult {
        try world.runTool(
            toolPath("aws"), ["sts", "get-caller-identity", "--region", "eu-west-1", "--output", "text", "--query", "Arn"],
            environment: ["AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"])
    }

    /// `[dev]`'s key id and secret in the credentials file.
    func devKey(_ world: AuthWorld) throws -> (id: String, secret: String) {
        let text = try String(contentsOfFile: world.credentialsPath, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "[dev]").last)
        func value(_ name: String) -> String? {
            section.split(separator: "\n").first { $0.hasPrefix(name + " = ") }.map { String($0.dropFirst(name.count + 3)) }
        }
        return (try #require(value("aws_access_key_id")), try #require(value("aws_secret_access_key")))
    }

    @Test("credentials file: the cached MFA session signs (no new code), the new key replaces the old in place, old sessions dropped, the old key deleted and refused, the AWS CLI works with the new one")
    func credentialsFile() throws {
        let world = try Self.world()
        try world.writeCredentials(Self.credentials(world.user))
        let warm = try world.run(["auth", "--profile", "dev"])
        #expect(warm.status == 0, "\(warm)")
        #expect(world.sessionFiles().count == 1)
        let before = try String(contentsOfFile: world.credentialsPath, encoding: .utf8)

        let rotated = try world.run(["keys", "rotate", "dev", "--sealed"])
        #expect(rotated.status == 0, "\(rotated)")
        let newID = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newID.hasPrefix("AKIA") && newID != world.user.accessKeyID, "\(rotated)")
        #expect(rotated.stderr.contains("\(world.user.accessKeyID) is deleted, \(newID) is in use"), "\(rotated)")
        #expect(rotated.stderr.contains("1 cached session(s) of the old key dropped"), "\(rotated)")

        let (id, secret) = try devKey(world)
        #expect(id == newID)
        let after = try String(contentsOfFile: world.credentialsPath, encoding: .utf8)
        // Every other byte as it was.
        #expect(after == before
            .replacingOccurrences(of: world.user.accessKeyID, with: id)
            .replacingOccurrences(of: world.user.secretAccessKey, with: secret))
        #expect(world.sessionFiles().isEmpty, "\(world.sessionFiles())")
        #expect(!FileManager.default.fileExists(atPath: world.home.vaultDirectory + "/key-rotation.json"))

        let stats = try world.server.stats()
        // The cached session did the key calls: no code spent by rotate.
        #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "\(stats)")
        #expect(stats.count("CreateAccessKey") == 1 && stats.count("ListAccessKeys") == 1, "\(stats)")
        // The new key was refused while "propagating", then deleted the old
        // one: signed with the new key (denied: no MFA), then with the session.
        #expect(stats.count("GetCallerIdentity") >= 2 && stats.count("DeleteAccessKey") == 2, "\(stats)")

        let old = try callerARN(world, id: world.user.accessKeyID, secret: world.user.secretAccessKey)
        #expect(old.status != 0 && old.stderr.contains("InvalidClientTokenId"), "\(old)")
        let new = try callerARN(world, id: id, secret: secret)
        #expect(new.status == 0 && new.stdout.contains(":user/alice"), "\(new)")
        // latchkey's own flow with the new key, and a code of a step rotate did not use.
        let auth = try world.run(["auth", "--profile", "dev", "--mfa-code", world.currentCode(offset: 30)])
        #expect(auth.status == 0, "\(auth)")
    }

    @Test("sealed keys: one code (no cached session), the vault and its index get the new key, the old one is refused")
    func sealedKeys() throws {
        let world = try Self.world(propagation: 0)
        try world.writeCredentials("")
        let sealed = try world.home.run(["keys", "add", "dev"], stdin: "\(world.user.accessKeyID)\n\(world.user.secretAccessKey)\n")
        #expect(sealed.status == 0, "\(sealed)")

        let rotated = try world.run(["keys", "rotate", "dev", "--sealed"])
        #expect(rotated.status == 0, "\(rotated)")
        let newID = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rotated.stderr.contains("sealed for profile 'dev'"), "\(rotated)")
        let list = try world.home.run(["keys", "list"])
        #expect(list.status == 0 && list.stdout.contains(newID) && !list.stdout.contains(world.user.accessKeyID), "\(list)")
        let index = try String(contentsOfFile: world.home.vaultDirectory + "/sealed-keys", encoding: .utf8)
        #expect(index == "dev \(newID)\n")

        let stats = try world.server.stats()
        #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "\(stats)")
        let old = try callerARN(world, id: world.user.accessKeyID, secret: world.user.secretAccessKey)
        #expect(old.status != 0 && old.stderr.contains("InvalidClientTokenId"), "\(old)")
        let auth = try world.run(["auth", "--profile", "dev", "--mfa-code", world.currentCode(offset: 30)])
        #expect(auth.status == 0, "\(auth)")
    }

    @Test("keys in the config file: rotate writes them under the config file's lock, the one `mfa enroll` takes")
    func configFileUnderItsLock() throws {
        let world = try Self.world(propagation: 0)
        try world.writeCredentials("")
        let config = try String(contentsOfFile: world.configPath, encoding: .utf8).replacingOccurrences(
            of: "[profile dev]\n",
            with: "[profile dev]\naws_access_key_id = \(world.user.accessKeyID)\naws_secret_access_key = \(world.user.secretAccessKey)\n")
        try config.write(toFile: world.configPath, atomically: true, encoding: .utf8)

        // Another latchkey editing the config file holds its lock for 5 s.
        let cacheDirectory = (world.sessionsDirectory as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: cacheDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lockPath = cacheDirectory + "/config-file.lock"
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: toolPath("flock"))
        holder.arguments = ["-x", lockPath, "sleep", "5"]
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        let held = Date()
        // Until flock holds it, `flock -n` still gets it.
        while try world.runTool(toolPath("flock"), ["-n", lockPath, "true"]).status == 0 {
            try #require(Date().timeIntervalSince(held) < 5, "flock did not take the lock")
            usleep(20_000)
        }

        let started = Date()
        let rotated = try world.run(["keys", "rotate", "dev", "--sealed"])
        let waited = Date().timeIntervalSince(started)
        #expect(rotated.status == 0, "\(rotated)")
        let newID = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rotated.stderr.contains("[dev] in \(world.configPath)"), "\(rotated)")
        // It waited for the lock (alone, a rotation here takes well under 2 s).
        #expect(waited > 3, "rotate took \(waited) s: it did not wait for the config file's lock")
        let after = try String(contentsOfFile: world.configPath, encoding: .utf8)
        #expect(after.contains("aws_access_key_id = \(newID)\n") && !after.contains(world.user.accessKeyID), "\(after)")
    }

    @Test("a user with two keys: exit 7 naming both before anything changes")
    func twoKeys() throws {
        let second = "AKIASECONDSECONDSEC2"
        let world = try Self.world(extraKeys: [second])
        try world.writeCredentials(Self.credentials(world.user))
        let before = try String(contentsOfFile: world.credentialsPath, encoding: .utf8)
        let result = try world.run(["keys", "rotate", "dev", "--sealed"])
        #expect(result.status == 7, "\(result)")
        #expect(result.errorLine.contains("already has two access keys (\(world.user.accessKeyID) and \(second))"), "\(result)")
        #expect(result.errorLine.contains("nothing was changed"), "\(result)")
        #expect(try String(contentsOfFile: world.credentialsPath, encoding: .utf8) == before)
        #expect(try world.server.stats().count("CreateAccessKey") == 0)
    }

    @Test("DeleteAccessKey fails after CreateAccessKey: the new key is kept, the error names the old one; the next rotate deletes it")
    func deleteFailsThenFinishes() throws {
        let world = try Self.world(propagation: 0)
        try world.writeCredentials(Self.credentials(world.user))
        try world.server.inject([.error("ServiceUnavailable", message: "Service is unavailable", status: 503, action: "DeleteAccessKey", times: 2)])
        let failed = try world.run(["keys", "rotate", "dev", "--sealed"])
        #expect(failed.status == 21 && failed.stdout.isEmpty, "\(failed)")
        let (id, secret) = try devKey(world)
        #expect(id != world.user.accessKeyID)
        #expect(failed.errorLine.contains("the new key \(id) is stored"), "\(failed)")
        #expect(failed.errorLine.contains("the old key \(world.user.accessKeyID) is still active: run `latchkey keys rotate dev` again"), "\(failed)")
        #expect(FileManager.default.fileExists(atPath: world.home.vaultDirectory + "/key-rotation.json"))
        let old = try callerARN(world, id: world.user.accessKeyID, secret: world.user.secretAccessKey)
        #expect(old.status == 0, "the old key still works: \(old)")

        // The session is made with the new key now: a code of a step the
        // first run did not use (the ledger would otherwise wait for one).
        let finished = try world.run(["keys", "rotate", "dev", "--mfa-code", world.currentCode(offset: 30)])
        #expect(finished.status == 0, "\(finished)")
        #expect(finished.stderr.contains("Finished the interrupted rotation of [dev]"), "\(finished)")
        #expect(finished.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        #expect(try devKey(world).id == id)
        #expect(!FileManager.default.fileExists(atPath: world.home.vaultDirectory + "/key-rotation.json"))
        let gone = try callerARN(world, id: world.user.accessKeyID, secret: world.user.secretAccessKey)
        #expect(gone.status != 0 && gone.stderr.contains("InvalidClientTokenId"), "\(gone)")
        #expect(try callerARN(world, id: id, secret: secret).status == 0)
    }

    @Test("a crash after CreateAccessKey, before the key was stored: the next rotate deletes the unstored key and rotates")
    func crashBeforeStoring() throws {
        let world = try Self.world(propagation: 0)
        try world.writeCredentials(Self.credentials(world.user))
        // What the crashed run left: its journal entry, and a key IAM made
        // whose secret nobody kept (made here by the AWS CLI with an MFA session).
        let started = Int(Date().timeIntervalSince1970) - 5
        let session = try world.run(["auth", "--profile", "dev", "--format", "json"])
        #expect(session.status == 0, "\(session)")
        let credentials = try JSONDecoder().decode(ProcessCredentials.self, from: Data(session.stdout.utf8))
        let made = try world.runTool(toolPath("aws"), ["iam", "create-access-key", "--region", "us-east-1", "--output", "text", "--query", "AccessKey.AccessKeyId"], environment: [
            "AWS_ACCESS_KEY_ID": credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY": credentials.SecretAccessKey,
            "AWS_SESSION_TOKEN": credentials.SessionToken ?? "",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        let orphan = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.createDirectory(atPath: world.home.vaultDirectory, withIntermediateDirectories: true)
        try writeBytes(world.home.vaultDirectory + "/key-rotation.json", Array("""
            {"rotations":[{"oldKeyID":"\(world.user.accessKeyID)","profile":"dev","started":\(started)}],"v":1}
            """.utf8))

        let rotated = try world.run(["keys", "rotate", "dev", "--sealed"])
        #expect(rotated.status == 0, "\(rotated)")
        #expect(rotated.stderr.contains("deleted \(orphan), which an interrupted rotation created but never stored"), "\(rotated)")
        let newID = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newID != orphan && newID != world.user.accessKeyID)
        #expect(try devKey(world).id == newID)
        #expect(!FileManager.default.fileExists(atPath: world.home.vaultDirectory + "/key-rotation.json"))
        #expect(try world.server.stats().count("DeleteAccessKey") >= 2)
    }

    @Test("keys from AWS_ACCESS_KEY_ID, and a profile without keys: one line each, nothing sent")
    func nothingToRotate() throws {
        let world = try Self.world()
        try world.writeConfig(extra: "[profile bare]\nregion = eu-west-1\n\n[profile tool]\ncredential_process = /bin/true\n")
        let environment = try world.run(["keys", "rotate", "bare"], environment: [
            "AWS_ACCESS_KEY_ID": world.user.accessKeyID, "AWS_SECRET_ACCESS_KEY": world.user.secretAccessKey,
        ])
        #expect(environment.status == 6 && environment.errorLine.contains("AWS_ACCESS_KEY_ID"), "\(environment)")
        let process = try world.run(["keys", "rotate", "tool"])
        #expect(process.status == 23 && process.errorLine.contains("has no long-term access key"), "\(process)")
        #expect(try world.server.stats().requests == 0)
    }

    @Test("a damaged key-rotation.json: exit 1 naming it, before any key call; the key and the file stay")
    func damagedJournal() throws {
        let world = try Self.world(propagation: 0)
        try world.writeCredentials(Self.credentials(world.user))
        let before = try String(contentsOfFile: world.credentialsPath, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: world.home.vaultDirectory, withIntermediateDirectories: true)
        let journal = world.home.vaultDirectory + "/key-rotation.json"
        try writeBytes(journal, Array("{\"rotations\": [{\"profile\": 7}]".utf8))
        let result = try world.run(["keys", "rotate", "dev", "--sealed"])
        #expect(result.status == 1 && result.stdout.isEmpty, "\(result)")
        #expect(result.errorLine.hasPrefix("latchkey: \(journal) is damaged") && result.errorLine.contains("aws iam list-access-keys"), "\(result)")
        #expect(try String(contentsOfFile: world.credentialsPath, encoding: .utf8) == before)
        #expect(try readBytes(journal) == Array("{\"rotations\": [{\"profile\": 7}]".utf8))
        let stats = try world.server.stats()
        #expect(stats.count("CreateAccessKey") == 0 && stats.count("DeleteAccessKey") == 0, "\(stats)")
    }
}
