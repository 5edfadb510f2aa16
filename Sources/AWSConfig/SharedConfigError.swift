import SystemSupport

/// A shared config or credentials file that cannot be used.
///
/// Descriptions are one line and name the file and line; they never quote
/// the line, since credentials files hold secret keys.
public struct SharedConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// A property or continuation line before any `[section]` line.
        case propertyOutsideSection
        /// A `[` line without its closing `]`.
        case sectionMissingClosingBracket
        /// Text after a section's `]` that is not a comment.
        case textAfterSectionHeader
        /// A property line without `=`.
        case propertyMissingEquals
        /// A property line starting with `=`.
        case propertyMissingName
        /// An indented line with no property above it in its section.
        case continuationWithoutProperty
        /// A line of a `key =` block without `=`.
        case subPropertyMissingEquals
        /// A line of a `key =` block starting with `=`.
        case subPropertyMissingName
        /// The line is not UTF-8.
        case invalidUTF8
        /// The file could not be read.
        case unreadable(SystemError)
    }

    public var path: String
    /// 1-based; 0 when the error concerns the whole file.
    public var line: Int
    public var reason: Reason

    public init(path: String, line: Int, reason: Reason) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String {
        let location = line > 0 ? "\(path), line \(line)" : path
        switch reason {
        case .propertyOutsideSection:
            return "\(location): expected a [section] line before this property"
        case .sectionMissingClosingBracket:
            return "\(location): section line must end with ']'"
        case .textAfterSectionHeader:
            return "\(location): unexpected text after the section's ']' (comments start with # or ;)"
        case .propertyMissingEquals:
            return "\(location): expected an '=' sign defining a property"
        case .propertyMissingName:
            return "\(location): property has no name before '='"
        case .continuationWithoutProperty:
            return "\(location): indented continuation line without a property above it"
        case .subPropertyMissingEquals:
            return "\(location): expected an '=' sign defining a sub-property"
        case .subPropertyMissingName:
            return "\(location): sub-property has no name before '='"
        case .invalidUTF8:
            return "\(location): not valid UTF-8"
        case .unreadable(let error):
            return "cannot read AWS config: \(error)"
        }
    }
}
