/// The line grammar the AWS SDKs share for `~/.aws/config` and
/// `~/.aws/credentials` (the "shared config file" rules):
///
///     # comment                     ; comment      (also indented)
///     [profile NAME]  [default]  [sso-session NAME]  [services NAME]   (config)
///     [NAME]                                                           (credentials)
///     key = value   # comment after whitespace
///       continued value line        (indented: appended as "\nline")
///     key =
///       sub_key = sub value         (an empty value opens a sub-property block)
///
/// - A sub-property line whose name is invalid (`  in valid = value`) is kept
///   as text, as the SDKs' shared parser tests require: the property's value
///   is then the block's text, each line trimmed after a newline
///   (`"\nin valid = value"`), and ``ConfigSection/subProperties(_:)`` still
///   finds the valid lines in it.
/// - Lines end in LF or CRLF. Blank and comment lines never end a property.
/// - Section names and keys may use ASCII letters, digits and `- / . % @ _ : +`;
///   a section or key with any other character (a space) is ignored, not an
///   error. Keys are case-insensitive and stored lower-cased.
/// - `#` or `;` starts a comment at the start of a line (after any
///   indentation), right after a section's `]`, or after whitespace in a
///   property's value; inside a continuation or sub-property line it is text.
/// - In the config file a section without a known prefix (`[foo]`,
///   `[profilefoo]`) is ignored, and `[default]` is ignored when
///   `[profile default]` appears anywhere in the file. In the credentials file
///   the whole bracket text is the profile name, so `[profile foo]` (with its
///   space) is ignored.
/// - Repeated sections merge; a repeated key keeps the last value.
/// - Anything else is an error naming the line.
enum ConfigFileParser {
    enum FileKind { case config, credentials }

    struct Result {
        var profiles: [String: ConfigSection] = [:]
        var ssoSessions: [String: ConfigSection] = [:]
        var services: [String: ConfigSection] = [:]
    }

    private enum SectionKey: Hashable {
        case profile(String)
        case bareDefault
        case ssoSession(String)
        case services(String)
        case ignored
    }

    private struct CurrentProperty {
        var key: String
        /// The key is valid and the section is kept, so the value is stored.
        var stored: Bool
        /// Declared as `key =` with nothing after it: indented lines below are
        /// sub-properties rather than continuations.
        var opensBlock: Bool
        /// The block so far: its valid sub-properties, its text (each line
        /// after a newline), and whether a line had an invalid name.
        var block: [String: String] = [:]
        var blockText = ""
        var blockHasInvalidName = false
    }

    static func parse(_ bytes: [UInt8], kind: FileKind, path: String) throws(SharedConfigError) -> Result {
        var sections: [SectionKey: [String: ConfigValue]] = [:]
        var current: SectionKey?
        var property: CurrentProperty?

        var lineNumber = 0
        var rest = bytes[...]
        while !rest.isEmpty {
            lineNumber += 1
            var rawLine: ArraySlice<UInt8>
            if let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
                rawLine = rest[..<newline]
                rest = rest[(newline + 1)...]
            } else {
                rawLine = rest
                rest = rest[rest.endIndex...]
            }
            if rawLine.last == UInt8(ascii: "\r") { rawLine = rawLine.dropLast() }
            if lineNumber == 1, rawLine.starts(with: [0xEF, 0xBB, 0xBF]) { rawLine = rawLine.dropFirst(3) }
            guard let line = String(validating: rawLine, as: UTF8.self) else {
                throw SharedConfigError(path: path, line: lineNumber, reason: .invalidUTF8)
            }
            func fail(_ reason: SharedConfigError.Reason) -> SharedConfigError {
                SharedConfigError(path: path, line: lineNumber, reason: reason)
            }

            let trimmed = trim(line[...])
            if trimmed.isEmpty || trimmed.first == "#" || trimmed.first == ";" { continue }

            if line.first == "[" {
                current = try sectionKey(line, kind: kind, fail: fail)
                if let current, current != .ignored, sections[current] == nil { sections[current] = [:] }
                property = nil
            } else if line.first == " " || line.first == "\t" {
                guard let section = current else { throw fail(.propertyOutsideSection) }
                guard var open = property else { throw fail(.continuationWithoutProperty) }
                if open.opensBlock {
                    guard let (subKey, subValue) = try subProperty(trimmed, fail: fail) else { throw fail(.subPropertyMissingEquals) }
                    guard open.stored else { continue }
                    open.blockText += "\n" + trimmed
                    if isValidName(subKey) {
                        open.block[lowercasedKey(String(subKey))] = String(subValue)
                    } else {
                        open.blockHasInvalidName = true
                    }
                    sections[section]?[open.key] = open.blockHasInvalidName ? .text(open.blockText) : .subProperties(open.block)
                    property = open
                } else if open.stored, case .text(let value) = sections[section]?[open.key] {
                    sections[section]?[open.key] = .text(value + "\n" + trimmed)
                }
            } else {
                guard let section = current else { throw fail(.propertyOutsideSection) }
                guard let equals = line.firstIndex(of: "=") else { throw fail(.propertyMissingEquals) }
                let key = trim(line[..<equals])
                guard !key.isEmpty else { throw fail(.propertyMissingName) }
                let value = trim(stripComment(line[line.index(after: equals)...]))
                let stored = section != .ignored && isValidName(key)
                let lowered = lowercasedKey(String(key))
                if stored { sections[section]?[lowered] = .text(String(value)) }
                property = CurrentProperty(key: lowered, stored: stored, opensBlock: value.isEmpty)
            }
        }

