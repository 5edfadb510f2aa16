import Foundation
import TestSupport
import Testing

@testable import AWSConfig

@Suite("Credentials file editor")
struct CredentialsFileEditorTests {
    typealias Property = CredentialsFileEditor.Property

    static let newValues = [
        Property("aws_access_key_id", "ASIANEW"), Property("aws_secret_access_key", "newsecret/+="),
        Property("aws_session_token", "newtoken=="),
    ]

    static func edit(_ text: String, _ name: String = "target", _ properties: [Property] = newValues) throws -> String {
        String(
            decoding: try CredentialsFileEditor.replacingSection(named: name, with: properties, in: Array(text.utf8)),
            as: UTF8.self)
    }

    static let busyFile = """
        # Credentials for everything.   
        ; written by hand, keep this comment

        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = defaultsecret   # trailing comment
        \t
        [other]   ; a comment after the header
        aws_access_key_id=AKIAOTHER
        region = eu-west-1
          continued

        # the section to replace comes next
        [target]  # keep this header comment
        aws_access_key_id = ASIAOLD
        # a comment between properties
        aws_secret_access_key = oldsecret
        aws_session_token = oldtoken
          oldtoken-continued
        ; comment after the section, before the next one

        [after]
        x = 1
        # last line has no newline
        """

    @Test("Only section [target] changes; every byte before and after it is kept")
    func preservesEverythingElse() throws {
        let edited = try Self.edit(Self.busyFile)
        let headerStart = try #require(Self.busyFile.range(of: "[target]"))
        let afterOld = try #require(Self.busyFile.range(of: "  oldtoken-continued\n"))
        let expected =
            String(Self.busyFile[..<headerStart.lowerBound])
            + "[target]  # keep this header comment\n"
            + "aws_access_key_id = ASIANEW\naws_secret_access_key = newsecret/+=\naws_session_token = newtoken==\n"
            + String(Self.busyFile[afterOld.upperBound...])
        #expect(edited == expected)
    }

