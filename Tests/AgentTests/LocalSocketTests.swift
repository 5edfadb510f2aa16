import Foundation
import SystemSupport
import TestSupport
import Testing

/// The agent's socket: permissions, stale and live sockets, peers, bounds.
@Suite("local socket")
struct LocalSocketTests {
    @Test("listen makes a 0600 socket; a live one is not replaced, a stale one is, anything else is left alone")
    func listening() throws {
        let directory = try TemporaryDirectory("socket")
        let path = directory.file("agent.sock")
        var listener: LocalSocket? = try LocalSocket.listen(at: path)
        #expect(PrivateFiles.permissions(of: path) == 0o600)
        #expect(LocalSocket.state(of: path) == .live)
        #expect(throws: SystemError.self) { try LocalSocket.listen(at: path) }
        // A process that died without closing: the file stays, nobody listens.
        let fd = dup(listener!.fd)
        listener = nil
        #expect(!FileManager.default.fileExists(atPath: path), "close removes the path")
        close(fd)
        // Make a stale socket by hand: bind, then close without unlinking.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        #expect(LocalSocket.state(of: path) == .stale)
        let replaced = try LocalSocket.listen(at: path)
        #expect(LocalSocket.state(of: path) == .live)
        replaced.close()
        // A regular file is never removed to make room.
        try writeBytes(path, Array("keep".utf8))
        #expect(throws: SystemError.self) { try LocalSocket.listen(at: path) }
        #expect(try readBytes(path) == Array("keep".utf8))
    }

    @Test("a socket of another user is refused without being touched")
    func otherOwner() throws {
        try #require(getuid() == 0, "needs root to give a file to another user")
        let directory = try TemporaryDirectory("socket")
        let path = directory.file("agent.sock")
        let listener = try LocalSocket.listen(at: path)
        #expect(chown(path, 4242, 4242) == 0)
        if case .foreign(let why) = LocalSocket.state(of: path) {
            #expect(why.contains("4242"), "\(why)")
        } else {
            Issue.record("a socket of uid 4242 is not foreign: \(LocalSocket.state(of: path))")
        }
        #expect(throws: SystemError.self) { try LocalSocket.listen(at: path) }
        #expect(FileManager.default.fileExists(atPath: path))
        _ = listener
    }

    @Test("the peer is this process; receive is bounded by its deadline and by a closed peer")
    func peersAndBounds() throws {
        let directory = try TemporaryDirectory("socket")
        let path = directory.file("agent.sock")
        let listener = try LocalSocket.listen(at: path)
        var client: LocalSocket? = try LocalSocket.connect(to: path)
        guard case .connection(let server) = try listener.accept(orWakeOn: -1, timeoutMilliseconds: 2000) else {
            Issue.record("no connection")
            return
        }
        let peer = try server.peer()
        #expect(peer.pid == getpid() && peer.uid == getuid())
        try client!.send([1, 2, 3], timeoutSeconds: 1)
        #expect(try server.receive(exactly: 3, until: Deadline(seconds: 1)) == [1, 2, 3])
        let started = Date()
        #expect(throws: SystemError.self) { try server.receive(exactly: 1, until: Deadline(seconds: 0.2)) }
        #expect(Date().timeIntervalSince(started) < 5)
        client = nil
        #expect(performing: { try server.receive(exactly: 1, until: Deadline(seconds: 5)) }, throws: { error in
            (error as? SystemError)?.errno == Errno(rawValue: ECONNRESET)
        })
        #expect(try listener.accept(orWakeOn: -1, timeoutMilliseconds: 50).isTimeout)
    }
}

extension LocalSocket.AcceptResult {
    var isTimeout: Bool { if case .timedOut = self { true } else { false } }
}
