import Foundation
import LoopbackHTTP
import TestSupport
import Testing

/// The loopback server over real sockets: limits on size and time, and a
/// slow client that does not hold up others.
@Suite("Loopback HTTP server")
struct ServerTests {
    static func echoServer(requestSeconds: Int = 5) throws -> LoopbackServer {
        var settings = LoopbackServer.Settings()
        settings.requestSeconds = requestSeconds
        let server = try LoopbackServer(settings: settings) { head in
            HTTPResponse(status: 200, contentType: "text/plain", body: Array("\(head.method) \(head.target)".utf8))
        }
        try server.start()
        return server
    }

    @Test("a request is answered with its status, length and Connection: close")
    func answers() throws {
        let server = try Self.echoServer()
        defer { server.stop() }
        let answer = try RawHTTP.exchange(port: Int(server.port), request: Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timeoutSeconds: 5)
        #expect(answer.status == 200 && String(decoding: answer.body, as: UTF8.self) == "GET /a")
    }

    @Test("a 20 KiB header is 431, and the server answers the next request")
    func hugeHeader() throws {
        let server = try Self.echoServer()
        defer { server.stop() }
        let huge = Array("GET / HTTP/1.1\r\nX-Huge: \(String(repeating: "h", count: 20_000))\r\n\r\n".utf8)
        let answer = try SlowClient(port: server.port).send(huge).response()
        #expect(answer.hasPrefix("HTTP/1.1 431 "), "\(answer)")
        let next = try RawHTTP.exchange(port: Int(server.port), request: Array("GET / HTTP/1.1\r\n\r\n".utf8), timeoutSeconds: 5)
        #expect(next.status == 200)
    }

    @Test("a client that stops mid-head gets 408 when its time is up; another client is answered meanwhile")
    func slowClient() throws {
        let server = try Self.echoServer(requestSeconds: 1)
        defer { server.stop() }
        let slow = try SlowClient(port: server.port).send(Array("GET / HTTP/1.1\r\nHost: ".utf8))
        let other = try RawHTTP.exchange(port: Int(server.port), request: Array("GET /b HTTP/1.1\r\n\r\n".utf8), timeoutSeconds: 5)
        #expect(other.status == 200 && String(decoding: other.body, as: UTF8.self) == "GET /b")
        let answer = try slow.response()
        #expect(answer.hasPrefix("HTTP/1.1 408 "), "\(answer)")
    }

    @Test("the server listens on 127.0.0.1 only")
    func loopbackOnly() throws {
        let server = try Self.echoServer()
        defer { server.stop() }
        let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)
        let port = String(format: "%04X", server.port)
        let listening = table.split(separator: "\n").filter { $0.contains(":\(port) ") && $0.contains(" 0A ") }
        #expect(listening.count == 1 && listening[0].contains("0100007F:\(port)"), "\(listening)")
    }
}
