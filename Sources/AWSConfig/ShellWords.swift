/// The words a POSIX shell splits a command into, as far as quoting goes:
/// how a `credential_process` value reads (the AWS CLI splits it as a
/// shell would; latchkey runs it with `/bin/sh -c`).
///
/// - Blanks (space, tab, newline) separate words.
/// - `'…'` keeps everything inside as it is.
/// - `"…"` keeps everything inside, except that a backslash before `"`,
///   `\`, `$` or `` ` `` stands for that character, and before a newline
///   removes both.
/// - Elsewhere a backslash keeps the next character (a newline: removed).
///
/// Nothing is expanded (`$HOME`, `~`, globs, `;`): those stay in the words
/// as they are written. Read by Unicode scalar, as the shell reads bytes: a
/// quote with a combining mark after it is still a quote.
public enum ShellWords {
    /// `command`'s words; `nil` when a quote is not closed or the command
    /// ends in a backslash (the shell refuses it, or waits for more).
    public static func split(_ command: String) -> [String]? {
        var words: [String] = []
        var word = String.UnicodeScalarView()
        // A word has begun even when it is empty so far (`''`).
        var inWord = false
        var scalars = command.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            switch scalar {
            case " ", "\t", "\n":
                if inWord { words.append(String(word)) }
                word = String.UnicodeScalarView()
                inWord = false
            case "'":
                inWord = true
                while true {
                    guard let next = scalars.next() else { return nil }
                    if next == "'" { break }
                    word.append(next)
                }
            case "\"":
                inWord = true
                while true {
                    guard let next = scalars.next() else { return nil }
                    if next == "\"" { break }
                    guard next == "\\" else {
                        word.append(next)
                        continue
                    }
                    guard let escaped = scalars.next() else { return nil }
                    switch escaped {
                    case "\"", "\\", "$", "`": word.append(escaped)
                    case "\n": break
                    default:
                        word.append(next)
                        word.append(escaped)
                    }
                }
            case "\\":
                guard let escaped = scalars.next() else { return nil }
                if escaped != "\n" {
                    word.append(escaped)
                    inWord = true
                }
            default:
                word.append(scalar)
                inWord = true
            }
        }
        if inWord { words.append(String(word)) }
        return words
    }

    /// `words` as one command that ``split(_:)`` (and a shell) reads back as
    /// them: each word in single quotes, a single quote as `'\''`.
    public static func join(_ words: [String]) -> String {
        words.map { word in
            "'" + word.unicodeScalars.split(separator: "'", omittingEmptySubsequences: false)
                .map { String($0) }.joined(separator: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
