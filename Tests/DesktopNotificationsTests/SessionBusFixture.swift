import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A Unix socket that listens and never accepts: a connection succeeds
/// (the kernel queues it) but nothing ever answers the D-Bus handshake.
/// With `full`, its accept queue is filled first, so a blocking connect()
/// to it waits for ever (a frozen bus with too many callers).
final class DeafSocket {
    let path: String
    private let fd: Int32
    private var queued: [Int32] = []

    init(in directory: TemporaryDirectory, full: Bool = false) throws {
        path = directory.file(full ? "full" : "deaf")
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        func connectOrBind(_ socketFD: Int32, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        guard fd >= 0, connectOrBind(fd, bind) == 0, listen(fd, 0) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        guard full else { return }
        while queued.count < 64 {
            let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            queued.append(client)
            if connectOrBind(client, connect) != 0 { break }
        }
        #expect(errno == EAGAIN, "the accept queue did not fill: errno \(errno) after \(queued.count) connections")
    }

    deinit {
        for client in queued { close(client) }
        close(fd)
    }
}
