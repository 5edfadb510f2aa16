/// Sets keys in one profile of a config file (`~/.aws/config`) and leaves
/// every other byte alone.
///
/// A config file names profiles `[profile NAME]`, except `[default]` (and
/// `[profile default]`, which wins over `[default]` when both are there;
/// REFERENCE §6). Sections for the same profile merge and later values win,
/// so the keys are set in the profile's last section: a line that already
/// sets a key (compared without case) becomes `key = value` in place, with
/// its continuation lines dropped; the other keys go after the section's
/// last property line. Other keys, comments and blank lines stay as they
/// were. Without a section for the profile one is appended after one blank
/// line. New lines take the file's line ending.
public enum ConfigFileEditor {
    public typealias Property = CredentialsFileEditor.Property

    /// `file` with `properties` set in profile `name`.
    public static func settingProperties(
        _ properties: [Property], inProfile name: String, in file: [UInt8]
    ) throws(CredentialsFileEditor.EditError) -> [UInt8] {
        try setting(properties, named: name, header: name == "default" ? "[default]" : "[profile \(name)]", in: file) { lines in
            headerMatcher(for: name, lines: lines, in: file)
        }
    }

    /// `file` with `properties` set in the last section `matcher` picks,
    /// or in a new section `header` at the end. Shared with
    /// ``CredentialsFileEditor/settingProperties(_:inSection:in:)``.
    static func setting(
        _ properties: [Property], named name: String, header: String, in file: [UInt8],
        matcher: ([CredentialsFileEditor.Line]) -> (String?) -> Bool
    ) throws(CredentialsFileEditor.EditError) -> [UInt8] {
        typealias Editor = CredentialsFileEditor
        try Editor.check(name, properties)
        let lines = Editor.Line.split(file)
        let newline = Editor.newline(lines, in: file)
        let spans = Editor.sectionSpans(lines: lines, in: file, matching: matcher(lines))
        guard let span = spans.last else {
            let body = properties.flatMap { $0.line + newline }
            return Editor.appendingSection(header, body: body, to: file, newline: newline)
        }

        var result = Array(file[..<lines[span.headerLine].end])
        var pending = properties
        var index = span.headerLine + 1
        while index < lines.count, lines[index].end <= span.end {
            let line = lines[index]
            index += 1
            guard let key = topLevelKey(line, in: file),
                let position = pending.firstIndex(where: { $0.key.lowercased() == key })
            else {
                result += file[line.start..<line.end]
                continue
            }
            result += pending[position].line + line.terminator(in: file, or: newline)
            pending.remove(at: position)
            // The old value's continuation lines go with it.
            while index < lines.count, lines[index].end <= span.end, isIndentedContent(lines[index], in: file) {
                index += 1
            }
        }
        if !pending.isEmpty { Editor.completeLastLine(&result, newline: newline) }
        for property in pending { result += property.line + newline }
        return result + file[span.end...]
    }

    /// Which bracket texts name the profile. `default` is `[profile default]`
    /// when the file has one, else `[default]`.
    static func headerMatcher(
        for name: String, lines: [CredentialsFileEditor.Line], in file: [UInt8]
    ) -> (String?) -> Bool {
        let isProfile: (String?) -> Bool = { text in
            guard let text, text.hasPrefix("profile"), let separator = text.dropFirst(7).first,
                separator == " " || separator == "\t"
            else { return false }
            return ConfigFileParser.trim(text.dropFirst(7)) == name
        }
        guard name == "default" else { return isProfile }
        let hasProfileDefault = lines.contains {
            CredentialsFileEditor.isHeader($0, in: file) && isProfile(CredentialsFileEditor.headerName($0, in: file))
        }
        return hasProfileDefault ? isProfile : { $0 == "default" }
    }

    /// The lowercased key of a `key = value` line that is not indented.
    static func topLevelKey(_ line: CredentialsFileEditor.Line, in file: [UInt8]) -> String? {
        let text = file[line.start..<line.contentEnd]
        guard let first = text.first, first != 0x20, first != 0x09, CredentialsFileEditor.isContent(line, in: file),
            let equals = text.firstIndex(of: UInt8(ascii: "="))
        else { return nil }
        return String(ConfigFileParser.trim(Substring(String(decoding: text[..<equals], as: UTF8.self)))).lowercased()
    }

    static func isIndentedContent(_ line: CredentialsFileEditor.Line, in file: [UInt8]) -> Bool {
        guard let first = file[line.start..<line.contentEnd].first else { return false }
        return (first == 0x20 || first == 0x09) && CredentialsFileEditor.isContent(line, in: file)
    }
}
