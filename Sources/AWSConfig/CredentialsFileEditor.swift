/// Rewrites one `[NAME]` section of a credentials file and leaves every
/// other byte alone: other sections, comments, blank lines, their order,
/// whitespace and line endings.
///
/// The section runs from its `[NAME]` line to its last property or
/// continuation line; comment and blank lines after that (which usually
/// introduce the next section) stay where they are. The header line is kept
/// as written and the lines under it become `key = value`, one per property,
/// in the order given. Comments between the old properties go with them.
/// A later repeat of `[NAME]` is removed the same way, since its values would
/// otherwise override the new ones. When there is no `[NAME]`, the section is
/// appended after one blank line. New lines use the file's line ending (that
/// of its first line; LF for a new file).
///
/// The result is the new file contents; the caller writes it atomically
/// while holding a lock (`PrivateFiles.writeAtomically`).
public enum CredentialsFileEditor {
    public enum EditError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The profile name has characters the shared-config rules reject.
        case invalidProfileName
        /// A key has characters the shared-config rules reject.
        case invalidKey(String)
        /// The value would not read back as written: it holds a line break,
        /// starts or ends with a blank, or holds a blank followed by `#` or `;`.
        case valueNotRepresentable(key: String)

        public var description: String {
            switch self {
            case .invalidProfileName:
                "profile names may only use letters, digits and - / . % @ _ : +"
            case .invalidKey(let key):
                "\"\(printable(key))\" is not a valid credentials-file key"
            case .valueNotRepresentable(let key):
                "the value for \(printable(key)) cannot be written to a credentials file"
            }
        }
    }

    public struct Property: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }

        /// `key = value`, without a line ending.
        var line: [UInt8] { Array("\(key) = \(value)".utf8) }
    }

    /// `file` with section `[name]` holding exactly `properties`.
    public static func replacingSection(
        named name: String, with properties: [Property], in file: [UInt8]
    ) throws(EditError) -> [UInt8] {
        try check(name, properties)
        let lines = Line.split(file)
        let newline = newline(lines, in: file)
        var body: [UInt8] = []
        for property in properties {
            body += property.line + newline
        }

        let spans = sectionSpans(named: name, lines: lines, in: file)
        guard let first = spans.first else {
            return appendingSection("[\(name)]", body: body, to: file, newline: newline)
        }
        var result: [UInt8] = Array(file[..<first.start])
        let header = lines[first.headerLine]
        result += file[header.start..<header.contentEnd]
        result += header.terminator(in: file, or: newline)
        result += body
        var cursor = first.end
        for span in spans.dropFirst() {
            result += file[cursor..<span.start]
            cursor = span.end
        }
        result += file[cursor...]
        return result
    }

    /// `file` with `properties` set in section `[name]` and every other
    /// byte as it was: a line that sets one of the keys (compared without
    /// case) becomes `key = value` in place, other lines of the section stay
    /// (`keys rotate` changes the key id and secret and keeps the rest). In
    /// the last `[name]` section when there are several (its values win);
    /// a new section at the end when there is none.
    public static func settingProperties(
        _ properties: [Property], inSection name: String, in file: [UInt8]
    ) throws(EditError) -> [UInt8] {
        try ConfigFileEditor.setting(properties, named: name, header: "[\(name)]", in: file) { _ in { $0 == name } }
    }

    /// `file` without section `[name]` (and its repeats); unchanged when absent.
    public static func removingSection(named name: String, in file: [UInt8]) -> [UInt8] {
        let spans = sectionSpans(named: name, lines: Line.split(file), in: file)
        var result: [UInt8] = []
        var cursor = file.startIndex
        for span in spans {
            result += file[cursor..<span.start]
            cursor = span.end
        }
        return result + file[cursor...]
    }

    // MARK: - Shared with ConfigFileEditor

    static func check(_ name: String, _ properties: [Property]) throws(EditError) {
        guard ConfigFileParser.isValidName(name) else { throw .invalidProfileName }
        for property in properties {
            guard ConfigFileParser.isValidName(property.key) else { throw .invalidKey(property.key) }
            guard isRepresentable(property.value) else { throw .valueNotRepresentable(key: property.key) }
        }
    }

    /// The file's line ending: that of its first line, LF for a new file.
    static func newline(_ lines: [Line], in file: [UInt8]) -> [UInt8] {
        lines.first?.terminator(in: file) == [0x0D, 0x0A] ? [0x0D, 0x0A] : [0x0A]
    }

    /// `file` with a new section at the end, after one blank line.
    static func appendingSection(_ header: String, body: [UInt8], to file: [UInt8], newline: [UInt8]) -> [UInt8] {
        var result = file
        completeLastLine(&result, newline: newline)
        if !result.isEmpty && !endsWithBlankLine(result) { result += newline }
        return result + Array(header.utf8) + newline + body
    }

    /// Ends `bytes` with a line terminator. A last line that ends in a lone
    /// CR (the parser reads it as CRLF's first half) is completed with an LF,
    /// not given a second CR.
    static func completeLastLine(_ bytes: inout [UInt8], newline: [UInt8]) {
        if bytes.last == 0x0D {
            bytes.append(0x0A)
        } else if let last = bytes.last, last != 0x0A {
            bytes += newline
        }
    }

    // MARK: - Lines and spans

    /// One line: `start..<contentEnd` is its text, `contentEnd..<end` its
    /// terminator (CRLF, LF, or on an unterminated last line a lone CR or
    /// nothing).
    struct Line {
        var start: Int
        var contentEnd: Int
        var end: Int

        static func split(_ file: [UInt8]) -> [Line] {
            var lines: [Line] = []
            // A UTF-8 byte order mark is not part of the first line, as in
            // ConfigFileParser, so a `[NAME]` right after it is a header.
            var start = file.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            while start < file.count {
                var end = start
                while end < file.count && file[end] != 0x0A { end += 1 }
                var contentEnd = end
                // One CR before the LF, or at the very end, is part of the
                // terminator, as ConfigFileParser reads it.
                if contentEnd > start && file[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                if end < file.count { end += 1 }
                lines.append(Line(start: start, contentEnd: contentEnd, end: end))
                start = end
            }
            return lines
        }

        func terminator(in file: [UInt8]) -> ArraySlice<UInt8> { file[contentEnd..<end] }

        /// The line's terminator when it has an LF, else `newline` (for
        /// text that will follow it).
        func terminator(in file: [UInt8], or newline: [UInt8]) -> [UInt8] {
            end > contentEnd && file[end - 1] == 0x0A ? Array(file[contentEnd..<end]) : newline
        }
    }

    struct Span {
        var headerLine: Int
        var start: Int
        var end: Int
    }

    /// The byte ranges of every `[name]` section: its header through its last
    /// property or continuation line (with that line's terminator).
    static func sectionSpans(named name: String, lines: [Line], in file: [UInt8]) -> [Span] {
        sectionSpans(lines: lines, in: file) { $0 == name }
    }

    /// The byte ranges of every section whose bracket text `matches`.
    static func sectionSpans(lines: [Line], in file: [UInt8], matching matches: (String?) -> Bool) -> [Span] {
        var spans: [Span] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard isHeader(line, in: file), matches(headerName(line, in: file)) else {
                index += 1
                continue
            }
            var end = line.end
            var next = index + 1
            while next < lines.count, !isHeader(lines[next], in: file) {
                if isContent(lines[next], in: file) { end = lines[next].end }
                next += 1
            }
            spans.append(Span(headerLine: index, start: line.start, end: end))
            index = next
        }
        return spans
    }

    static func isHeader(_ line: Line, in file: [UInt8]) -> Bool {
        line.contentEnd > line.start && file[line.start] == UInt8(ascii: "[")
    }

    /// The trimmed text between `[` and the first `]`, if there is a `]`.
    static func headerName(_ line: Line, in file: [UInt8]) -> String? {
        let text = file[(line.start + 1)..<line.contentEnd]
        guard let close = text.firstIndex(of: UInt8(ascii: "]")) else { return nil }
        return String(ConfigFileParser.trim(Substring(String(decoding: text[..<close], as: UTF8.self))))
    }

    /// Not blank and not a comment.
    static func isContent(_ line: Line, in file: [UInt8]) -> Bool {
        guard let first = file[line.start..<line.contentEnd].first(where: { $0 != 0x20 && $0 != 0x09 }) else {
            return false
        }
        return first != UInt8(ascii: "#") && first != UInt8(ascii: ";")
    }

    static func endsWithBlankLine(_ bytes: [UInt8]) -> Bool {
        bytes.suffix(2) == [0x0A, 0x0A] || bytes.suffix(3) == [0x0A, 0x0D, 0x0A]
    }

    static func isRepresentable(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars)
        if let first = scalars.first, first == " " || first == "\t" { return false }
        if let last = scalars.last, last == " " || last == "\t" { return false }
        var previous: Unicode.Scalar = "="
        for scalar in scalars {
            if scalar == "\n" || scalar == "\r" { return false }
            if (scalar == "#" || scalar == ";") && (previous == " " || previous == "\t") { return false }
            previous = scalar
        }
        return true
    }
}
