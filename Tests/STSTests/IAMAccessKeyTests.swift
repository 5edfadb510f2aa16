import AWSConfig
import AWSSigning
import Foundation
import Testing

@testable import STS

/// ListAccessKeys, CreateAccessKey and DeleteAccessKey (`keys rotate`):
/// request bodies, validation before sending, and the answers in the shape
/// of the IAM API reference's examples.
@Suite("IAM access key calls over a scripted transport")
struct IAMAccessKeyTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"

    static let listResponse =
        #"<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><UserName>bob</UserName><AccessKeyMetadata><member><UserName>bob</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status><CreateDate>2026-01-20T22:37:00Z</CreateDate></member><member><UserName>bob</UserName><AccessKeyId>AKIAI44QH8DHBEXAMPLE</AccessKeyId><Status>Inactive</Status><CreateDate>2026-11-30T08:00:00.123Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>7a62c49f</RequestId></ResponseMetadata></ListAccessKeysResponse>"#

    static func createResponse(id: String = "AKIAIOSFODNN7EXAMPLE", secret: String = Self.secret) -> String {
        #"<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult><AccessKey><UserName>bob</UserName><AccessKeyId>\#(id)</AccessKeyId><Status>Active</Status><SecretAccessKey>\#(secret)</SecretAccessKey><CreateDate>2026-12-04T15:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>7a62c49f</RequestId></ResponseMetadata></CreateAccessKeyResponse>"#
    }

    func iam(_ transport: ScriptedTransport) -> IAMClient {
        IAMClient(
            credentials: longTermCredentials, endpoint: iamEndpoint, transport: transport,
            clock: ManualClock(Date(timeIntervalSince1970: 1_788_000_000)))
    }

    @Test("the three calls send their parameters, and the answers are read: keys with dates, the new secret withheld from descriptions")
    func calls() throws {
        let transport = ScriptedTransport(responses: [
            xmlResponse(200, Self.listResponse), xmlResponse(200, Self.createResponse()),
            xmlResponse(200, IAMDeviceTests.acknowledgement("DeleteAccessKey")),
        ])
        let client = iam(transport)
        let list = try client.listAccessKeys()
        #expect(list.userName == "bob" && !list.isTruncated)
        #expect(list.keys.map(\.accessKeyID) == ["AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"])
        #expect(list.keys.map(\.status) == ["Active", "Inactive"])
        #expect(list.keys[0].createDate == Date(timeIntervalSince1970: 1_768_948_620))
        let created = try client.createAccessKey(userName: "bob")
        #expect(created.key.accessKeyID == "AKIAIOSFODNN7EXAMPLE" && created.key.userName == "bob")
        #expect(created.secretAccessKey.bytes == Array(Self.secret.utf8))
        #expect(!"\(created)".contains(Self.secret))
        try client.deleteAccessKey("AKIAI44QH8DHBEXAMPLE")
        #expect(
            transport.requests.map(\.bodyText) == [
                "Action=ListAccessKeys&Version=2010-05-08",
                "Action=CreateAccessKey&Version=2010-05-08&UserName=bob",
                "Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId=AKIAI44QH8DHBEXAMPLE",
            ])
    }

    @Test("a new key with no secret, a secret with a space or too short, an id that is not a word, or a bad date: a malformed answer")
    func malformed() throws {
        let bodies = [
            Self.createResponse(secret: ""),
            Self.createResponse(secret: "has a space in the secret key"),
            Self.createResponse(secret: "short"),
            Self.createResponse(id: "AKIA/../EXAMPLE00000"),
            Self.createResponse().replacingOccurrences(of: "2026-12-04T15:00:00Z", with: "yesterday"),
        ]
        for body in bodies {
            let transport = ScriptedTransport(responses: [xmlResponse(200, body)])
            #expect(throws: STSClientError.self) { try iam(transport).createAccessKey() }
        }
        let list = Self.listResponse.replacingOccurrences(of: "<IsTruncated>false", with: "<IsTruncated>maybe")
        #expect(throws: STSClientError.self) { try iam(ScriptedTransport(responses: [xmlResponse(200, list)])).listAccessKeys() }
    }

    @Test("bad parameters are refused before anything is sent")
    func validation() throws {
        let cases: [(AccessKeyRequest, String)] = [
            (.delete("short"), "AccessKeyId"),
            (.delete("AKIA-NOT-A-WORD-0000"), "AccessKeyId"),
            (AccessKeyRequest(action: .delete, userName: nil, accessKeyID: nil), "AccessKeyId"),
            (AccessKeyRequest(action: .list, userName: nil, accessKeyID: "AKIAIOSFODNN7EXAMPLE"), "AccessKeyId"),
            (.create(userName: "b o b"), "UserName"),
            (.list(userName: String(repeating: "u", count: 129)), "UserName"),
        ]
        for (request, parameter) in cases {
            #expect(throws: STSValidationError.self, "\(parameter)") { try request.queryRequest() }
            do { _ = try request.queryRequest() } catch { #expect(error.parameter == parameter) }
        }
        let transport = ScriptedTransport(responses: [])
        #expect(throws: STSClientError.self) { try iam(transport).deleteAccessKey("x") }
        #expect(transport.requests.isEmpty)
    }
}
