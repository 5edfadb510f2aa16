import AWSSigning
import Foundation
import SessionCache
import Testing

@testable import CredentialFlow
@testable import LatchkeyCLI
import LatchkeyCore

@Suite("CredentialOutput: the export-credentials formats and credential_process JSON")
struct CredentialOutputTests {
    static let session = CachedSession(
        credentials: AWSCredentials(
            accessKeyID: "ASIAEXAMPLE", secretAccessKey: "wJalr/K7MDENG+bPxRfiCY=", sessionToken: "AQoD//wE+token=="),
        expiration: 1_800_000_000)
    static let longTerm = CachedSession(
        credentials: AWSCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: "s3cr3t"), expiration: Int64.max)

    @Test(
        "Each format prints the four variables exactly, in the AWS CLI's order",
        arguments: [
            (
                CredentialFormat.env,
                "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalr/K7MDENG+bPxRfiCY=\n"
                    + "export AWS_SESSION_TOKEN=AQoD//wE+token==\nexport AWS_CREDENTIAL_EXPIRATION=2027-01-15T08:00:00Z\n"
            ),
            (
                .envNoExport,
                "AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalr/K7MDENG+bPxRfiCY=\n"
                    + "AWS_SESSION_TOKEN=AQoD//wE+token==\nAWS_CREDENTIAL_EXPIRATION=2027-01-15T08:00:00Z\n"
            ),
            (
                .fish,
                "set -gx AWS_ACCESS_KEY_ID ASIAEXAMPLE\nset -gx AWS_SECRET_ACCESS_KEY wJalr/K7MDENG+bPxRfiCY=\n"
                    + "set -gx AWS_SESSION_TOKEN AQoD//wE+token==\nset -gx AWS_CREDENTIAL_EXPIRATION 2027-01-15T08:00:00Z\n"
            ),
            (
                .powershell,
                "$Env:AWS_ACCESS_KEY_ID=\"ASIAEXAMPLE\"\n$Env:AWS_SECRET_ACCESS_KEY=\"wJalr/K7MDENG+bPxRfiCY=\"\n"
                    + "$Env:AWS_SESSION_TOKEN=\"AQoD//wE+token==\"\n$Env:AWS_CREDENTIAL_EXPIRATION=\"2027-01-15T08:00:00Z\"\n"
            ),
            (
                .windowsCmd,
                "set AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nset AWS_SECRET_ACCESS_KEY=wJalr/K7MDENG+bPxRfiCY=\n"
                    + "set AWS_SESSION_TOKEN=AQoD//wE+token==\nset AWS_CREDENTIAL_EXPIRATION=2027-01-15T08:00:00Z\n"
            ),
        ])
    func formats(_ format: CredentialFormat, _ expected: String) throws {
        #expect(try CredentialOutput.render(Self.session, as: format) == expected)
    }

    @Test("Long-term keys print without a token or an expiration")
    func longTermKeys() throws {
        #expect(
            try CredentialOutput.render(Self.longTerm, as: .env)
                == "export AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=s3cr3t\n")
        #expect(
            CredentialOutput.processJSON(Self.longTerm)
                == #"{"Version":1,"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"s3cr3t"}"# + "\n")
        #expect(try CredentialOutput.render(Self.session, as: .json) == CredentialOutput.processJSON(Self.session))
    }

    @Test(
        "Values a shell would read as more than one word are refused in every shell format",
        arguments: [
            "a b", "a;b", "$(id)", "`id`", "a'b", "a\"b", "a\nb", "a\\b", "a$b", "a&b", "a|b", "a>b", "ä", "a*b",
        ])
    func unsafeValues(_ value: String) {
        var session = Self.session
        session.credentials.sessionToken = value
        for format in CredentialFormat.allCases where format != .json {
            let error = #expect(throws: LatchkeyError.self) { try CredentialOutput.render(session, as: format) }
            #expect(error?.message.contains("AWS_SESSION_TOKEN") == true)
        }
        session.credentials.sessionToken = nil
        session.credentials.secretAccessKey = value
        #expect(throws: LatchkeyError.self) { try CredentialOutput.render(session, as: .env) }
    }

    @Test("processJSON is JSON with the five keys and an Expiration like 2027-01-15T08:00:00Z")
    func processJSONShape() throws {
        let text = CredentialOutput.processJSON(Self.session)
        #expect(text.hasSuffix("}\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"])
        #expect(object["Version"] as? Int == 1)
        #expect(object["AccessKeyId"] as? String == "ASIAEXAMPLE")
        #expect(object["SecretAccessKey"] as? String == "wJalr/K7MDENG+bPxRfiCY=")
        #expect(object["SessionToken"] as? String == "AQoD//wE+token==")
        let expiration = try #require(object["Expiration"] as? String)
        #expect(expiration == "2027-01-15T08:00:00Z")
        #expect(expiration.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/) != nil)
    }

    @Test("processJSON escapes quotes, backslashes and control characters, and reads back through the runner")
    func processJSONEscapes() throws {
        var session = Self.session
        session.credentials.secretAccessKey = "q\"b\\s/\u{1}\t\nend"
        session.credentials.sessionToken = "ünïcode ✓"
        let text = CredentialOutput.processJSON(session)
        #expect(text.contains(#""SecretAccessKey":"q\"b\\s/\u0001\u0009\u000aend""#))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["SecretAccessKey"] as? String == session.credentials.secretAccessKey)
        #expect(try CredentialProcessRunner.parse(Array(text.utf8), profile: "p") == session)
        #expect(
            try CredentialProcessRunner.parse(Array(CredentialOutput.processJSON(Self.longTerm).utf8), profile: "p")
                == Self.longTerm)
    }
}

