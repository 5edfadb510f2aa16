import Foundation
import TestSupport
import Testing

@testable import HTTP

/// A loopback server process (Fixtures/echo_server.py) for one test.
final class LoopbackServer {
    let server: RunningProgram
    let port: Int

    /// Starts the server and waits (at most 10 s) for the port it prints.
    init(tls: (cert: String, key: String)? = nil) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/echo_server.py").path
        server = try RunningProgram(
            "/usr/bin/env", ["python3", script] + (tls.map { ["--tls", $0.cert, $0.key] } ?? []), timeout: 120)
        let deadline = Date().addingTimeInterval(10)
        var output = server.stdoutSoFar()
        while !output.contains(UInt8(ascii: "\n")), server.isRunning, Date() < deadline {
            usleep(10_000)
            output = server.stdoutSoFar()
        }
        let line = String(decoding: output.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            killProcess(server.process)
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    deinit { killProcess(server.process) }
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
        do {
            _ = try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/slow"))
            Issue.record("a 5 s answer arrived within a 2 s timeout")
        } catch {
            #expect(error.kind == .timedOut)
        }
        #expect(Date().timeIntervalSince(started) < 4)
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
        let dir = try TemporaryDirectory("tls")
        defer { withExtendedLifetime(dir) {} }
        let server = try LoopbackServer(tls: try selfSignedCertificate(in: dir))
        do {
            _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/status/200"))
            Issue.record("a self-signed certificate was accepted")
        } catch {
            #expect(error.kind == .tls)
        }
    }

    @Test("With caBundlePath (AWS_CA_BUNDLE, ca_bundle) naming the server's certificate, that server is trusted; another bundle is not")
    func caBundleTrusted() throws {
        let dir = try TemporaryDirectory("tls")
        let other = try TemporaryDirectory("tls-other")
        defer { withExtendedLifetime((dir, other)) {} }
        let identity = try selfSignedCertificate(in: dir)
        let server = try LoopbackServer(tls: identity)
        var trusting = client
        trusting.caBundlePath = identity.cert
        let response = try trusting.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/status/200"))
        #expect(response.status == 200)
        trusting.caBundlePath = try selfSignedCertificate(in: other).cert
        do {
            _ = try trusting.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/status/200"))
            Issue.record("a certificate outside the CA bundle was accepted")
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
