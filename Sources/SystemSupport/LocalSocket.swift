import CProcessControl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Unix stream socket: a listening one (the agent's) or one connection.
/// Every wait is bounded, writes never raise SIGPIPE, and descriptors are
/// close-on-exec, so a command `exec` starts never inherits one.
public final class LocalSocket {
    public let fd: Int32
    /// The path a listening socket was bound to, and the identity of the file
    /// it made (removed on close only while it is still that file).
    private var boundPath: String?
    private var boundIdentity: (dev_t, ino_t)?

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// The process on the other end, as the kernel saw it connect.
    public struct Peer: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var gid: UInt32
    }

    /// What is at a socket path.
    public enum PathState: Equatable, Sendable {
        case nothing
        /// A socket a process is listening on.
        case live
        /// A socket nobody listens on (left by a process that died).
        case stale
        /// Something that is not a socket, or a socket of another user.
        case foreign(String)
    }

    /// Looks at `path` without changing it.
    public static func state(of path: String) -> PathState {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .nothing }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .foreign("it is not a socket") }
        guard info.st_uid == getuid() else { return .foreign("it belongs to user \(info.st_uid), not to this user (\(getuid()))") }
        do {
            _ = try connect(to: path)
            return .live
        } catch {
            return error.errno == Errno(rawValue: ECONNREFUSED) ? .stale : .foreign("connecting to it fails: \(error.errno)")
        }
    }

    /// Listens at `path`: a stale socket there (its process died) is
    /// replaced; a live one, anything that is not a socket, or a socket of
    /// another user is an error. The socket is 0600 from the moment it exists.
    public static func listen(at path: String, backlog: Int32 = 32) throws(SystemError) -> LocalSocket {
        switch state(of: path) {
        case .nothing: break
        case .stale: try PrivateFiles.remove(path)
        case .live:
            throw SystemError("will not listen at", path: path, errno: Errno(rawValue: EADDRINUSE), detail: "another agent is listening there")
        case .foreign(let why):
            throw SystemError("will not listen at", path: path, errno: Errno(rawValue: EEXIST), detail: why)
        }
        let socket = try makeSocket()
        var address = try socketAddress(path)
        let previousMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previousMask)
        guard bound == 0 else { throw SystemError("cannot bind", path: path) }
        guard chmod(path, 0o600) == 0 else { throw SystemError("cannot chmod", path: path) }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SystemError("cannot stat", path: path) }
        socket.boundPath = path
        socket.boundIdentity = (info.st_dev, info.st_ino)
        guard Glibc.listen(socket.fd, backlog) == 0 else { throw SystemError("cannot listen at", path: path) }
        return socket
    }

    /// The listening socket a service manager passed (systemd's socket
    /// activation: `LISTEN_PID` is this process and `LISTEN_FDS` ≥ 1, the
    /// socket is descriptor 3), or `nil` when none was. The manager owns its
    /// path, so closing it removes nothing. The variables are removed, so
    /// no child takes the socket for its own.
    public static func passedByServiceManager() -> LocalSocket? {
        defer {
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pid = getenv("LISTEN_PID").flatMap({ Int32(String(cString: $0)) }), pid == getpid(),
            let count = getenv("LISTEN_FDS").flatMap({ Int(String(cString: $0)) }), count >= 1
        else { return nil }
        let fd: Int32 = 3
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return LocalSocket(fd: fd)
    }

    /// Connects to the socket at `path`.
    public static func connect(to path: String) throws(SystemError) -> LocalSocket {
        let socket = try makeSocket()
        var address = try socketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SystemError("cannot connect to", path: path) }
        return socket
    }

    /// What a wait for a connection ended with.
    public enum AcceptResult {
        case connection(LocalSocket)
        /// The other descriptor became readable (a signal's pipe).
        case woken
        case timedOut
    }

    /// Waits for the next connection, for `other` to become readable, or
    /// `timeoutMilliseconds` (-1: no limit).
    public func accept(orWakeOn other: Int32, timeoutMilliseconds: Int32 = -1) throws(SystemError) -> AcceptResult {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: other, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = Glibc.poll(&fds, 2, timeoutMilliseconds)
            if ready < 0 {
                if Errno.current == .interrupted { continue }
                throw SystemError("cannot wait for connections")
            }
            if ready == 0 { return .timedOut }
            if fds[1].revents != 0 { return .woken }
            if fds[0].revents != 0 { break }
        }
        let client = acceptCloseOnExec(fd)
        guard client >= 0 else {
            // A client that gave up between poll and accept: wait again.
            if [ECONNABORTED, EINTR, EAGAIN].contains(errno) { return .timedOut }
            throw SystemError("cannot accept a connection")
        }
        return .connection(LocalSocket(fd: client))
    }

    /// The connected process (`SO_PEERCRED`).
    public func peer() throws(SystemError) -> Peer {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        guard latchkey_peer_credentials(fd, &pid, &uid, &gid) == 0 else { throw SystemError("cannot read the peer's credentials") }
        return Peer(pid: pid, uid: uid, gid: gid)
    }

    /// Sends all of `bytes` within `timeoutSeconds`.
    public func send(_ bytes: [UInt8], timeoutSeconds: Double) throws(SystemError) {
        let deadline = Deadline(seconds: timeoutSeconds)
        var offset = 0
        while offset < bytes.count {
            try wait(for: Int16(POLLOUT), until: deadline, operation: "cannot send")
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if [EINTR, EAGAIN].contains(errno) { continue }
                throw SystemError("cannot send")
            }
            offset += sent
        }
    }

    /// Reads exactly `count` bytes within the time `deadline` leaves; an
    /// error when the other side closes first (`ECONNRESET` then).
    public func receive(exactly count: Int, until deadline: Deadline) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            try wait(for: Int16(POLLIN), until: deadline, operation: "cannot receive")
            let got = bytes.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
            if got < 0 {
                if [EINTR, EAGAIN].contains(errno) { continue }
                throw SystemError("cannot receive")
            }
            if got == 0 { throw SystemError("cannot receive", errno: Errno(rawValue: ECONNRESET), detail: "the other side closed the connection") }
            offset += got
        }
        return bytes
    }

    /// Closes the socket; a listening one also removes its path, if the file
    /// there is still the one it made (a newer agent's socket is left alone).
    public func close() {
        if let path = boundPath, let (device, inode) = boundIdentity {
            var info = stat()
            if lstat(path, &info) == 0, info.st_dev == device, info.st_ino == inode { unlink(path) }
            boundPath = nil
        }
        if fd >= 0 { Glibc.close(fd) }
    }

    private func wait(for events: Int16, until deadline: Deadline, operation: String) throws(SystemError) {
        while true {
            let left = deadline.millisecondsLeft
            guard left > 0 else { throw SystemError(operation, errno: Errno(rawValue: ETIMEDOUT), detail: "timed out") }
            var fds = [pollfd(fd: fd, events: events, revents: 0)]
            let ready = Glibc.poll(&fds, 1, left)
            if ready < 0 {
                if Errno.current == .interrupted { continue }
                throw SystemError(operation)
            }
            if ready > 0 { return }
        }
    }

    private static func makeSocket() throws(SystemError) -> LocalSocket {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("cannot create a socket") }
        return LocalSocket(fd: fd)
    }

    private static func socketAddress(_ path: String) throws(SystemError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw SystemError("cannot use socket path", path: path, errno: Errno(rawValue: ENAMETOOLONG), detail: "longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return address
    }
}

/// `accept(2)` on `listener` with the new descriptor close-on-exec from the
/// start (`accept4`, `SOCK_CLOEXEC`): no child started meanwhile inherits it.
public func acceptCloseOnExec(_ listener: Int32) -> Int32 { latchkey_accept_cloexec(listener) }
