import Foundation
import Testing

@testable import HTTP

/// A loopback server process (Fixtures/echo_server.py) for one test.
final class LoopbackServer {
    let process = Process()
    let port: Int

    init(tls: (cert: String, key: String)? = nil) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/echo_server.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + (tls.map { ["--tls", $0.cert, $0.key] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableLine(), as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    deinit {
        // SIGKILL: processes started from the test runner inherit a blocked
        // SIGTERM, so terminate() would leave the server running.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

extension FileHandle {
    /// Reads up to the first newline (the server prints its port and nothing else).
    func availableLine() -> Data {
        var data = Data()
        while let byte = try? read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { data.append(byte) }
        return data
    }
}

@Suite("CurlHTTPClient against a loopback server")
struct CurlHTTPClientTests {
    let client = CurlHTTPClient(timeoutMilliseconds: 2_000, connectTimeoutMilliseconds: 1_000, maximumResponseBytes: 1 << 20)

    @Test("A POST sends the body and the headers as given, Host included, and returns status, headers and body")
    func postEchoes() throws {
        let server = try LoopbackServer()
        let body = Array("Action=GetCallerIdentity&Version=2011-06-15".utf8)
        let response = try client.send(HTTPRequest(
            url: "http://127.0.0.1:\(server.port)/echo",
            headers: [("Host", "sts.example.test"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("X-Amz-Date", "20150830T123600Z")],
            body: body))
        #expect(response.status == 200)
        #expect(response.body == body)
        #expect(response.header("x-got-host") == "sts.example.test")
        #expect(response.header("X-GOT-CONTENT-TYPE") == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(response.header("x-got-x-amz-date") == "20150830T123600Z")
        #expect(response.header("x-got-expect") == nil)
        #expect(response.header("content-length") == String(body.count))
    }

    @Test("A non-2xx status is a response, not an error")
    func errorStatusIsAResponse() throws {
        let server = try LoopbackServer()
        let response = try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/status/503"))
        #expect(response.status == 503)
        #expect(String(decoding: response.body, as: UTF8.self).contains("<Code>X</Code>"))
    }

    @Test("A server slower than the timeout gives a timedOut error within the timeout")
    func timeout() throws {
        let server = try LoopbackServer()
        let started = Date()
        #expect(throws: HTTPError.self) { try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/slow")) }
        do {
            _ = try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/slow"))
        } catch {
            #expect(error.kind == .timedOut)
        }
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test("A closed port is cannotConnect")
    func refused() throws {
        let port: Int
        do { let server = try LoopbackServer(); port = server.port }  // started then stopped
        do {
            _ = try client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/echo", body: []))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .cannotConnect)
        }
    }

    @Test("A response over the size limit is refused, not buffered")
    func tooLarge() throws {
        let server = try LoopbackServer()
        do {
            _ = try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/big"))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .responseTooLarge)
        }
    }

    @Test("HTTPS with a self-signed certificate fails verification")
    func tlsVerified() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        openssl.standardOutput = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let server = try LoopbackServer(tls: (cert, key))
        do {
            _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/status/200"))
            Issue.record("a self-signed certificate was accepted")
        } catch {
            #expect(error.kind == .tls)
        }
    }

    @Test("Header blocks after 100 Continue keep only the final response's headers")
    func headerParsing() {
        let raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\nX-A:  b \r\n\r\n"
        let headers = HTTPResponse.parseHeaders(raw)
        #expect(headers.count == 2)
        #expect(headers[0].name == "Date" && headers[0].value == "Sun, 22 Nov 2026 10:00:00 GMT")
        #expect(headers[1].value == "b")
    }
}