        var result = Result()
        for (key, properties) in sections {
            switch key {
            case .profile(let name): result.profiles[name] = ConfigSection(name: name, properties: properties)
            case .ssoSession(let name): result.ssoSessions[name] = ConfigSection(name: name, properties: properties)
            case .services(let name): result.services[name] = ConfigSection(name: name, properties: properties)
            case .bareDefault, .ignored: break
            }
        }
        if let bare = sections[.bareDefault], result.profiles["default"] == nil {
            result.profiles["default"] = ConfigSection(name: "default", properties: bare)
        }
        return result
    }

    /// A trimmed sub-property line's name and value; `nil` without `=`.
    static func subProperty(
        _ line: Substring, fail: (SharedConfigError.Reason) -> SharedConfigError
    ) throws(SharedConfigError) -> (Substring, Substring)? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        let name = trim(line[..<equals])
        guard !name.isEmpty else { throw fail(.subPropertyMissingName) }
        return (name, trim(line[line.index(after: equals)...]))
    }

    /// The valid sub-properties in a block kept as text (see the type's
    /// notes): its `name = value` lines with valid names.
    static func subProperties(inBlockText text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = trim(line[..<equals])
            if isValidName(name) { result[lowercasedKey(String(name))] = String(trim(line[line.index(after: equals)...])) }
        }
        return result
    }

    /// Classifies a `[...]` line.
    private static func sectionKey(
        _ line: String, kind: FileKind, fail: (SharedConfigError.Reason) -> SharedConfigError
    ) throws(SharedConfigError) -> SectionKey {
        let afterOpen = line.dropFirst()
        guard let close = afterOpen.firstIndex(of: "]") else { throw fail(.sectionMissingClosingBracket) }
        let trailing = trim(afterOpen[afterOpen.index(after: close)...])
        if let first = trailing.first, first != "#", first != ";" { throw fail(.textAfterSectionHeader) }
        let inside = trim(afterOpen[..<close])

        switch kind {
        case .credentials:
            return isValidName(inside) ? .profile(String(inside)) : .ignored
        case .config:
            if inside == "default" { return .bareDefault }
            for (prefix, make) in [
                ("profile", SectionKey.profile), ("sso-session", SectionKey.ssoSession),
                ("services", SectionKey.services),
            ] as [(String, (String) -> SectionKey)] {
                guard inside.hasPrefix(prefix) else { continue }
                let afterPrefix = inside.dropFirst(prefix.count)
                guard let separator = afterPrefix.first, separator == " " || separator == "\t" else { continue }
                let name = trim(afterPrefix)
                return isValidName(name) ? make(String(name)) : .ignored
            }
            return .ignored
        }
    }

    /// Drops a `#` or `;` comment that follows whitespace.
    static func stripComment(_ value: Substring) -> Substring {
        var previous: Character = "="
        for index in value.indices {
            let character = value[index]
            if (character == "#" || character == ";") && (previous == " " || previous == "\t") {
                return value[..<index]
            }
            previous = character
        }
        return value
    }

    /// ASCII letters and digits and `- / . % @ _ : +`; not empty.
    static func isValidName(_ name: Substring) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "/"),
                    UInt8(ascii: "."), UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "_"),
                    UInt8(ascii: ":"), UInt8(ascii: "+"):
                    true
                default:
                    false
                }
            }
    }

    static func isValidName(_ name: String) -> Bool { isValidName(name[...]) }

    /// Drops spaces and tabs at both ends.
    static func trim(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
