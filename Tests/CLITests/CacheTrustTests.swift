import Foundation
import TestSupport
import Testing

/// The session cache holds only what this user wrote: files planted by
/// another user are not served, and `logout --all` deletes only latchkey's
/// own files in a directory of this user.
@Suite("The session cache trusts and deletes only this user's own files", .serialized)
struct CacheTrustTests {
    static let digest = String(repeating: "0123456789abcdef", count: 4)

    @Test("credential-process does not serve a fresh session file owned by another user: it asks STS and says why once")
    func plantedSession() throws {
        let world = try AuthWorld()
        let first = try world.run(["credential-process", "--profile", "dev"])
        #expect(first.status == 0, "\(first)")
        let files = world.sessionFiles()
        try #require(files.count == 1, "\(files)")
        let planted = world.sessionsDirectory + "/" + files[0]
        #expect(chown(planted, nobodyUID, nobodyUID) == 0 && chmod(planted, 0o644) == 0)

        let second = try world.run(["credential-process", "--profile", "dev"])
        #expect(second.status == 0, "\(second)")
        #expect(try ProcessCredentials(second).AccessKeyId != ProcessCredentials(first).AccessKeyId)
        #expect(try world.server.stats().count("GetSessionToken") == 2)
        let notes = second.stderr.split(separator: "\n").filter { $0.contains("ignoring the cached session") }
        #expect(notes.count == 1 && notes[0].contains("belongs to uid \(nobodyUID)"), "\(second)")
    }

    /// `~/.cache/latchkey/sessions` of `home`, after making its parent.
    func sessionsDirectory(_ home: TestHome) throws -> String {
        let cache = home.home + "/.cache/latchkey"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        return cache + "/sessions"
    }

    @Test("logout --all refuses a symlinked sessions directory: exit 1, one line, the files behind it untouched")
    func symlinkedSessions() throws {
        try requireBinary()
        let home = try TestHome()
        let victim = home.root + "/io/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        let names = ["notes.txt", "session-token-" + Self.digest]
        for name in names { try writeBytes(victim + "/" + name, Array("keep\n".utf8)) }
        #expect(symlink(victim, try sessionsDirectory(home)) == 0)

        let result = try home.run(["logout", "--all"])
        #expect(result.status == 1, "\(result)")
        #expect(result.errorLine.contains("sessions: it is a symbolic link"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim).sorted() == names)
    }

    @Test("logout --all deletes only files named as latchkey names sessions: not lock files, temporary files or others")
    func onlyLatchkeyNames() throws {
        try requireBinary()
        let home = try TestHome()
        let sessions = try sessionsDirectory(home)
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        let ours = ["mfa-session-" + Self.digest, "role-" + Self.digest]
        let others = [
            "notes.txt", "mfa-session-\(Self.digest).lock", ".role-\(Self.digest).1.abc.tmp", "role-" + Self.digest.uppercased(),
            "role-" + Self.digest.dropLast(), "-" + Self.digest,
        ]
        for name in ours + others { try writeBytes(sessions + "/" + name, Array("x\n".utf8)) }
        try FileManager.default.createDirectory(atPath: sessions + "/session-token-" + Self.digest, withIntermediateDirectories: false)

        let result = try home.run(["logout", "--all"])
        #expect(result.status == 0 && result.stderr == "Removed 2 cached sessions\n", "\(result)")
        let left = try FileManager.default.contentsOfDirectory(atPath: sessions).sorted()
        #expect(left == (others + ["session-token-" + Self.digest]).sorted(), "\(left)")
    }
}
