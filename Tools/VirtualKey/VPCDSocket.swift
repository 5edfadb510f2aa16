import Glibc

/// A TCP connection to vpcd, the card's side (vpcd listens, the card
/// connects). Reads wait with `poll` on the socket and the shutdown pipe
/// together, so a signal ends a wait at once.
final class VPCDSocket {
    enum Failure: Error, CustomStringConvertible {
        case resolve(host: String, message: String)
        case connect(host: String, port: UInt16, errno: Int32)
        case io(call: String, errno: Int32)
        case oversizedResponse(Int)

        var description: String {
            switch self {
            case .resolve(let host, let message): "cannot resolve \(host): \(message)"
            case .connect(let host, let port, let code):
                "cannot connect to vpcd at \(host):\(port): \(String(cString: strerror(code)))"
            case .io(let call, let code): "\(call) on the vpcd connection: \(String(cString: strerror(code)))"
            case .oversizedResponse(let count): "a \(count)-byte response does not fit a vpcd frame"
            }
        }
    }

    enum Received {
        case message([UInt8])
        /// vpcd closed the connection (pcscd stopped, or it gave up on us).
        case closed
        /// SIGTERM or SIGINT arrived.
        case shutdown
    }

    private let fd: Int32

    init(host: String, port: UInt16) throws(Failure) {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            throw .resolve(host: host, message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            let candidate = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard candidate >= 0 else {
                lastError = errno
                continue
            }
            if connect(candidate, info.ai_addr, info.ai_addrlen) == 0 {
                var one: Int32 = 1
                // Small request/response messages: do not let Nagle hold them.
                _ = setsockopt(candidate, Int32(IPPROTO_TCP), 1 /* TCP_NODELAY */, &one, socklen_t(MemoryLayout<Int32>.size))
                fd = candidate
                return
            }
            lastError = errno
            close(candidate)
        }
        throw .connect(host: host, port: port, errno: lastError)
    }

    deinit { close(fd) }

    /// Waits for the next message.
    func receive(shutdown: ShutdownSignal) throws(Failure) -> Received {
        var header = [UInt8](repeating: 0, count: 2)
        switch try readExactly(&header, shutdown: shutdown) {
        case .closed: return .closed
        case .shutdown: return .shutdown
        case .message: break
        }
        var payload = [UInt8](repeating: 0, count: Int(header[0]) << 8 | Int(header[1]))
        if payload.isEmpty { return .message([]) }
        return try readExactly(&payload, shutdown: shutdown)
    }

    func send(_ payload: [UInt8]) throws(Failure) {
        guard let frame = VPCDMessage.frame(payload) else { throw .oversizedResponse(payload.count) }
        var sent = 0
        while sent < frame.count {
            let n = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress.map { $0 + sent }, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(call: "send", errno: errno)
            }
            sent += n
        }
    }

    private func readExactly(_ buffer: inout [UInt8], shutdown: ShutdownSignal) throws(Failure) -> Received {
        var filled = 0
        while filled < buffer.count {
            var entries = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: shutdown.fd, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&entries, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io(call: "poll", errno: errno)
            }
            if entries[1].revents != 0 { return .shutdown }
            guard entries[0].revents != 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress.map { $0 + filled }, $0.count - filled, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return .closed }
                throw .io(call: "recv", errno: errno)
            }
            if n == 0 { return .closed }
            filled += n
            // vpcd writes a message's 2-byte length and its payload in two
            // writes; with our ACK delayed, Nagle holds the payload back for
            // about 40 ms on every APDU. TCP_QUICKACK (12) acknowledges at
            // once; Linux clears it again after a while, so set it per read.
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), 12 /* TCP_QUICKACK */, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        return .message(buffer)
    }
}
