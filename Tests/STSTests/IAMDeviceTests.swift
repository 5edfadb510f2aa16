import AWSConfig
import AWSSigning
import Foundation
import Testing

@testable import STS

/// The virtual MFA device calls: request bodies, validation before sending,
/// and the responses (captured from moto 5, which answers as AWS documents).
@Suite("IAM virtual MFA device calls over a scripted transport")
struct IAMDeviceTests {
    static let serial = "arn:aws:iam::123456789012:mfa/bob"
    static let seedText = "2HPIB6YA26I66ZWFJ64YBZQTP5BFC7YM3FVTLEH7J3K4LRZQGFXLG7MTNQKYEO42"

    static let createResponse =
        #"<CreateVirtualMFADeviceResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateVirtualMFADeviceResult><VirtualMFADevice><SerialNumber>arn:aws:iam::123456789012:mfa/bob</SerialNumber><Base32StringSeed>MkhQSUI2WUEyNkk2NlpXRko2NFlCWlFUUDVCRkM3WU0zRlZUTEVIN0ozSzRMUlpRR0ZYTEc3TVROUUtZRU80Mg==</Base32StringSeed><QRCodePNG>6r+FSxajs3/JKBHEVG1ggEiZIK58EXu6H+vufOfTLbENjOmmUL4YZqN/COQ0JSQeo+BW0+2dBR7aktOJn4QveA==</QRCodePNG></VirtualMFADevice></CreateVirtualMFADeviceResult><ResponseMetadata><RequestId>oWehB52UvDkkUobXbTQXmdgb2DJdsuOrBvl3T5KGKvwpWZZrsrtI</RequestId></ResponseMetadata></CreateVirtualMFADeviceResponse>"#

    static func acknowledgement(_ action: String) -> String {
        #"<\#(action)Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>A4gBnDEa6X609J5S6RODxbZ170zzquO7keVSeckYZ1fv7nATF34n</RequestId></ResponseMetadata></\#(action)Response>"#
    }

    static let getUserResponse =
        #"<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><Path>/</Path><UserName>bob</UserName><UserId>2hp5sb5p64ttj2kfqhy6</UserId><Arn>arn:aws:iam::123456789012:user/bob</Arn><CreateDate>2026-11-22T13:53:28.374956Z</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>DL25</RequestId></ResponseMetadata></GetUserResponse>"#

    static let noSuchUser =
        #"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name nobody cannot be found.</Message></Error><RequestId>ascN</RequestId></ErrorResponse>"#

    func iam(_ transport: ScriptedTransport) -> IAMClient {
        IAMClient(
            credentials: longTermCredentials, endpoint: iamEndpoint, transport: transport,
            clock: ManualClock(Date(timeIntervalSince1970: 1_788_000_000)))
    }

