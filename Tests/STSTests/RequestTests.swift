import AWSConfig
import AWSSigning
import Foundation
import Testing

@testable import STS

@Suite("Request building and validation")
struct RequestTests {
    func body(_ request: AWSQueryRequest) -> String { String(decoding: request.body, as: UTF8.self) }

    @Test("Bodies are Action, Version, then the parameters, RFC 3986-encoded")
    func bodies() throws {
        #expect(body(try GetSessionTokenRequest().queryRequest()) == "Action=GetSessionToken&Version=2011-06-15")
        #expect(
            body(
                try GetSessionTokenRequest(
                    durationSeconds: 3600, serialNumber: "arn:aws:iam::123456789012:mfa/bob",
                    tokenCode: "012345"
                ).queryRequest())
                == "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600"
                + "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fbob&TokenCode=012345")
        #expect(body(GetCallerIdentityRequest().queryRequest()) == "Action=GetCallerIdentity&Version=2011-06-15")
        #expect(
            body(try ListMFADevicesRequest(userName: "bob+ops", marker: "a b/c=", maxItems: 100).queryRequest())
                == "Action=ListMFADevices&Version=2010-05-08&UserName=bob%2Bops&Marker=a%20b%2Fc%3D&MaxItems=100")
        let assume = AssumeRoleRequest(
            roleARN: "arn:aws:iam::123456789012:role/Admin", roleSessionName: "bob@example.com",
            policy: #"{"Version":"2012-10-17"}"#, durationSeconds: 900,
            tags: [SessionTag(key: "Project", value: "Blue Sky"), SessionTag(key: "team", value: "")],
            externalID: "ext-1", serialNumber: "arn:aws:iam::123456789012:mfa/bob", tokenCode: "999999",
            sourceIdentity: "bob")
        #expect(
            body(try assume.queryRequest())
                == "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin"
                + "&RoleSessionName=bob%40example.com&Policy=%7B%22Version%22%3A%222012-10-17%22%7D&DurationSeconds=900"
                + "&Tags.member.1.Key=Project&Tags.member.1.Value=Blue%20Sky&Tags.member.2.Key=team&Tags.member.2.Value="
                + "&ExternalId=ext-1&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fbob&TokenCode=999999"
                + "&SourceIdentity=bob")
    }

    func refused(_ validate: () throws(STSValidationError) -> Void) -> STSValidationError? {
        do {
            try validate()
            return nil
        } catch {
            return error
        }
    }

    @Test("GetSessionToken: DurationSeconds 900–129600, SerialNumber 9–256 of [\\w+=/:,.@-], TokenCode 6 digits")
    func getSessionTokenBoundaries() {
        for duration in [900, 129_600, 43_200] {
            #expect(
                refused { () throws(STSValidationError) in
                    try GetSessionTokenRequest(durationSeconds: duration).validate()
                } == nil)
        }
        for duration in [899, 129_601, 0, -1, Int.max] {
            #expect(
                refused { () throws(STSValidationError) in
                    try GetSessionTokenRequest(durationSeconds: duration).validate()
                }
                    == STSValidationError("DurationSeconds", .range(900...129_600)))
        }
        func mfa(_ serial: String?, _ code: String?) -> STSValidationError? {
            refused { () throws(STSValidationError) in
                try GetSessionTokenRequest(serialNumber: serial, tokenCode: code).validate()
            }
        }
        #expect(mfa("GAHT12345", "000000") == nil)
        #expect(mfa(String(repeating: "a", count: 256), "123456") == nil)
        #expect(mfa("arn:aws:iam::123456789012:mfa/a_b+c=d,e.f@g-h", "123456") == nil)
        #expect(mfa("GAHT1234", "123456") == STSValidationError("SerialNumber", .length(9...256)))
        #expect(
            mfa(String(repeating: "a", count: 257), "123456") == STSValidationError("SerialNumber", .length(9...256)))
        #expect(
            mfa("arn:aws:iam::123456789012:mfa/b b", "123456")?.rule
                == .characters("letters, digits and _+=/:,.@-"))
        #expect(mfa("arn:aws:iam::123456789012:mfa/bé", "123456")?.parameter == "SerialNumber")
        for code in ["12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345", ""] {
            #expect(mfa("GAHT12345", code) == STSValidationError("TokenCode", .sixDigits), "\(code)")
        }
        #expect(mfa("GAHT12345", nil) == STSValidationError("SerialNumber", .requiresBoth("SerialNumber", "TokenCode")))
        #expect(mfa(nil, "123456")?.rule == .requiresBoth("SerialNumber", "TokenCode"))
    }

    @Test(
        "AssumeRole: DurationSeconds 900–43200, RoleSessionName 2–64, ExternalId 2–1224, SourceIdentity 2–64, tags ≤ 50"
    )
    func assumeRoleBoundaries() {
        let good = AssumeRoleRequest(roleARN: "arn:aws:iam::123456789012:role/r", roleSessionName: "ok")
        func check(_ change: (inout AssumeRoleRequest) -> Void) -> STSValidationError? {
            var request = good
            change(&request)
            return refused { () throws(STSValidationError) in try request.validate() }
        }
        #expect(check { _ in } == nil)
        #expect(check { $0.durationSeconds = 900 } == nil)
        #expect(check { $0.durationSeconds = 43_200 } == nil)
        #expect(check { $0.durationSeconds = 899 } == STSValidationError("DurationSeconds", .range(900...43_200)))
        #expect(check { $0.durationSeconds = 43_201 } == STSValidationError("DurationSeconds", .range(900...43_200)))
        #expect(check { $0.roleSessionName = "ab" } == nil)
        #expect(check { $0.roleSessionName = String(repeating: "s", count: 64) } == nil)
        #expect(check { $0.roleSessionName = "a_B1+=,.@-" } == nil)
        #expect(check { $0.roleSessionName = "a" } == STSValidationError("RoleSessionName", .length(2...64)))
        #expect(
            check { $0.roleSessionName = String(repeating: "s", count: 65) }
                == STSValidationError("RoleSessionName", .length(2...64)))
        #expect(check { $0.roleSessionName = "a b" }?.rule == .characters("letters, digits and _+=,.@-"))
        #expect(check { $0.roleSessionName = "a/b" }?.parameter == "RoleSessionName")
        #expect(check { $0.externalID = "ab" } == nil)
        #expect(check { $0.externalID = String(repeating: "e", count: 1224) } == nil)
        #expect(check { $0.externalID = "a:b/c" } == nil)
        #expect(check { $0.externalID = "e" } == STSValidationError("ExternalId", .length(2...1224)))
        #expect(
            check { $0.externalID = String(repeating: "e", count: 1225) }
                == STSValidationError("ExternalId", .length(2...1224)))
        #expect(check { $0.externalID = "a b" }?.parameter == "ExternalId")
        #expect(check { $0.sourceIdentity = "ab" } == nil)
        #expect(check { $0.sourceIdentity = String(repeating: "i", count: 64) } == nil)
        #expect(check { $0.sourceIdentity = "i" } == STSValidationError("SourceIdentity", .length(2...64)))
        #expect(
            check { $0.sourceIdentity = String(repeating: "i", count: 65) }
                == STSValidationError("SourceIdentity", .length(2...64)))
        #expect(
            check { $0.roleARN = String(repeating: "a", count: 19) }
                == STSValidationError("RoleArn", .length(20...2048)))
        #expect(check { $0.roleARN = "arn:aws:iam::123456789012:role/\u{0}" }?.parameter == "RoleArn")
        #expect(
            check { $0.policy = String(repeating: "p", count: 2049) } == STSValidationError("Policy", .length(1...2048))
        )
        #expect(check { $0.tags = (1...50).map { SessionTag(key: "k\($0)", value: "v") } } == nil)
        #expect(
            check { $0.tags = (1...51).map { SessionTag(key: "k\($0)", value: "v") } }
                == STSValidationError("Tags", .tooMany(50)))
        #expect(
            check { $0.tags = [SessionTag(key: "", value: "v")] } == STSValidationError("Tags.Key", .length(1...128)))
        #expect(check { $0.tags = [SessionTag(key: "Ünïcode key", value: "value 1:/=+-@_.")] } == nil)
        #expect(check { $0.tags = [SessionTag(key: "k", value: "no!")] }?.parameter == "Tags.Value")
        #expect(check { $0.tokenCode = "123456" }?.rule == .requiresBoth("SerialNumber", "TokenCode"))
    }

    @Test("ListMFADevices: UserName 1–64, Marker 1–320, MaxItems 1–1000")
    func listBoundaries() {
        func check(_ request: ListMFADevicesRequest) -> STSValidationError? {
            refused { () throws(STSValidationError) in try request.validate() }
        }
        #expect(check(ListMFADevicesRequest()) == nil)
        #expect(check(ListMFADevicesRequest(userName: "b", marker: "m", maxItems: 1)) == nil)
        #expect(check(ListMFADevicesRequest(userName: String(repeating: "u", count: 64), maxItems: 1000)) == nil)
        #expect(check(ListMFADevicesRequest(userName: "")) == STSValidationError("UserName", .length(1...64)))
        #expect(check(ListMFADevicesRequest(userName: String(repeating: "u", count: 65)))?.parameter == "UserName")
        #expect(check(ListMFADevicesRequest(marker: String(repeating: "m", count: 321)))?.parameter == "Marker")
        #expect(check(ListMFADevicesRequest(marker: "\u{1}"))?.parameter == "Marker")
        #expect(check(ListMFADevicesRequest(maxItems: 0)) == STSValidationError("MaxItems", .range(1...1000)))
        #expect(check(ListMFADevicesRequest(maxItems: 1001)) == STSValidationError("MaxItems", .range(1...1000)))
    }

    @Test("Validation messages name the parameter and rule but never the value")
    func messagesHideValues() {
        let error = refused { () throws(STSValidationError) in
            try GetSessionTokenRequest(serialNumber: "GAHT12345", tokenCode: "98765x").validate()
        }
        #expect(error?.description == "TokenCode must be exactly 6 digits")
        #expect(
            STSValidationError("DurationSeconds", .range(900...43_200)).description
                == "DurationSeconds must be between 900 and 43200")
    }

    @Test("Default RoleSessionNames are the user name made valid")
    func roleSessionNames() {
        let cases: [(String, String)] = [
            ("alice", "alice"), ("alice.smith@example.com", "alice.smith@example.com"), ("Alice Smith", "Alice-Smith"),
            ("José", "Jos-"), ("a", "latchkey-a"), ("", "latchkey"), ("日本", "latchkey"), ("!!!", "latchkey"),
            ("DOMAIN\\user", "DOMAIN-user"), (String(repeating: "x", count: 100), String(repeating: "x", count: 64)),
        ]
        for (user, expected) in cases {
            let name = RoleSessionName.derived(fromUserName: user)
            #expect(name == expected, "\(user)")
            let request = AssumeRoleRequest(roleARN: "arn:aws:iam::123456789012:role/r", roleSessionName: name)
            #expect(refused { () throws(STSValidationError) in try request.validate() } == nil, "\(user)")
        }
    }

    @Test("A signed request goes to the endpoint URL with Content-Type, Host, X-Amz-Date, the token and Authorization")
    func signedRequest() throws {
        let temporary = AWSCredentials(accessKeyID: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "tok")
        let local = ServiceEndpoint(
            url: try #require(EndpointURL("http://127.0.0.1:5000")), signingRegion: "us-east-1",
            source: .environment("AWS_ENDPOINT_URL_STS"))
        let signed = GetCallerIdentityRequest().queryRequest().signed(
            for: local, service: "sts", credentials: temporary, at: Date(timeIntervalSince1970: 1_440_938_160.9))
        #expect(signed.url == "http://127.0.0.1:5000/")
        #expect(
            signed.headers.map(\.name) == [
                "Content-Type", "Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization",
            ])
        #expect(signed.headers.value(of: "host") == "127.0.0.1:5000")
        #expect(signed.headers.value(of: "content-type") == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(signed.headers.value(of: "x-amz-date") == "20150830T123600Z")
        #expect(signed.headers.value(of: "x-amz-security-token") == "tok")
        #expect(
            signed.headers.value(of: "authorization")?.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20150830/us-east-1/sts/aws4_request, "
                    + "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=") == true)
        #expect(String(decoding: signed.body, as: UTF8.self) == "Action=GetCallerIdentity&Version=2011-06-15")
    }
}
