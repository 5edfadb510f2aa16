import AgentProtocol
import Foundation
import Testing

/// The agent's wire: frames and messages, good and bad.
@Suite("agent wire")
struct WireTests {
    func body(_ json: String) -> ArraySlice<UInt8> { Array(json.utf8)[...] }

    @Test("requests and replies read back from their encoding")
    func roundTrips() throws {
        let requests: [AgentRequest] = [
            .credentials(.init(profile: "admin", host: "devbox-3", durationSeconds: 3600, refresh: true)),
            .credentials(.init(profile: "admin", host: "devbox-3")),
            .code(serial: "arn:aws:iam::123456789012:mfa/alice", host: "devbox-3"),
        ]
        for request in requests {
            #expect(try AgentRequest(body: AgentFrame.decode(request.encoded()[...])) == request)
        }
        let replies: [AgentReply] = [
            .credentials(.init(accessKeyID: "ASIAEXAMPLE", secretAccessKey: "s3cr3t", sessionToken: "token", expiration: 1_795_000_000, arn: "arn:aws:sts::1:assumed-role/admin/a")),
            .credentials(.init(accessKeyID: "ASIAEXAMPLE", secretAccessKey: "s3cr3t", sessionToken: "token", expiration: 1_795_000_000, arn: nil)),
            .code("123456"),
            .failure(category: "touchTimeout", message: "touch timed out"),
        ]
        for reply in replies {
            #expect(try AgentReply(body: AgentFrame.decode(reply.encoded()[...])) == reply)
        }
    }

    @Test("a frame is a 4-byte big-endian length and the body")
    func frameLayout() throws {
        let framed = AgentFrame.encode(Array("{}".utf8))
        #expect(framed == [0, 0, 0, 2, UInt8(ascii: "{"), UInt8(ascii: "}")])
    }

    @Test("truncated, empty, oversized and overlong frames are refused")
    func badFrames() {
        #expect(throws: AgentProtocolError.truncated) { try AgentFrame.decode([0, 0][...]) }
        #expect(throws: AgentProtocolError.truncated) { try AgentFrame.decode([0, 0, 0, 5, 1, 2][...]) }
        #expect(throws: AgentProtocolError.emptyFrame) { try AgentFrame.decode([0, 0, 0, 0][...]) }
        #expect(throws: AgentProtocolError.oversized(0x7FFF_FFFF)) { try AgentFrame.bodyLength(header: [0x7F, 0xFF, 0xFF, 0xFF][...]) }
        #expect(throws: AgentProtocolError.oversized(65537)) { try AgentFrame.bodyLength(header: [0, 1, 0, 1][...]) }
        #expect(throws: AgentProtocolError.trailingBytes) { try AgentFrame.decode([0, 0, 0, 1, 7, 8][...]) }
    }

    @Test("a newer version is named as such; garbage, missing fields and control characters are malformed")
    func badMessages() {
        #expect(throws: AgentProtocolError.unsupportedVersion(2)) {
            try AgentRequest(body: body(#"{"v":2,"op":"credentials","host":"h","profile":"p"}"#))
        }
        #expect(throws: AgentProtocolError.unsupportedVersion(2)) { try AgentReply(body: body(#"{"v":2,"ok":true,"code":"123456"}"#)) }
        let malformed = [
            "garbage", "", "[]", #"{"op":"credentials"}"#, #"{"v":1,"op":"launch","host":"h"}"#,
            #"{"v":1,"op":"credentials","host":"h"}"#, #"{"v":1,"op":"credentials","host":"","profile":"p"}"#,
            #"{"v":1,"op":"credentials","host":"h\nfake log line","profile":"p"}"#,
            #"{"v":1,"op":"credentials","host":"h","profile":"p","duration":0}"#,
            #"{"v":1,"op":"code","host":"h"}"#,
        ]
        for text in malformed {
            #expect("\(text)", performing: { try AgentRequest(body: body(text)) }, throws: { error in
                if case .malformed = error as? AgentProtocolError { return true }
                return false
            })
        }
        for text in [#"{"v":1,"ok":true}"#, #"{"v":1,"ok":true,"code":"12a456"}"#, #"{"v":1,"ok":true,"AccessKeyId":"A"}"#] {
            #expect("\(text)", performing: { try AgentReply(body: body(text)) }, throws: { error in
                if case .malformed = error as? AgentProtocolError { return true }
                return false
            })
        }
    }

    @Test("a failure's message loses its control characters and is bounded")
    func failureMessages() throws {
        let reply = try AgentReply(body: body(#"{"v":1,"ok":false,"category":"x","message":"a\u001b[2Jb"}"#))
        #expect(reply == .failure(category: "x", message: "a?[2Jb"))
        let long = AgentReply.failure(category: "failure", message: String(repeating: "é", count: 10_000)).encoded()
        #expect(long.count < 1000)
    }
}