    @Test("CreateVirtualMFADevice sends Path then the name, and the seed is the base32 text under base64")
    func create() throws {
        let transport = ScriptedTransport(responses: [xmlResponse(200, Self.createResponse)])
        let device = try iam(transport).createVirtualMFADevice(.init(virtualMFADeviceName: "bob", path: "/team/"))
        #expect(device.serialNumber == Self.serial)
        #expect(device.base32Seed.bytes == Array(Self.seedText.utf8))
        #expect(!"\(device)".contains(Self.seedText))
        #expect(
            transport.requests.map(\.bodyText) == [
                "Action=CreateVirtualMFADevice&Version=2010-05-08&Path=%2Fteam%2F&VirtualMFADeviceName=bob"
            ])
        #expect(transport.requests.first?.headers.value(of: "authorization")?.contains("/us-east-1/iam/aws4_request") == true)
    }

    @Test("A seed that is not base64 of base32 text is a malformed response")
    func badSeed() throws {
        for seed in ["not base64!", "aGVsbG8=" /* "hello": not base32 */, ""] {
            let body = Self.createResponse.replacingOccurrences(
                of: "MkhQSUI2WUEyNkk2NlpXRko2NFlCWlFUUDVCRkM3WU0zRlZUTEVIN0ozSzRMUlpRR0ZYTEc3TVROUUtZRU80Mg==", with: seed)
            let transport = ScriptedTransport(responses: [xmlResponse(200, body)])
            #expect(throws: STSClientError.self) { try iam(transport).createVirtualMFADevice(.init(virtualMFADeviceName: "bob")) }
        }
    }

    @Test("Enable, Resync, Deactivate and DeleteVirtual send their parameters in the API order and accept the bare acknowledgement")
    func deviceLife() throws {
        let transport = ScriptedTransport(responses: [
            "EnableMFADevice", "ResyncMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice",
        ].map { xmlResponse(200, Self.acknowledgement($0)) })
        let client = iam(transport)
        try client.send(MFADeviceCodesRequest(.enable, userName: "bob", serialNumber: Self.serial, authenticationCode1: "123456", authenticationCode2: "654321"))
        try client.send(MFADeviceCodesRequest(.resync, userName: "bob", serialNumber: Self.serial, authenticationCode1: "111111", authenticationCode2: "222222"))
        try client.send(MFADeviceRequest.deactivate(userName: "bob", serialNumber: Self.serial))
        try client.send(MFADeviceRequest.deleteVirtual(serialNumber: Self.serial))
        let encodedSerial = "arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fbob"
        #expect(
            transport.requests.map(\.bodyText) == [
                "Action=EnableMFADevice&Version=2010-05-08&UserName=bob&SerialNumber=\(encodedSerial)&AuthenticationCode1=123456&AuthenticationCode2=654321",
                "Action=ResyncMFADevice&Version=2010-05-08&UserName=bob&SerialNumber=\(encodedSerial)&AuthenticationCode1=111111&AuthenticationCode2=222222",
                "Action=DeactivateMFADevice&Version=2010-05-08&UserName=bob&SerialNumber=\(encodedSerial)",
                "Action=DeleteVirtualMFADevice&Version=2010-05-08&SerialNumber=\(encodedSerial)",
            ])
    }

    @Test("An acknowledgement for another action is refused, and AWS's errors come through with their code")
    func wrongAnswers() throws {
        let transport = ScriptedTransport(responses: [
            xmlResponse(200, Self.acknowledgement("DeactivateMFADevice")), xmlResponse(404, Self.noSuchUser),
        ])
        let client = iam(transport)
        let enable = MFADeviceCodesRequest(.enable, userName: "nobody", serialNumber: Self.serial, authenticationCode1: "123456", authenticationCode2: "654321")
        #expect(throws: STSClientError.self) { try client.send(enable) }
        do {
            try client.send(enable)
            Issue.record("NoSuchEntity was not reported")
        } catch {
            #expect(error.serviceError?.code == "NoSuchEntity")
        }
    }

    @Test("GetUser with and without a name")
    func getUser() throws {
        let transport = ScriptedTransport(responses: [xmlResponse(200, Self.getUserResponse), xmlResponse(200, Self.getUserResponse)])
        let user = try iam(transport).getUser()
        #expect(user.userName == "bob" && user.arn == "arn:aws:iam::123456789012:user/bob" && user.userID == "2hp5sb5p64ttj2kfqhy6")
        _ = try iam(transport).getUser(userName: "bob")
        #expect(transport.requests.map(\.bodyText) == ["Action=GetUser&Version=2010-05-08", "Action=GetUser&Version=2010-05-08&UserName=bob"])
    }

    @Test("Bad parameters are refused before anything is sent, naming the parameter but not the value")
    func validation() throws {
        let cases: [(() throws(STSValidationError) -> AWSQueryRequest, String)] = [
            (CreateVirtualMFADeviceRequest(virtualMFADeviceName: "").queryRequest, "VirtualMFADeviceName"),
            (CreateVirtualMFADeviceRequest(virtualMFADeviceName: "a b").queryRequest, "VirtualMFADeviceName"),
            (CreateVirtualMFADeviceRequest(virtualMFADeviceName: String(repeating: "a", count: 227)).queryRequest, "VirtualMFADeviceName"),
            (CreateVirtualMFADeviceRequest(virtualMFADeviceName: "bob", path: "team").queryRequest, "Path"),
            (CreateVirtualMFADeviceRequest(virtualMFADeviceName: "bob", path: "/te am/").queryRequest, "Path"),
            (MFADeviceCodesRequest(.enable, userName: "bob", serialNumber: Self.serial, authenticationCode1: "12345", authenticationCode2: "123456").queryRequest, "AuthenticationCode1"),
            (MFADeviceCodesRequest(.resync, userName: "bob", serialNumber: Self.serial, authenticationCode1: "123456", authenticationCode2: "12345a").queryRequest, "AuthenticationCode2"),
            (MFADeviceCodesRequest(.enable, userName: "", serialNumber: Self.serial, authenticationCode1: "123456", authenticationCode2: "123456").queryRequest, "UserName"),
            (MFADeviceCodesRequest(.enable, userName: "bob", serialNumber: "short", authenticationCode1: "123456", authenticationCode2: "123456").queryRequest, "SerialNumber"),
            (MFADeviceRequest.deactivate(userName: "b o b", serialNumber: Self.serial).queryRequest, "UserName"),
            (MFADeviceRequest.deleteVirtual(serialNumber: "arn:aws:iam::1:mfa/b\"ob").queryRequest, "SerialNumber"),
            (MFADeviceRequest(action: .deleteVirtual, userName: "bob", serialNumber: Self.serial).queryRequest, "UserName"),
            (MFADeviceRequest(action: .deactivate, userName: "bob", serialNumber: nil).queryRequest, "SerialNumber"),
            (MFADeviceRequest.getUser(userName: String(repeating: "u", count: 129)).queryRequest, "UserName"),
        ]
        for (build, parameter) in cases {
            do {
                _ = try build()
                Issue.record("\(parameter) was not refused")
            } catch {
                #expect(error.parameter == parameter)
                #expect(!error.description.contains("12345"))
            }
        }
        let transport = ScriptedTransport(responses: [])
        do {
            try iam(transport).send(MFADeviceCodesRequest(.enable, userName: "bob", serialNumber: Self.serial, authenticationCode1: "1", authenticationCode2: "2"))
            Issue.record("the request was not refused")
        } catch {
            guard case .invalidRequest = error else { Issue.record("\(error)"); return }
        }
        #expect(transport.requests.isEmpty)
    }

    @Test("base64 decoding: padding optional, whitespace skipped, a bad character or a stray tail refused")
    func base64() {
        #expect(Base64.decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Base64.decode("aGVsbG8") == Array("hello".utf8))
        #expect(Base64.decode("aGVs\nbG8=") == Array("hello".utf8))
        #expect(Base64.decode("aGVsbG8=x") == nil)
        #expect(Base64.decode("a") == nil)
        #expect(Base64.decode("a*==") == nil)
    }
}