    @Test("The edited file parses to the new values with every other profile unchanged")
    func reparses() throws {
        let before = try parse(credentials: Self.busyFile)
        let after = try parse(credentials: try Self.edit(Self.busyFile))
        #expect(
            after.profile(named: "target")?.properties == [
                "aws_access_key_id": .text("ASIANEW"), "aws_secret_access_key": .text("newsecret/+="),
                "aws_session_token": .text("newtoken=="),
            ])
        for name in ["default", "other", "after"] {
            #expect(after.profile(named: name) == before.profile(named: name))
        }
    }

    @Test("A missing section is appended after one blank line, whatever the file's ending")
    func appends() throws {
        let section =
            "[target]\naws_access_key_id = ASIANEW\naws_secret_access_key = newsecret/+=\naws_session_token = newtoken==\n"
        #expect(try Self.edit("") == section)
        #expect(try Self.edit("[a]\nx = 1\n") == "[a]\nx = 1\n\n" + section)
        #expect(try Self.edit("[a]\nx = 1") == "[a]\nx = 1\n\n" + section)
        #expect(try Self.edit("[a]\nx = 1\n\n") == "[a]\nx = 1\n\n" + section)
        #expect(try Self.edit("[a]\nx = 1\n\n\n") == "[a]\nx = 1\n\n\n" + section)
        #expect(try Self.edit("# only a comment") == "# only a comment\n\n" + section)
        // [profile target] is not the credentials-file section [target].
        #expect(try Self.edit("[profile target]\nx = 1\n") == "[profile target]\nx = 1\n\n" + section)
    }

    @Test("CRLF files stay CRLF, new lines included, and other bytes are untouched")
    func crlf() throws {
        let file = "# c\r\n[a]\r\nx = 1\r\n\r\n[target]\r\nold = 1\r\n\r\n[b]\r\ny = 2\r\n"
        #expect(
            try Self.edit(file, "target", [Property("k", "v")])
                == "# c\r\n[a]\r\nx = 1\r\n\r\n[target]\r\nk = v\r\n\r\n[b]\r\ny = 2\r\n")
        #expect(
            try Self.edit("[a]\r\nx = 1\r\n", "new", [Property("k", "v")]) == "[a]\r\nx = 1\r\n\r\n[new]\r\nk = v\r\n")
        #expect(try Self.edit("[a]\r\nx = 1", "new", [Property("k", "v")]) == "[a]\r\nx = 1\r\n\r\n[new]\r\nk = v\r\n")
    }

    @Test("A section at the end without a final newline, or with only a header, is rewritten cleanly")
    func edges() throws {
        #expect(
            try Self.edit("[a]\nx = 1\n[target]\nold = 1", "target", [Property("k", "v")])
                == "[a]\nx = 1\n[target]\nk = v\n")
        #expect(try Self.edit("[target]", "target", [Property("k", "v")]) == "[target]\nk = v\n")
        #expect(
            try Self.edit("[ target ]\n# trailing\n", "target", [Property("k", "v")])
                == "[ target ]\nk = v\n# trailing\n")
        #expect(try Self.edit("[target]\nold = 1\n", "target", []) == "[target]\n")
    }

    @Test("A repeated [target] section is removed so its stale values cannot win")
    func duplicates() throws {
        let file = "[target]\nold = 1\n\n[a]\nx = 1\n\n[target]\naws_session_token = stale\n# tail\n[b]\ny = 2\n"
        let edited = try Self.edit(file, "target", [Property("aws_session_token", "fresh")])
        #expect(edited == "[target]\naws_session_token = fresh\n\n[a]\nx = 1\n\n# tail\n[b]\ny = 2\n")
        #expect(try parse(credentials: edited).profile(named: "target")?["aws_session_token"] == "fresh")
    }

    @Test("Sections can be removed, leaving the rest intact")
    func removal() {
        let file = Array("[a]\nx = 1\n\n[target]\nk = v\n# kept\n[b]\ny = 2\n".utf8)
        #expect(
            String(decoding: CredentialsFileEditor.removingSection(named: "target", in: file), as: UTF8.self)
                == "[a]\nx = 1\n\n# kept\n[b]\ny = 2\n")
        #expect(CredentialsFileEditor.removingSection(named: "absent", in: file) == file)
    }

    @Test("Names, keys and values that would not read back are refused")
    func refusals() throws {
        #expect(throws: CredentialsFileEditor.EditError.invalidProfileName) { try Self.edit("", "in valid") }
        #expect(throws: CredentialsFileEditor.EditError.invalidProfileName) { try Self.edit("", "") }
        #expect(throws: CredentialsFileEditor.EditError.invalidProfileName) { try Self.edit("", "a]b") }
        #expect(throws: CredentialsFileEditor.EditError.invalidKey("bad key")) {
            try Self.edit("", "t", [Property("bad key", "v")])
        }
        for value in ["a\nb", "a\rb", " lead", "trail\t", "x #comment", "x\t;comment"] {
            #expect(throws: CredentialsFileEditor.EditError.valueNotRepresentable(key: "k")) {
                try Self.edit("", "t", [Property("k", value)])
            }
        }
        #expect(try Self.edit("", "t", [Property("k", "a#b;c = d")]) == "[t]\nk = a#b;c = d\n")
        #expect(!CredentialsFileEditor.EditError.valueNotRepresentable(key: "k").description.contains("\n"))
    }

    @Test("Random files: the target gets exactly the new values, other profiles parse as before, bytes outside stay")
    func randomFiles() throws {
        var random = SplitMix64(seed: 0xED17_0001)
        let names = ["target", "a", "b", "default"]
        let lineKinds = [
            "[NAME]", "[NAME] # c", "k = v", "key2 = value two", "  continued", "# comment", "; comment",
            "", "   ", "aws_session_token = tok",
        ]
        var checked = 0
        for _ in 0..<2000 {
            let crlf = Bool.random(using: &random)
            var lines: [String] = []
            for _ in 0..<Int.random(in: 0...14, using: &random) {
                let kind = lineKinds.randomElement(using: &random) ?? ""
                lines.append(kind.replacingOccurrences(of: "NAME", with: names.randomElement(using: &random) ?? "a"))
            }
            var text = lines.joined(separator: crlf ? "\r\n" : "\n")
            if Bool.random(using: &random) && !text.isEmpty { text += crlf ? "\r\n" : "\n" }
            guard let before = try? parse(credentials: text) else { continue }
            let edited = try Self.edit(text, "target", [Property("aws_session_token", "new"), Property("x", "1")])
            let after = try parse(credentials: edited)
            #expect(
                after.profile(named: "target")?.properties == ["aws_session_token": .text("new"), "x": .text("1")],
                "\(text.debugDescription)")
            for name in names where name != "target" {
                #expect(after.profile(named: name) == before.profile(named: name), "\(text.debugDescription)")
            }
            if !text.contains("[target]") {
                #expect(edited.hasPrefix(text))
            } else if let header = text.range(of: "[target]") {
                #expect(edited.hasPrefix(String(text[..<header.lowerBound])))
            }
            if crlf && text.contains("\r\n") {
                #expect(!edited.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "\(text.debugDescription)")
            }
            checked += 1
        }
        #expect(checked > 500)
    }

    @Test("settingProperties changes the key id and secret of [target] in place, keeps its other lines, and edits the last of two sections")
    func settingInPlace() throws {
        let properties = [Property("aws_access_key_id", "AKIANEW"), Property("aws_secret_access_key", "new/secret+")]
        let edited = String(
            decoding: try CredentialsFileEditor.settingProperties(properties, inSection: "target", in: Array(Self.busyFile.utf8)),
            as: UTF8.self)
        let expected = Self.busyFile
            .replacingOccurrences(of: "aws_access_key_id = ASIAOLD", with: "aws_access_key_id = AKIANEW")
            .replacingOccurrences(of: "aws_secret_access_key = oldsecret", with: "aws_secret_access_key = new/secret+")
        #expect(edited == expected)

        let twice = "[target]\r\naws_access_key_id = A1\r\n\r\n[target]\r\nregion = x\r\n"
        let set = String(
            decoding: try CredentialsFileEditor.settingProperties(properties, inSection: "target", in: Array(twice.utf8)), as: UTF8.self)
        #expect(set == "[target]\r\naws_access_key_id = A1\r\n\r\n[target]\r\nregion = x\r\naws_access_key_id = AKIANEW\r\naws_secret_access_key = new/secret+\r\n")
        let added = String(
            decoding: try CredentialsFileEditor.settingProperties(properties, inSection: "new", in: Array("[a]\nx = 1\n".utf8)), as: UTF8.self)
        #expect(added == "[a]\nx = 1\n\n[new]\naws_access_key_id = AKIANEW\naws_secret_access_key = new/secret+\n")
        #expect(throws: CredentialsFileEditor.EditError.self) {
            try CredentialsFileEditor.settingProperties([Property("aws_secret_access_key", "a #b")], inSection: "target", in: [])
        }
    }
}
