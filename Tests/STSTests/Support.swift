import AWSConfig
import AWSSigning
import Foundation
import Testing

@testable import STS

/// A transport that answers from a script. Each request is recorded; a
/// request the test did not script an answer for records an issue and
/// throws, so a forgotten setup fails the test loudly.
final class ScriptedTransport: HTTPTransport {
    struct Request: Equatable {
        var url: String
        var headers: [HTTPField]
        var body: [UInt8]
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    enum Answer {
        case response(TransportResponse)
        case failure(any Error)
    }

    struct UnscriptedRequest: Error, CustomStringConvertible {
        var description: String { "the test transport got a request it had no answer for" }
    }

    private(set) var requests: [Request] = []
    private var answers: [Answer]
    let sourceLocation: SourceLocation

    init(_ answers: [Answer], sourceLocation: SourceLocation = #_sourceLocation) {
        self.answers = answers
        self.sourceLocation = sourceLocation
    }

    convenience init(responses: [TransportResponse], sourceLocation: SourceLocation = #_sourceLocation) {
        self.init(responses.map { .response($0) }, sourceLocation: sourceLocation)
    }

    func post(url: String, headers: [HTTPField], body: [UInt8]) throws -> TransportResponse {
        requests.append(Request(url: url, headers: headers, body: body))
        guard !answers.isEmpty else {
            Issue.record("unscripted request #\(requests.count) to \(url)", sourceLocation: sourceLocation)
            throw UnscriptedRequest()
        }
        switch answers.removeFirst() {
        case .response(let response): return response
        case .failure(let error): throw error
        }
    }

    var unusedAnswers: Int { answers.count }
}

/// A clock that stands still unless told to move, and records the pauses
/// asked of it (each pause also moves it forward).
final class ManualClock: RequestClock {
    var current: Date
    private(set) var sleeps: [Duration] = []

    init(_ current: Date) { self.current = current }

    func now() -> Date { current }

    func sleep(for duration: Duration) {
        sleeps.append(duration)
        let (seconds, attoseconds) = duration.components
        current += Double(seconds) + Double(attoseconds) / 1e18
    }
}

func xmlResponse(_ status: Int, _ body: String, date: String? = "Tue, 01 Sep 2026 10:00:00 GMT") -> TransportResponse {
    var headers = [HTTPField("Content-Type", "text/xml")]
    if let date { headers.append(HTTPField("Date", date)) }
    return TransportResponse(status: status, headers: headers, body: Array(body.utf8))
}

let testEndpoint = ServiceEndpoint(
    url: EndpointURL(scheme: "https", host: "sts.eu-west-1.amazonaws.com"), signingRegion: "eu-west-1",
    source: .regional)
let iamEndpoint = ServiceEndpoint(
    url: EndpointURL(scheme: "https", host: "iam.amazonaws.com"), signingRegion: "us-east-1", source: .global)
let longTermCredentials = AWSCredentials(
    accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

