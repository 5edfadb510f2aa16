import Foundation
import TestSupport
import Testing

/// Writing the credentials file where the disk is full or read-only: one
/// error line, a non-zero exit, the old file byte for byte, no temporary
/// file left behind. Each case runs in a private mount namespace
/// (`unshare -m`) with a small tmpfs over `~/.aws`, so nothing outside the
/// test is touched.
@Suite(
    "--write-profile on a full or read-only disk", .serialized,
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") && getuid() == 0, "needs root and unshare(1)"))
struct FullDiskTests {
    /// Mounts a tmpfs of `size` over ~/.aws holding copies of the two files,
    /// runs `prepare` (shell) and then `latchkey auth --write-profile`, and
    /// reports the status, stderr, whether the file is unchanged, and the
    /// directory listing.
    func run(_ world: AuthWorld, size: String, prepare: String) throws -> (status: Int32, stderr: String, unchanged: Bool, listing: [String]) {
        let saved = world.home.root + "/io/saved"
        try FileManager.default.createDirectory(atPath: saved, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: world.credentialsPath, toPath: saved + "/credentials")
        try FileManager.default.copyItem(atPath: world.configPath, toPath: saved + "/config")
        let script = """
            set -e
            mount -t tmpfs -o size=\(size),mode=0700 tmpfs "$AWSDIR"
            cp "$SAVED/credentials" "$SAVED/config" "$AWSDIR/"
            \(prepare)
            set +e
            "$LATCHKEY" auth --profile admin --write-profile admin-session 2> "$SAVED/stderr"
            echo "status=$?"
            cmp -s "$SAVED/credentials" "$AWSDIR/credentials" && echo unchanged
            ls -A "$AWSDIR" | sed 's/^/file=/'
            """
        let result = try world.runTool(
            "/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script],
            environment: ["AWSDIR": world.awsDirectory, "SAVED": saved, "LATCHKEY": latchkeyBinary])
        #expect(result.stderr.isEmpty, "the harness failed: \(result)")
        let lines = result.lines
        let status = lines.first { $0.hasPrefix("status=") }.flatMap { Int32($0.dropFirst(7)) } ?? -1
        let stderr = (try? String(contentsOfFile: saved + "/stderr", encoding: .utf8)) ?? ""
        return (status, stderr, lines.contains("unchanged"), lines.filter { $0.hasPrefix("file=") }.map { String($0.dropFirst(5)) })
    }

    func expectOneLine(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[0].hasPrefix("latchkey: ") && lines[1].isEmpty, "\(stderr)", sourceLocation: sourceLocation)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var size: String
        var prepare: String
        var message: String
        var files: [String]
        var testDescription: String { name }
    }

    static let cases = [
        Case(
            name: "a full disk (64 KiB tmpfs)", size: "64k",
            prepare: "dd if=/dev/zero of=\"$AWSDIR/filler\" bs=4k count=64 2>/dev/null || true",
            message: "No space left on device", files: ["config", "credentials", "filler"]),
        Case(
            name: "a read-only ~/.aws", size: "1m", prepare: "mount -o remount,ro \"$AWSDIR\"",
            message: "Read-only file system", files: ["config", "credentials"]),
    ]

    @Test("Exit 1, one line with the system's reason, the old credentials intact, no temporary file", arguments: cases)
    func refusedWrite(_ situation: Case) throws {
        let world = try AuthWorld()
        let outcome = try run(world, size: situation.size, prepare: situation.prepare)
        #expect(outcome.status == 1, "\(outcome)")
        expectOneLine(outcome.stderr)
        #expect(outcome.stderr.contains(situation.message), "\(outcome.stderr)")
        #expect(outcome.unchanged)
        #expect(outcome.listing.sorted() == situation.files, "\(outcome.listing)")
    }
}

/// A session STS has issued is printed even when the cache cannot keep it:
/// the code (or touch) was spent, so throwing the answer away would waste it.
@Suite(
    "A full session cache after STS answered", .serialized,
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") && getuid() == 0, "needs root and unshare(1)"))
struct FullCacheTests {
    @Test("auth prints the credentials, says on stderr they could not be cached, and leaves no temporary file")
    func sessionNotCached() throws {
        let world = try AuthWorld()
        let sessions = world.sessionsDirectory
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        let io = world.home.root + "/io"
        // A 64 KiB tmpfs over the sessions directory, filled; the ledger
        // (mfa-steps, one level up) still has room.
        let script = """
            set -e
            mount -t tmpfs -o size=64k,mode=0700 tmpfs "$SESSIONS"
            dd if=/dev/zero of="$SESSIONS/filler" bs=4k count=64 2>/dev/null || true
            set +e
            "$LATCHKEY" auth --profile dev --format json > "$IO/stdout" 2> "$IO/stderr"
            echo "status=$?"
            ls -A "$SESSIONS" | sed 's/^/file=/'
            """
        let result = try world.runTool(
            "/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script],
            environment: ["SESSIONS": sessions, "IO": io, "LATCHKEY": latchkeyBinary])
        #expect(result.stderr.isEmpty, "the harness failed: \(result)")
        let stdout = (try? String(contentsOfFile: io + "/stdout", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: io + "/stderr", encoding: .utf8)) ?? ""
        #expect(result.lines.contains("status=0"), "\(result) \(stderr)")
        #expect(stdout.hasPrefix("{\"Version\":1,\"AccessKeyId\":\"ASIA"), "\(stdout)")
        #expect(!stdout.contains(world.user.secretAccessKey) && !stderr.contains(world.user.secretAccessKey))
        #expect(stderr.hasPrefix("latchkey: the new session could not be cached (") && stderr.contains("No space left on device"), "\(stderr)")
        let files = result.lines.filter { $0.hasPrefix("file=") }.map { String($0.dropFirst(5)) }
        #expect(files.allSatisfy { $0 == "filler" || $0.hasSuffix(".lock") }, "\(files)")
        #expect(try world.server.stats().count("GetSessionToken") == 1)
    }
}
