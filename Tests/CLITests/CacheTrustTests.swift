import Foundation
import TestSupport
import Testing

/// The session cache holds only what this user wrote: files planted by
/// another user are not served.
@Suite("The session cache trusts and deletes only this user's own files", .serialized)
struct CacheTrustTests {
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
}
