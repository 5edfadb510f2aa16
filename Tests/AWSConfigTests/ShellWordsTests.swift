import AWSConfig
import Testing

@Suite("Shell words: a credential_process value split as /bin/sh splits it")
struct ShellWordsTests {
    @Test(
        "Blanks separate; quotes and backslashes keep what they hold",
        arguments: [
            ("latchkey credential-process --profile dev", ["latchkey", "credential-process", "--profile", "dev"]),
            ("  a\tb\nc  ", ["a", "b", "c"]),
            ("latchkey --reader \"Yubico YubiKey OTP+FIDO+CCID 00 00\"", ["latchkey", "--reader", "Yubico YubiKey OTP+FIDO+CCID 00 00"]),
            ("'/opt/my apps/latchkey' x", ["/opt/my apps/latchkey", "x"]),
            ("a'b c'd", ["ab cd"]),
            ("'' \"\"", ["", ""]),
            ("'it'\\''s'", ["it's"]),
            ("d\\ ev", ["d ev"]),
            ("a\\\nb", ["ab"]),
            ("\"a\\\"b\\\\c\\$d\\`e\\nf\"", ["a\"b\\c$d`e\\nf"]),
            ("\"a\\\nb\"", ["ab"]),
            ("'a\\b'", ["a\\b"]),
            ("$HOME/bin/latchkey ~/x", ["$HOME/bin/latchkey", "~/x"]),
            ("", []),
        ])
    func words(_ command: String, _ expected: [String]) {
        #expect(ShellWords.split(command) == expected)
    }

    @Test("An open quote, or a backslash at the end, is no command", arguments: ["'a", "\"a", "a\\", "\"a\\", "x 'y\"z"])
    func unfinished(_ command: String) {
        #expect(ShellWords.split(command) == nil)
    }

    @Test("A quote with a combining mark after it is still a quote: the shell reads bytes")
    func combiningMark() {
        #expect(ShellWords.split("'\u{301}a b'") == ["\u{301}a b"])
        #expect(ShellWords.split("\"x\"\u{301}") == ["x\u{301}"])
    }

    @Test("join quotes words so that split gives them back")
    func roundTrip() {
        let words = ["", "a b", "it's", "\"", "\\", "$x", "'", "\u{301}'", "tab\there", "line\nbreak"]
        #expect(ShellWords.split(ShellWords.join(words)) == words)
        #expect(ShellWords.split(ShellWords.join([])) == [])
    }
}
