import AWSSigning
import Foundation
import Synchronization
import SystemSupport
import TestSupport
import Testing

@testable import SessionCache

@Suite("SessionCache: private files, the reuse threshold, removal and locks")
struct SessionCacheTests {
    static let key = CacheKey("mfa-session", ["source": "key:AKIADEV", "mfa": aliceSerial])
    static let other = CacheKey("role", ["role": adminRole])

    static func session(expiring expiration: Int64, keyID: String = "ASIAONE") -> CachedSession {
        CachedSession(
            credentials: AWSCredentials(accessKeyID: keyID, secretAccessKey: "s", sessionToken: "t"),
            expiration: expiration)
    }

    @Test("The cache directories are made 0700 and each session file 0600, at <dir>/sessions/<file name>")
    func privateFiles() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.file("nested/latchkey"))
        try cache.write(Self.session(expiring: 2_000), for: Self.key)
        #expect(cache.path(for: Self.key) == temporary.file("nested/latchkey/sessions/") + Self.key.fileName)
        #expect(PrivateFiles.permissions(of: cache.path(for: Self.key)) == 0o600)
        #expect(PrivateFiles.permissions(of: cache.sessionsDirectory) == 0o700)
        #expect(PrivateFiles.permissions(of: cache.directory) == 0o700)
        #expect(try readBytes(cache.path(for: Self.key)) == Self.session(expiring: 2_000).serialized)
        #expect(cache.read(Self.key) == Self.session(expiring: 2_000))
        // A sessions directory someone opened up is narrowed again.
        #expect(chmod(cache.sessionsDirectory, 0o755) == 0)
        try cache.write(Self.session(expiring: 3_000), for: Self.key)
        #expect(PrivateFiles.permissions(of: cache.sessionsDirectory) == 0o700)
        #expect(cache.read(Self.key)?.expiration == 3_000)
        // Only the session files are there: no temporary files left over.
        #expect(try PrivateFiles.directoryEntries(cache.sessionsDirectory) == [Self.key.fileName])
    }

    @Test("Reading creates nothing and a damaged file reads as no session")
    func readOnly() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.file("absent"))
        #expect(cache.read(Self.key) == nil)
        #expect(cache.fresh(Self.key, now: 0) == nil)
        #expect(!PrivateFiles.exists(cache.directory))
        try cache.write(Self.session(expiring: 2_000), for: Self.key)
        try writeBytes(cache.path(for: Self.key), Array("latchkey-session 1\nexpiration 2000\n".utf8))
        #expect(cache.read(Self.key) == nil)
    }

    @Test("fresh: reused while more than 15 minutes remain, not at exactly 15")
    func freshThreshold() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        let expiration: Int64 = 1_800_000_000
        try cache.write(Self.session(expiring: expiration), for: Self.key)
        #expect(SessionCache.reuseThreshold == 900)
        #expect(cache.fresh(Self.key, now: expiration - 901) == Self.session(expiring: expiration))
        #expect(cache.fresh(Self.key, now: expiration - 900) == nil)
        #expect(cache.fresh(Self.key, now: expiration + 10) == nil)
        #expect(cache.fresh(Self.key, now: expiration - 61, minimumSecondsLeft: 60) != nil)
        #expect(cache.fresh(Self.key, now: expiration - 60, minimumSecondsLeft: 60) == nil)
        // Expired sessions are still read (whoami shows them).
        #expect(cache.read(Self.key) != nil)
        #expect(cache.fresh(Self.other, now: 0) == nil)
    }

    @Test(
        "A session file of another owner, one others may write, or a symbolic link is ignored, and the note says why",
        arguments: ["owner", "mode", "link"])
    func untrustedFile(_ planted: String) throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        try cache.write(Self.session(expiring: 5_000), for: Self.key)
        let path = cache.path(for: Self.key)
        switch planted {
        case "owner": #expect(chown(path, nobodyUID, nobodyUID) == 0)
        case "mode": #expect(chmod(path, 0o622) == 0)
        default:
            #expect(rename(path, path + ".real") == 0)
            #expect(symlink(path + ".real", path) == 0)
        }
        var notes: [String] = []
        #expect(cache.fresh(Self.key, now: 0, note: { notes.append($0) }) == nil)
        let reason = ["owner": "belongs to uid \(nobodyUID)", "mode": "mode 622", "link": "symbolic link"][planted]!
        #expect(notes.count == 1 && notes[0].hasPrefix("latchkey: ignoring the cached session \(path): "), "\(notes)")
        #expect(notes.first?.contains(reason) == true, "\(notes)")
        #expect(notes.first?.hasSuffix("\n") == true)
    }

    @Test("A sessions directory of another owner, open to others' writes, or a symbolic link is not read, and not written into when another's")
    func untrustedDirectory() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        try cache.write(Self.session(expiring: 5_000), for: Self.key)
        var notes: [String] = []
        let note = { (text: String) in notes.append(text) }

        #expect(chmod(cache.sessionsDirectory, 0o733) == 0)
        #expect(cache.read(Self.key, note: note) == nil)
        #expect(notes.last?.contains("group or others may write to it (mode 733)") == true, "\(notes)")
        // This user's directory is narrowed again by the next write, and trusted.
        try cache.write(Self.session(expiring: 6_000), for: Self.key)
        #expect(cache.read(Self.key)?.expiration == 6_000)

        #expect(chown(cache.sessionsDirectory, nobodyUID, nobodyUID) == 0)
        #expect(cache.read(Self.key, note: note) == nil)
        #expect(notes.last?.hasPrefix("latchkey: ignoring the session cache \(cache.sessionsDirectory): it belongs to uid") == true)
        let refused = #expect(throws: SystemError.self) { try cache.write(Self.session(expiring: 7_000), for: Self.key) }
        #expect(refused?.description.contains("belongs to uid \(nobodyUID)") == true, "\(String(describing: refused))")
        #expect(PrivateFiles.permissions(of: cache.sessionsDirectory) == 0o700)

        let elsewhere = SessionCache(directory: temporary.file("elsewhere"))
        try elsewhere.write(Self.session(expiring: 5_000), for: Self.key)
        try FileManager.default.removeItem(atPath: elsewhere.sessionsDirectory)
        #expect(symlink(cache.sessionsDirectory, elsewhere.sessionsDirectory) == 0)
        #expect(elsewhere.read(Self.key, note: note) == nil)
        #expect(notes.last?.contains("symbolic link") == true)
        #expect(notes.count == 3)
    }

    @Test("remove and removeAll delete sessions and keep the lock files")
    func removal() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        #expect(try cache.removeAll() == 0)
        let third = CacheKey("role", ["role": "arn:aws:iam::123456789012:role/third"])
        for key in [Self.key, Self.other, third] {
            try cache.withLock(key) { try cache.write(Self.session(expiring: 5_000), for: key) }
        }
        #expect(try cache.remove(Self.key))
        #expect(try !cache.remove(Self.key))
        #expect(cache.read(Self.key) == nil)
        #expect(cache.read(Self.other) != nil)
        #expect(try cache.removeAll() == 2)
        #expect(cache.read(Self.other) == nil)
        #expect(cache.read(third) == nil)
        let left = try PrivateFiles.directoryEntries(cache.sessionsDirectory).sorted()
        #expect(left == [Self.key, Self.other, third].map { $0.fileName + ".lock" }.sorted())
    }

    @Test("withLock runs the body and returns its value; the lock is free again afterwards")
    func lockReleased() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        #expect(try cache.withLock(Self.key) { 42 } == 42)
        #expect(try cache.withLock(Self.key, timeoutSeconds: 0) { "again" } == "again")
        struct Failure: Error {}
        #expect(throws: Failure.self) { try cache.withLock(Self.key) { throw Failure() } }
        #expect(try cache.withLock(Self.key, timeoutSeconds: 0) { true })
    }

    @Test("A second holder gives up with ETIMEDOUT while the first holds the key's lock; other keys are free")
    func lockExcludesInProcess() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        try cache.withLock(Self.key) {
            let started = Date()
            let error = #expect(throws: SystemError.self) {
                try cache.withLock(Self.key, timeoutSeconds: 0.2) { Issue.record("the lock was taken twice") }
            }
            #expect(error?.errno == Errno(rawValue: ETIMEDOUT))
            #expect(Date().timeIntervalSince(started) >= 0.2)
            #expect(Date().timeIntervalSince(started) < 5)
            let otherKeyFree = try cache.withLock(Self.other, timeoutSeconds: 0) { true }
            #expect(otherKeyFree)
        }
    }

    @Test("A caller that gives up on a key's lock names the holder's pid and what it waits for; released, the lock file is empty")
    func lockNamesHolder() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        let lockFile = cache.path(for: Self.key) + ".lock"
        let (written, error) = try cache.withLock(Self.key, purpose: "latchkey waiting for a touch") {
            let written = try readBytes(lockFile)
            let error = #expect(throws: SystemError.self) {
                try cache.withLock(Self.key, timeoutSeconds: 0.1) { Issue.record("the lock was taken twice") }
            }
            return (written, error)
        }
        #expect(written == Array("\(getpid()) latchkey waiting for a touch\n".utf8))
        #expect(
            error?.description
                == "gave up after 0.1 s waiting for the lock \(lockFile): process \(getpid()) holds it (latchkey waiting for a touch)")
        #expect(try readBytes(lockFile).isEmpty)
    }

    /// How many threads are inside a lock at once, and the most there ever were.
    final class Occupancy: Sendable {
        private let counts = Mutex((inside: 0, most: 0, failures: 0))

        func enter() {
            counts.withLock {
                $0.inside += 1
                $0.most = max($0.most, $0.inside)
            }
        }
        func leave() { counts.withLock { $0.inside -= 1 } }
        func fail() { counts.withLock { $0.failures += 1 } }
        var most: Int { counts.withLock { $0.most } }
        var failures: Int { counts.withLock { $0.failures } }
    }

    @Test("Threads holding the same key's lock never overlap")
    func lockExcludesThreads() throws {
        let temporary = try TemporaryDirectory("cache")
        let directory = temporary.path
        let occupancy = Occupancy()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            // Each thread its own value, so each lock is its own open file.
            let cache = SessionCache(directory: directory)
            for _ in 0..<5 {
                do {
                    try cache.withLock(Self.key, timeoutSeconds: 30) {
                        occupancy.enter()
                        usleep(2_000)
                        occupancy.leave()
                    }
                } catch {
                    occupancy.fail()
                }
            }
        }
        #expect(occupancy.failures == 0)
        #expect(occupancy.most == 1)
    }

    @Test("Another process holding the lock file (flock(1)) keeps withLock waiting, then lets it in")
    func lockExcludesProcesses() throws {
        let temporary = try TemporaryDirectory("cache")
        let cache = SessionCache(directory: temporary.path)
        try PrivateFiles.ensurePrivateDirectory(cache.sessionsDirectory)
        let lockPath = cache.path(for: Self.key) + ".lock"
        let holder = try RunningProgram(
            "/usr/bin/flock", ["--exclusive", lockPath, "/bin/sh", "-c", "echo held; sleep 2"], timeout: 30)
        let deadline = Date().addingTimeInterval(20)
        while holder.stdoutSoFar().isEmpty, holder.isRunning, Date() < deadline { usleep(5_000) }
        try #require(String(decoding: holder.stdoutSoFar(), as: UTF8.self) == "held\n")
        let error = #expect(throws: SystemError.self) {
            try cache.withLock(Self.key, timeoutSeconds: 0.1) { Issue.record("took a lock another process holds") }
        }
        #expect(error?.errno == Errno(rawValue: ETIMEDOUT))
        // Waiting long enough outlasts the holder.
        #expect(try cache.withLock(Self.key, timeoutSeconds: 20) { true })
        #expect(holder.wait().status == 0)
    }
}
