import Synchronization
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the server sends back: a status, an optional content type and a
/// body. Every answer also says `Connection: close` and `Cache-Control:
/// no-store`.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]

    public init(status: Int, contentType: String? = nil, body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// The status line's reason phrase for the statuses this server uses.
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }

    /// The bytes on the wire.
    public var serialized: [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 for one purpose: answering a few
/// bodiless requests from local programs (the container credential
/// provider's clients). One request per connection, each connection on a
/// thread of its own, so a slow handler (a key waiting for a touch) does not
/// stop the accept loop, and at most ``Settings/maximumConnections`` at once.
///
/// A client gets ``Settings/requestSeconds`` to send its whole head, at
/// most ``HTTPRequestHead/Limits`` of it; after that it gets 408 or 431
/// and the connection is closed. The answer's bytes are wiped after sending
/// (they are credentials).
///
public final class LoopbackServer: Sendable {
    public struct Settings: Sendable {
        /// The port to bind; 0 lets the kernel choose a free one.
        public var port: UInt16 = 0
        public var limits = HTTPRequestHead.Limits()
        /// The time a client has for its whole request head.
        public var requestSeconds = 5
        public var maximumConnections = 64

        public init(port: UInt16 = 0) { self.port = port }
    }

    public typealias Handler = @Sendable (HTTPRequestHead) -> HTTPResponse

    /// The port the server listens on.
    public let port: UInt16
    private let settings: Settings
    private let handler: Handler
    private let listener: Int32
    private struct State {
        var connections = 0
        var stopped = false
    }
    private let state = Mutex(State())

    /// Binds 127.0.0.1 (never another address) and listens; ``start()``
    /// begins accepting.
    public init(settings: Settings = Settings(), handler: @escaping Handler) throws(SystemError) {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw SystemError("cannot create a socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = settings.port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socketFD, 128) == 0 else {
            let error = SystemError("cannot listen on 127.0.0.1:\(settings.port)")
            close(socketFD)
            throw error
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        guard named == 0 else {
            let error = SystemError("cannot read the listening port")
            close(socketFD)
            throw error
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.listener = socketFD
        self.settings = settings
        self.handler = handler
    }

    deinit { stop() }

    /// Accepts connections on a thread of its own until ``stop()``.
    public func start() throws(SystemError) {
        guard runDetached({ [self] in acceptLoop() }) else { throw SystemError("cannot start the server's thread") }
    }

    /// Stops accepting; connections already accepted finish.
    public func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            // Wakes the thread blocked in accept(2).
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    private func acceptLoop() {
        while true {
            // Close-on-exec from the start: a command latchkey starts
            // meanwhile never inherits the connection.
            let client = acceptCloseOnExec(listener)
            if client < 0 {
                if state.withLock({ $0.stopped }) { return }
                let error = Errno.current
                if error == .interrupted || error.rawValue == ECONNABORTED || error.rawValue == EMFILE || error.rawValue == ENFILE {
                    if error.rawValue == EMFILE || error.rawValue == ENFILE { usleep(50_000) }
                    continue
                }
                return
            }
            let admitted = state.withLock { state in
                guard state.connections < settings.maximumConnections else { return false }
                state.connections += 1
                return true
            }
            guard admitted else {
                send(client, HTTPResponse(status: 503))
                close(client)
                continue
            }
            let started = runDetached { [self] in
                serve(client)
                close(client)
                state.withLock { $0.connections -= 1 }
            }
            if !started {
                send(client, HTTPResponse(status: 503))
                close(client)
                state.withLock { $0.connections -= 1 }
            }
        }
    }

    /// Reads one head (within the time and size limits), answers it.
    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: settings.requestSeconds, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = monotonicMilliseconds() + UInt64(settings.requestSeconds) * 1000
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while true {
            do {
                if let head = try HTTPRequestHead.parse(received[...], limits: settings.limits) {
                    var response = handler(head)
                    send(client, response)
                    response.body.wipe()
                    return
                }
            } catch {
                refuse(client, status: error.status)
                return
            }
            let now = monotonicMilliseconds()
            guard now < deadline else {
                refuse(client, status: 408)
                return
            }
            var poller = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(deadline - now, 1000)))
            if ready < 0, Errno.current != .interrupted { return }
            guard ready > 0 else { continue }
            // Never more than the limit allows, so a flood is cut off at once.
            let room = max(1, min(chunk.count, settings.limits.maximumHeadBytes + 1 - received.count))
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, room, 0) }
            if count == 0 { return }
            if count < 0 {
                if Errno.current == .interrupted || Errno.current.rawValue == EAGAIN { continue }
                return
            }
            received.append(contentsOf: chunk.prefix(count))
        }
    }

    /// Answers a request that was not read to its end, then reads and
    /// drops what the client still sends (at most 64 KiB, for at most a
    /// second) before the connection is closed: closing with unread bytes
    /// would reset the connection and lose the answer on the way.
    private func refuse(_ client: Int32, status: Int) {
        send(client, HTTPResponse(status: status))
        shutdown(client, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var drained = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonicMilliseconds() + 1000
        while drained < 64 << 10, monotonicMilliseconds() < deadline {
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            drained += count
        }
    }

    private func send(_ client: Int32, _ response: HTTPResponse) {
        var bytes = response.serialized
        defer { bytes.wipe() }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.send(client, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 {
                if sent < 0, Errno.current == .interrupted { continue }
                return
            }
            offset += sent
        }
    }
}

/// Milliseconds from the monotonic clock.
func monotonicMilliseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(max(0, now.tv_sec)) * 1000 + UInt64(max(0, now.tv_nsec)) / 1_000_000
}

/// Runs `body` on a new detached thread (blocking work stays off Swift's
/// cooperative pool); `false` when no thread could be made.
func runDetached(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { return nil }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
    guard created == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return false
    }
    pthread_detach(thread)
    return true
}
