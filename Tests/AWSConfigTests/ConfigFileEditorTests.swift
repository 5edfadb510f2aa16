import Foundation
import TestSupport
import Testing

@testable import AWSConfig

@Suite("Config file editor")
struct ConfigFileEditorTests {
    typealias Property = ConfigFileEditor.Property

    static let mfaValues = [
        Property("mfa_serial", "arn:aws:iam::123456789012:mfa/alice"), Property("latchkey_mfa", "sealed"),
    ]

    static func edit(_ text: String, _ name: String, _ properties: [Property] = mfaValues) throws -> String {
        String(
            decoding: try ConfigFileEditor.settingProperties(properties, inProfile: name, in: Array(text.utf8)),
            as: UTF8.self)
    }

    static let busyFile = """
        # my config   
        [default]
        region = us-east-1

        [profile dev]  ; dev account
        region = eu-west-1
        MFA_Serial = arn:aws:iam::123456789012:mfa/old
          continued
        # keep me
        output = json

        [profile devx]
        region = eu-west-2

        [services dev]
        sts =
          endpoint_url = http://localhost:1
        """

    @Test("An existing key is replaced in place (continuation dropped), a new one goes after the last property; every other byte stays")
    func editsInPlace() throws {
        let edited = try Self.edit(Self.busyFile, "dev")
        #expect(edited == """
            # my config   
            [default]
            region = us-east-1

            [profile dev]  ; dev account
            region = eu-west-1
            mfa_serial = arn:aws:iam::123456789012:mfa/alice
            # keep me
            output = json
            latchkey_mfa = sealed

            [profile devx]
            region = eu-west-2

            [services dev]
            sts =
              endpoint_url = http://localhost:1
            """)
        let parsed = try SharedConfig.parse(config: Array(edited.utf8), configPath: "c", credentials: nil, credentialsPath: "k")
        #expect(parsed.profile(named: "dev")?.nonEmpty("mfa_serial") == "arn:aws:iam::123456789012:mfa/alice")
        #expect(parsed.profile(named: "dev")?.nonEmpty("latchkey_mfa") == "sealed")
        #expect(parsed.profile(named: "devx")?.nonEmpty("mfa_serial") == nil)
    }

    @Test("default is [default], or [profile default] when the file has one; a missing profile is appended as [profile NAME]")
    func sectionNames() throws {
        #expect(try Self.edit("[default]\nregion = x\n[profile default]\nregion = y\n", "default")
            == "[default]\nregion = x\n[profile default]\nregion = y\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = sealed\n")
        #expect(try Self.edit("[default]\nregion = x", "default")
            == "[default]\nregion = x\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = sealed\n")
        #expect(try Self.edit("[default]\r\nregion = x\r\n", "work")
            == "[default]\r\nregion = x\r\n\r\n[profile work]\r\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\r\nlatchkey_mfa = sealed\r\n")
        #expect(try Self.edit("", "default") == "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = sealed\n")
        // [dev] in a config file is not profile dev.
        #expect(try Self.edit("[dev]\nregion = x\n", "dev").hasSuffix("\n\n[profile dev]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = sealed\n"))
    }

    @Test("With two sections for the profile the later one (whose values win) is edited")
    func lastSectionWins() throws {
        let edited = try Self.edit("[profile dev]\nlatchkey_mfa = yubikey\n\n[profile\tdev]\nregion = x\n", "dev")
        #expect(edited == "[profile dev]\nlatchkey_mfa = yubikey\n\n[profile\tdev]\nregion = x\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nlatchkey_mfa = sealed\n")
        let parsed = try SharedConfig.parse(config: Array(edited.utf8), configPath: "c", credentials: nil, credentialsPath: "k")
        #expect(parsed.profile(named: "dev")?.nonEmpty("latchkey_mfa") == "sealed")
    }

    @Test("Bad names and values are refused")
    func refusals() {
        #expect(throws: CredentialsFileEditor.EditError.invalidProfileName) { try Self.edit("", "a b") }
        #expect(throws: CredentialsFileEditor.EditError.valueNotRepresentable(key: "k")) { try Self.edit("", "dev", [Property("k", "a\nb")]) }
    }
}
