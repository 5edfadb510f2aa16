import Foundation
import Testing

@testable import AWSConfig

@Suite("Printing profiles")
struct RedactionTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"

    @Test("Secret keys print as <redacted>, in sub-property blocks too; other keys are unchanged")
    func redaction() throws {
        let config = try parse(
            config: "[profile dev]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n"
                + "latchkey_vault_password = hunter2\ns3 =\n  client_secret = shh\n  style = path\n",
            credentials: "[dev]\naws_access_key_id = AKIDEXAMPLE\nAWS_SECRET_ACCESS_KEY = \(Self.secret)\n"
                + "aws_session_token = \(Self.token)\naws_security_token = \(Self.token)\n")
        let redacted = try #require(config.profile(named: "dev")).redacted()
        #expect(
            redacted.properties == [
                "region": .text("eu-west-1"), "mfa_serial": .text("arn:aws:iam::123456789012:mfa/me"),
                "latchkey_vault_password": .text("<redacted>"),
                "s3": .subProperties(["client_secret": "<redacted>", "style": "path"]),
                "aws_access_key_id": .text("AKIDEXAMPLE"), "aws_secret_access_key": .text("<redacted>"),
                "aws_session_token": .text("<redacted>"), "aws_security_token": .text("<redacted>"),
            ])
        #expect(ConfigRedaction.isSecret(key: "AWS_Secret_Access_Key"))
        #expect(!ConfigRedaction.isSecret(key: "aws_access_key_id"))
        #expect(!ConfigRedaction.isSecret(key: "region"))
    }

    @Test("The JSON shape is {profiles: {name: {key: value}}, sso_sessions: {…}} with blocks as nested objects")
    func jsonShape() throws {
        let config = try parse(
            config: """
                [profile dev]
                region = eu-west-1
                s3 =
                  max_concurrent_requests = 10
                [sso-session corp]
                sso_region = us-east-1
                """,
            credentials: "[dev]\naws_secret_access_key = \(Self.secret)\n")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(config.document()), as: UTF8.self)
        #expect(
            text == #"{"profiles":{"dev":{"aws_secret_access_key":"<redacted>","region":"eu-west-1","#
                + #""s3":{"max_concurrent_requests":"10"}}},"sso_sessions":{"corp":{"sso_region":"us-east-1"}}}"#)
        #expect(!text.contains(Self.secret))

        let raw = String(decoding: try encoder.encode(config.document(redactingSecrets: false)), as: UTF8.self)
        #expect(raw.contains(#""aws_secret_access_key":"wJalrXUtnFEMI\/K7MDENG+bPxRfiCYEXAMPLEKEY""#))
    }

    @Test("An empty configuration gives empty objects")
    func emptyJSON() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(
            String(decoding: try encoder.encode(SharedConfig().document()), as: UTF8.self)
                == #"{"profiles":{},"sso_sessions":{}}"#)
    }
}
