import Foundation
import SystemSupport
import TestSupport
import Testing

@testable import AWSConfig

@Suite("Shared config file rules")
struct ParserTests {
    @Test("Empty or missing files have no profiles")
    func emptyFiles() throws {
        #expect(try parse().profiles.isEmpty)
        #expect(try parse(config: "", credentials: "").profiles.isEmpty)
        #expect(try parse(config: "\n\n  \t\n# only a comment\n").profiles.isEmpty)
    }

    @Test("Config sections need a prefix: [profile X] and [default] are profiles, [X] and [profileX] are ignored")
    func configPrefixes() throws {
        let config = try parse(
            config: """
                [profile foo]
                a = 1
                [default]
                b = 2
                [bar]
                c = 3
                [profilebaz]
                d = 4
                [profile\tqux]
                e = 5
                [   profile spaced    ]
                f = 6
                """)
        #expect(
            flatten(config) == [
                "foo": ["a": .text("1")], "default": ["b": .text("2")], "qux": ["e": .text("5")],
                "spaced": ["f": .text("6")],
            ])
    }

    @Test("Credentials sections are bare names: [profile X] there is ignored, [sso-sessionX] is a profile")
    func credentialsSections() throws {
        let config = try parse(
            credentials: """
                [foo]
                a = 1
                [profile bar]
                b = 2
                [   spaced    ]
                c = 3
                [sso-sessionfoo]
                d = 4
                """)
        #expect(
            flatten(config) == [
                "foo": ["a": .text("1")], "spaced": ["c": .text("3")], "sso-sessionfoo": ["d": .text("4")],
            ])
        #expect(config.ssoSessions.isEmpty)
    }

    @Test("Profile names allow letters, digits and - / . % @ _ : +; other names are ignored with their properties")
    func profileNames() throws {
        let config = try parse(
            config: """
                [profile some-thing:long/the_one%only.foo@bar+]
                a = 1
                [profile foo!bar]
                b = 2
                [profile in valid]
                c = 3
                  continued
                [profile ok]
                d = 4
                """,
            credentials: "[in valid 2]\ne = 5\n[ok]\nf = 6")
        #expect(
            flatten(config) == [
                "some-thing:long/the_one%only.foo@bar+": ["a": .text("1")], "ok": ["d": .text("4"), "f": .text("6")],
            ])
    }

    @Test("Keys are trimmed and case-insensitive, values trimmed; '=' in a value is kept; invalid keys are ignored")
    func keysAndValues() throws {
        let config = try parse(config: "[profile foo]\nName \t=  \tval=ue \t\nEMPTY =\nin valid = x\nu = 😂\n")
        let profile = try #require(config.profile(named: "foo"))
        #expect(profile.properties == ["name": .text("val=ue"), "empty": .text(""), "u": .text("😂")])
        #expect(profile["NAME"] == "val=ue")
        #expect(profile["nAmE"] == "val=ue")
        #expect(profile.nonEmpty("empty") == nil)
    }

    @Test("A repeated key keeps the last value, case-insensitively, across repeated sections, which merge")
    func duplicates() throws {
        let config = try parse(
            config: """
                [profile foo]
                Name = first
                other = kept
                [profile bar]
                x = 1
                [profile foo]
                name = second
                NAME = third
                """)
        #expect(flatten(config)["foo"] == ["name": .text("third"), "other": .text("kept")])
    }

    @Test("Comments: # and ; at line start (also indented), right after ']', and after whitespace in a value")
    func comments() throws {
        let config = try parse(
            config: """
                # leading
                ; leading
                  # indented
                [profile foo] # after header
                a = value # comment with # sign
                b = value ; comment with ; sign
                c = value; adjacent stays
                d = value# adjacent stays
                e = #only a comment
                [profile bar]; adjacent semicolon
                [profile baz]# adjacent pound
                [profile qux];
                f = v ;
                """)
        #expect(
            flatten(config) == [
                "foo": [
                    "a": .text("value"), "b": .text("value"), "c": .text("value; adjacent stays"),
                    "d": .text("value# adjacent stays"), "e": .text(""),
                ],
                "bar": [:], "baz": [:], "qux": ["f": .text("v")],
            ])
    }

    @Test("Indented lines continue the previous value with a newline, trimmed, comment characters included")
    func continuations() throws {
        let config = try parse(
            config: """
                [profile foo]
                name = value
                 -continued
                \t -and-continued \t
                other = x
                   y # not a comment here
                """)
        #expect(
            flatten(config)["foo"] == [
                "name": .text("value\n-continued\n-and-continued"), "other": .text("x\ny # not a comment here"),
            ])
    }

    @Test("'key =' followed by indented 'k = v' lines is a sub-property block; blank lines inside are ignored")
    func subProperties() throws {
        let config = try parse(
            config: """
                [profile foo]
                s3 =
                  max_concurrent_requests = 10
                  Addressing_Style = path

                  in valid = ignored
                  empty =
                region = eu-west-1
                [services my-services]
                sts =
                  endpoint_url = http://127.0.0.1:5000
                iam =
                  endpoint_url = http://127.0.0.1:5001
                """)
        let profile = try #require(config.profile(named: "foo"))
        #expect(
            profile.subProperties("S3") == ["max_concurrent_requests": "10", "addressing_style": "path", "empty": ""])
        // The invalid name keeps the block as its text (the SDKs' rule).
        #expect(profile["s3"] == "\nmax_concurrent_requests = 10\nAddressing_Style = path\nin valid = ignored\nempty =")
        #expect(config.services(named: "my-services")?["sts"] == nil)
        #expect(profile["region"] == "eu-west-1")
        #expect(
            config.services(named: "my-services")?.subProperties("sts") == ["endpoint_url": "http://127.0.0.1:5000"])
        #expect(config.services(named: "my-services")?.subProperties("iam")?["endpoint_url"] == "http://127.0.0.1:5001")
        #expect(config.services(named: "other") == nil)
        #expect(config.profile(named: "my-services") == nil)
    }

    @Test("The SDKs' case: 's3 =' then '  in valid = value' gives s3 the text '\\nin valid = value' and no sub-properties")
    func subPropertyWithInvalidName() throws {
        let profile = try #require(try parse(config: "[profile foo]\ns3 =\n  in valid = value").profile(named: "foo"))
        #expect(profile["s3"] == "\nin valid = value")
        #expect(profile.subProperties("s3") == [:])
        #expect(profile.keys == ["s3"])
        // A block without an invalid name stays a block (no text).
        let valid = try #require(try parse(config: "[profile foo]\ns3 =\n name = value").profile(named: "foo"))
        #expect(valid["s3"] == nil && valid.subProperties("s3") == ["name": "value"])
    }

    @Test("[sso-session X] sections are kept apart from profiles")
    func ssoSessions() throws {
        let config = try parse(
            config: """
                [sso-session corp]
                sso_start_url = https://example.awsapps.com/start
                sso_region = us-east-1
                [profile dev]
                sso_session = corp
                [sso-session in valid]
                x = 1
                """)
        #expect(config.ssoSessions.keys.sorted() == ["corp"])
        #expect(config.ssoSession(named: "corp")?["sso_region"] == "us-east-1")
        #expect(flatten(config) == ["dev": ["sso_session": .text("corp")]])
    }

    @Test("[profile default] beats [default] in the config file whichever comes first")
    func defaultPrecedence() throws {
        #expect(
            flatten(try parse(config: "[profile default]\nname = value\n[default]\nname2 = value2"))
                == ["default": ["name": .text("value")]])
        #expect(
            flatten(try parse(config: "[default]\nname2 = value2\n[profile default]\nname = value"))
                == ["default": ["name": .text("value")]])
        #expect(
            flatten(
                try parse(
                    config:
                        "[profile default]\nname = value\n[default]\nname2 = value2\n[profile default]\nname3 = value3",
                    credentials: "[default]\nsecret=foo"))
                == ["default": ["name": .text("value"), "name3": .text("value3"), "secret": .text("foo")]])
        #expect(
            flatten(try parse(config: "[default]\nregion = us-east-1")) == ["default": ["region": .text("us-east-1")]])
    }

    @Test("The credentials file's values win over the config file's for the same profile; other keys merge")
    func credentialsWin() throws {
        let config = try parse(
            config: "[profile foo]\nregion = eu-west-1\naws_access_key_id = FROMCONFIG\n[profile only-config]\na = 1",
            credentials: "[foo]\naws_access_key_id = FROMCREDS\n[only-creds]\nb = 2")
        #expect(
            flatten(config) == [
                "foo": ["region": .text("eu-west-1"), "aws_access_key_id": .text("FROMCREDS")],
                "only-config": ["a": .text("1")], "only-creds": ["b": .text("2")],
            ])
        #expect(config.configFileProfiles["foo"]?["aws_access_key_id"] == "FROMCONFIG")
        #expect(config.profileNames == ["foo", "only-config", "only-creds"])
    }

    @Test("CRLF line endings and a UTF-8 byte-order mark are accepted")
    func lineEndings() throws {
        let config = try parse(config: "\u{FEFF}[profile foo]\r\nname = value\r\n s3-ish\r\n\r\n[profile bar]\r\nx = 1")
        #expect(flatten(config) == ["foo": ["name": .text("value\ns3-ish")], "bar": ["x": .text("1")]])
    }

    @Test("Malformed lines are errors naming the file and the 1-based line")
    func errors() throws {
        let cases: [(String, Int, SharedConfigError.Reason)] = [
            ("name = value", 1, .propertyOutsideSection),
            (" -continued", 1, .propertyOutsideSection),
            ("# c\n\n[profile foo", 3, .sectionMissingClosingBracket),
            ("[profile foo] junk", 1, .textAfterSectionHeader),
            ("[profile foo]\nkey : value", 2, .propertyMissingEquals),
            ("[profile foo]\n= value", 2, .propertyMissingName),
            ("[profile foo]\n -continued", 2, .continuationWithoutProperty),
            ("[profile foo]\nname = value\n[profile foo]\n -continued", 4, .continuationWithoutProperty),
            ("[profile foo]\ns3 =\n invalid", 3, .subPropertyMissingEquals),
            ("[profile foo]\ns3 =\n = value", 3, .subPropertyMissingName),
            ("[profile in valid]\nbroken line", 2, .propertyMissingEquals),
        ]
        for (text, line, reason) in cases {
            do {
                _ = try parse(config: text)
                Issue.record("accepted: \(text.debugDescription)")
            } catch {
                #expect(
                    error == SharedConfigError(path: "config", line: line, reason: reason), "\(text.debugDescription)")
                #expect(error.description.hasPrefix("config, line \(line): "))
                #expect(!error.description.contains("\n"))
            }
        }
        // The credentials file follows the same line rules.
        #expect(throws: SharedConfigError(path: "credentials", line: 2, reason: .propertyMissingEquals)) {
            try parse(credentials: "[foo]\nkey : value")
        }
        // A property under an ignored section is not an error in itself.
        #expect(try parse(config: "[foo]\nname = value").profiles.isEmpty)
    }

    @Test("An error about a line holding a secret names the file and line but never the secret")
    func errorsHideSecrets() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        let fixture = try ConfigFixture(
            credentials: "[work]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key \(secret)\n")
        do {
            _ = try fixture.load()
            Issue.record("accepted a line without '='")
        } catch {
            #expect(error.description == "\(fixture.credentialsPath), line 3: expected an '=' sign defining a property")
            #expect(!error.description.contains(secret))
            #expect(!error.description.contains("aws_secret_access_key"))
        }
    }

    @Test("A line that is not UTF-8 is an error naming its line")
    func invalidUTF8() {
        #expect(throws: SharedConfigError(path: "config", line: 2, reason: .invalidUTF8)) {
            try SharedConfig.parse(
                config: Array("[profile a]\nx = ".utf8) + [0xFF, 0xFE] + Array("\n".utf8),
                configPath: "config", credentials: nil, credentialsPath: "credentials")
        }
    }

    @Test("Files come from AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws; missing files are empty")
    func filePaths() throws {
        let fixture = try ConfigFixture(config: "[profile home]\na = 1", credentials: "[home]\nb = 2")
        #expect(flatten(try fixture.load()) == ["home": ["a": .text("1"), "b": .text("2")]])

        try fixture.write("[profile elsewhere]\nc = 3", to: fixture.home + "/other-config")
        try fixture.write("[elsewhere]\nd = 4", to: fixture.home + "/other-credentials")
        let moved = try fixture.load([
            "AWS_CONFIG_FILE": fixture.home + "/other-config", "AWS_SHARED_CREDENTIALS_FILE": "~/other-credentials",
        ])
        #expect(flatten(moved) == ["elsewhere": ["c": .text("3"), "d": .text("4")]])

        let missing = try fixture.load([
            "AWS_CONFIG_FILE": fixture.home + "/nope", "AWS_SHARED_CREDENTIALS_FILE": "~/nope2",
        ])
        #expect(missing.profiles.isEmpty)

        let paths = try #require(SharedConfigPaths(environment: Environment(["HOME": "/h", "AWS_CONFIG_FILE": ""])))
        #expect(paths == SharedConfigPaths(config: "/h/.aws/config", credentials: "/h/.aws/credentials"))
    }

    @Test("Symbolic links to config files are followed")
    func symlinks() throws {
        let fixture = try ConfigFixture()
        try fixture.write("[profile linked]\na = 1", to: fixture.home + "/real-config")
        try FileManager.default.createSymbolicLink(
            atPath: fixture.configPath, withDestinationPath: fixture.home + "/real-config")
        #expect(flatten(try fixture.load()) == ["linked": ["a": .text("1")]])
    }

    @Test("A config path that cannot be read is an error naming the file")
    func unreadable() throws {
        let fixture = try ConfigFixture()
        try FileManager.default.createDirectory(atPath: fixture.configPath, withIntermediateDirectories: true)
        do {
            _ = try fixture.load()
            Issue.record("read a directory")
        } catch {
            #expect(error.path == fixture.configPath)
            #expect(error.line == 0)
            #expect(error.description.contains(fixture.configPath))
        }
    }

    @Test("The profile is the explicit name, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else default")
    func profileSelection() {
        let both = Environment(["AWS_PROFILE": "p", "AWS_DEFAULT_PROFILE": "d"])
        #expect(SharedConfig.selectedProfileName(explicit: "x", environment: both) == "x")
        #expect(SharedConfig.selectedProfileName(environment: both) == "p")
        #expect(SharedConfig.selectedProfileName(environment: Environment(["AWS_DEFAULT_PROFILE": "d"])) == "d")
        #expect(
            SharedConfig.selectedProfileName(environment: Environment(["AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "d"]))
                == "d")
        #expect(SharedConfig.selectedProfileName(explicit: "", environment: Environment([:])) == "default")
    }

    @Test("Random byte soup never crashes the parser and errors always carry a line number within the file")
    func fuzz() {
        var random = SplitMix64(seed: 0xC0F1_6000)
        let pieces = [
            "[", "]", "profile ", "default", "sso-session ", "services ", "=", " ", "\t", "\n", "\r\n", "#",
            ";", "a", "key", "s3", "value", "x y", "\u{FEFF}", "é", "\u{0}",
        ]
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &random) {
                if Int.random(in: 0..<10, using: &random) == 0 {
                    bytes.append(UInt8.random(in: 0...255, using: &random))
                } else {
                    bytes += Array((pieces.randomElement(using: &random) ?? "").utf8)
                }
            }
            let lineCount = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
            for kind in 0..<2 {
                do {
                    _ = try SharedConfig.parse(
                        config: kind == 0 ? bytes : nil, configPath: "c",
                        credentials: kind == 1 ? bytes : nil, credentialsPath: "k")
                } catch {
                    #expect((1...lineCount).contains(error.line))
                }
            }
        }
    }
}
