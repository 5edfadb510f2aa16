import Testing

@testable import AWSConfig

/// Inputs the `shared-config` fuzz target (`scripts/fuzz shared-config`)
/// found, kept as they were found. Each is also a seed in
/// `Fuzz/corpus/shared-config/`, so every fuzz run replays it.
@Suite("Fuzz findings: shared config and credentials files")
struct FuzzRegressionTests {
    typealias Property = CredentialsFileEditor.Property

    static let newValues = [
        Property("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        Property("aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
    ]

    static func credentialsProfiles(_ file: [UInt8]) throws -> [String: ConfigSection] {
        try SharedConfig.parse(config: nil, configPath: "config", credentials: file, credentialsPath: "credentials")
            .credentialsFileProfiles
    }

    static func properties(_ values: [Property]) -> [String: ConfigValue] {
        Dictionary(uniqueKeysWithValues: values.map { ($0.key, ConfigValue.text($0.value)) })
    }

    // Found by the seed `config-and-credentials-bom`; fixed in
    // `CredentialsFileEditor.Line.split`.
    static let bomFile = Array(
        "\u{FEFF}[fuzz]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key = old\nregion = eu-west-1\n\n[other]\nregion = us-east-1\n"
            .utf8)

    @Test("A [NAME] right after a byte order mark is the section the editor rewrites, not a second [NAME] appended")
    func rewritesSectionAfterByteOrderMark() throws {
        let rewritten = try CredentialsFileEditor.replacingSection(named: "fuzz", with: Self.newValues, in: Self.bomFile)
        let profiles = try Self.credentialsProfiles(rewritten)
        #expect(profiles["fuzz"]?.properties == Self.properties(Self.newValues), "the old key and region are gone")
        #expect(profiles["other"] == (try Self.credentialsProfiles(Self.bomFile))["other"])
        #expect(rewritten.starts(with: [0xEF, 0xBB, 0xBF]), "the byte order mark stays")
        #expect(String(decoding: rewritten, as: UTF8.self).components(separatedBy: "[fuzz]").count == 2, "one [fuzz] header")
    }

    @Test("Removing the [NAME] right after a byte order mark removes it")
    func removesSectionAfterByteOrderMark() throws {
        let removed = CredentialsFileEditor.removingSection(named: "fuzz", in: Self.bomFile)
        let profiles = try Self.credentialsProfiles(removed)
        #expect(profiles["fuzz"] == nil)
        #expect(profiles["other"] != nil)
    }

    // Found by the fuzzer (crash-cb0a3050…): a credentials file whose first
    // line ends in CRLF and whose last line is a lone CR without LF. The
    // editor completed the last line with a whole CRLF, and the parser strips
    // one CR only, so "\r\r\n" left a line holding "\r". Fixed in
    // `CredentialsFileEditor`: a lone CR at the end is a terminator's half.
    static let loneCRFile: [UInt8] = [0x3B, 0x0D, 0x0A, 0x0D]  // ";\r\n\r"

    @Test("A credentials file ending in a lone CR parses before and after a profile is appended")
    func appendsAfterLoneCarriageReturn() throws {
        #expect(try Self.credentialsProfiles(Self.loneCRFile).isEmpty)
        let rewritten = try CredentialsFileEditor.replacingSection(named: "latchkey-fuzz", with: Self.newValues, in: Self.loneCRFile)
        #expect(try Self.credentialsProfiles(rewritten)["latchkey-fuzz"]?.properties == Self.properties(Self.newValues))
        #expect(rewritten.starts(with: Self.loneCRFile + [0x0A]), "the CR is completed with an LF, the rest kept")
    }

    @Test("A last line [NAME] ending in a lone CR is rewritten into a file that parses")
    func rewritesHeaderEndingInLoneCarriageReturn() throws {
        let file = Array("[b]\r\nregion = us-east-1\r\n[a]\r".utf8)
        #expect(try Self.credentialsProfiles(file)["a"] != nil)
        let rewritten = try CredentialsFileEditor.replacingSection(named: "a", with: Self.newValues, in: file)
        #expect(try Self.credentialsProfiles(rewritten)["a"]?.properties == Self.properties(Self.newValues))
        #expect(try Self.credentialsProfiles(rewritten)["b"] == (try Self.credentialsProfiles(file))["b"])
    }

    // The config editor shares the line reading; the same lone CR, after a
    // header or a property it rewrites, must not become "\r\r\n" either.
    @Test("The config editor adds to and rewrites profiles whose last line ends in a lone CR")
    func configEditorAfterLoneCarriageReturn() throws {
        let mfa = [ConfigFileEditor.Property("mfa_serial", "arn:aws:iam::123456789012:mfa/alice")]
        for text in ["[profile a]\r\nregion = us-east-1\r", "[profile a]\r", "[profile a]\r\nmfa_serial = old\r"] {
            let edited = try ConfigFileEditor.settingProperties(mfa, inProfile: "a", in: Array(text.utf8))
            let profiles = try SharedConfig.parse(config: edited, configPath: "config", credentials: nil, credentialsPath: "credentials")
                .configFileProfiles
            #expect(profiles["a"]?.properties["mfa_serial"] == .text("arn:aws:iam::123456789012:mfa/alice"), "\(text.debugDescription)")
            #expect(!String(decoding: edited, as: UTF8.self).contains("\r\r"), "\(text.debugDescription)")
        }
    }
}
