import Foundation
import HTTP
import TestSupport
import Testing

@testable import STS

@Suite("CurlTransport's GET (doctor's clock check)")
struct CurlTransportTests {
    // A listening socket nobody accepts from: the connection is made (the
    // kernel's backlog), and the answer never comes.
    @Test("A GET gives up after its own limit when that is shorter than the transport's, with a timedOut error")
    func getTimeoutIsCapped() throws {
        let listener = try #require(loopbackTCPSocket(listen: true))
        defer { close(listener.fd) }
        let transport = CurlTransport(
            client: CurlHTTPClient(timeoutMilliseconds: 20_000, connectTimeoutMilliseconds: 10_000), userAgent: "latchkey")
        let started = Date()
        do {
            _ = try transport.get(url: "http://127.0.0.1:\(listener.port)/", timeoutMilliseconds: 500)
            Issue.record("a server that never answers gave a response")
        } catch let error as HTTPError {
            #expect(error.kind == .timedOut, "\(error)")
        }
        // The transport's own 20 s would still be running.
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
