/// A small XML reader for AWS query-protocol responses.
///
///     <?xml version="1.0" encoding="UTF-8"?>
///     <GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
///       <GetSessionTokenResult><Credentials>…</Credentials></GetSessionTokenResult>
///       <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
///     </GetSessionTokenResponse>
///
/// It reads elements and their character data: the five predefined entities
/// (`&lt; &gt; &amp; &quot; &apos;`), numeric character references, CDATA
/// sections, comments and processing instructions (the `<?xml …?>` prolog).
/// Namespace prefixes are dropped from names and attributes are checked for
/// shape and ignored. A DOCTYPE is refused, so there are no user-defined
/// entities to expand.
///
/// The parser is a loop over the bytes with an explicit stack (no
/// recursion), bounded in input size, nesting depth and element count, and
/// checks every index against what is left: no input can make it trap.
public enum XML {
    /// An element: its local name, child elements and the character data
    /// directly inside it (CDATA included), in document order.
    public struct Element: Sendable, Equatable {
        public var name: String
        public var children: [Element]
        public var text: String

        public init(name: String, children: [Element] = [], text: String = "") {
            self.name = name
            self.children = children
            self.text = text
        }

        /// The first child called `name`.
        public func child(_ name: String) -> Element? { children.first { $0.name == name } }

        /// Every child called `name`.
        public func children(named name: String) -> [Element] { children.filter { $0.name == name } }

        /// Follows a path of child names: `element["Credentials", "AccessKeyId"]`.
        public subscript(path: String...) -> Element? {
            var current: Element? = self
            for name in path { current = current?.child(name) }
            return current
        }

        /// The first element called `name` at any depth (this one included),
        /// depth-first in document order.
        public func firstDescendant(named name: String) -> Element? {
            var pending: [Element] = [self]
            while let element = pending.popLast() {
                if element.name == name { return element }
                pending.append(contentsOf: element.children.reversed())
            }
            return nil
        }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Reason: Sendable, Equatable {
            case tooLarge
            case tooDeep
            case tooManyElements
            case noRootElement
            case multipleRootElements
            case textOutsideRoot
            case unterminatedMarkup
            case invalidName
            case malformedTag
            case mismatchedEndTag
            case unclosedElement
            case doctypeNotSupported
            case invalidEntity
            case invalidUTF8
        }

        public var reason: Reason
        /// Byte offset in the input where the problem was found.
        public var offset: Int

        public var description: String { "malformed XML at byte \(offset): \(reason)" }
    }

    public static let maximumSize = 4 << 20
    public static let maximumDepth = 64
    public static let maximumElements = 200_000

    /// Parses a whole document and returns its root element.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> Element {
        var parser = Parser(bytes[...])
        return try parser.document()
    }
}

extension XML {
    /// An element being read: its qualified name (to match the end tag) and
    /// what has been collected so far.
    private struct OpenElement {
        var qualifiedName: ArraySlice<UInt8>
        var element: Element
        var text: [UInt8] = []
    }

    private struct Parser {
        let all: ArraySlice<UInt8>
        var rest: ArraySlice<UInt8>
        var stack: [OpenElement] = []
        var root: Element?
        var elementCount = 0

        init(_ bytes: ArraySlice<UInt8>) {
            all = bytes
            rest = bytes
        }

        var offset: Int { rest.startIndex - all.startIndex }

        func fail(_ reason: ParseError.Reason) -> ParseError { ParseError(reason: reason, offset: offset) }

        mutating func document() throws(ParseError) -> Element {
            guard all.count <= XML.maximumSize else { throw fail(.tooLarge) }
            if rest.starts(with: [0xEF, 0xBB, 0xBF]) { rest = rest.dropFirst(3) }
            while let byte = rest.first {
                if byte == UInt8(ascii: "<") {
                    try markup()
                } else {
                    try characterData()
                }
            }
            guard stack.isEmpty else { throw fail(.unclosedElement) }
            guard let root else { throw fail(.noRootElement) }
            return root
        }

        // MARK: - Markup

        mutating func markup() throws(ParseError) {
            if rest.starts(with: Self.processingStart) {
                try skip(past: Self.processingEnd)
            } else if rest.starts(with: Self.commentStart) {
                try skip(past: Self.commentEnd)
            } else if rest.starts(with: Self.cdataStart) {
                guard !stack.isEmpty else { throw fail(.textOutsideRoot) }
                rest = rest.dropFirst(Self.cdataStart.count)
                guard let end = Self.find(Self.cdataEnd, in: rest) else { throw fail(.unterminatedMarkup) }
                stack[stack.count - 1].text += rest[..<end]
                rest = rest[(end + Self.cdataEnd.count)...]
            } else if rest.starts(with: [UInt8(ascii: "<"), UInt8(ascii: "!")]) {
                throw fail(.doctypeNotSupported)
            } else if rest.starts(with: [UInt8(ascii: "<"), UInt8(ascii: "/")]) {
                try endTag()
            } else {
                try startTag()
            }
        }

        mutating func skip(past terminator: [UInt8]) throws(ParseError) {
            guard let end = Self.find(terminator, in: rest) else { throw fail(.unterminatedMarkup) }
            rest = rest[(end + terminator.count)...]
        }

        mutating func startTag() throws(ParseError) {
            rest = rest.dropFirst()  // "<"
            let name = try self.name()
            guard root == nil else { throw fail(.multipleRootElements) }
            guard stack.count < XML.maximumDepth else { throw fail(.tooDeep) }
            elementCount += 1
            guard elementCount <= XML.maximumElements else { throw fail(.tooManyElements) }

            var selfClosing = false
            while true {
                let hadSpace = skipWhitespace()
                guard let byte = rest.first else { throw fail(.unterminatedMarkup) }
                if byte == UInt8(ascii: ">") {
                    rest = rest.dropFirst()
                    break
                }
                if byte == UInt8(ascii: "/") {
                    rest = rest.dropFirst()
                    guard rest.first == UInt8(ascii: ">") else { throw fail(.malformedTag) }
                    rest = rest.dropFirst()
                    selfClosing = true
                    break
                }
                guard hadSpace else { throw fail(.malformedTag) }
                try attribute()
            }
            let open = OpenElement(qualifiedName: name, element: Element(name: Self.localName(name)))
            stack.append(open)
            if selfClosing { try close() }
        }

        /// `name = "value"` or `name='value'`; the value is not kept.
        mutating func attribute() throws(ParseError) {
            _ = try name()
            skipWhitespace()
            guard rest.first == UInt8(ascii: "=") else { throw fail(.malformedTag) }
            rest = rest.dropFirst()
            skipWhitespace()
            guard let quote = rest.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw fail(.malformedTag)
            }
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(of: quote) else { throw fail(.unterminatedMarkup) }
            guard !rest[..<end].contains(UInt8(ascii: "<")) else { throw fail(.malformedTag) }
            rest = rest[(end + 1)...]
        }

        mutating func endTag() throws(ParseError) {
            rest = rest.dropFirst(2)  // "</"
            let name = try self.name()
            skipWhitespace()
            guard rest.first == UInt8(ascii: ">") else { throw fail(.malformedTag) }
            rest = rest.dropFirst()
            guard let open = stack.last, open.qualifiedName.elementsEqual(name) else {
                throw fail(.mismatchedEndTag)
            }
            try close()
        }

        /// Finishes the innermost open element.
        mutating func close() throws(ParseError) {
            guard var open = stack.popLast() else { throw fail(.mismatchedEndTag) }
            guard let text = String(validating: open.text, as: UTF8.self) else { throw fail(.invalidUTF8) }
            open.element.text = text
            if stack.isEmpty {
                root = open.element
            } else {
                stack[stack.count - 1].element.children.append(open.element)
            }
        }

        /// A tag or attribute name: bytes up to whitespace, `/`, `>` or `=`.
        mutating func name() throws(ParseError) -> ArraySlice<UInt8> {
            let end =
                rest.firstIndex {
                    Self.isWhitespace($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ">")
                        || $0 == UInt8(ascii: "=")
                } ?? rest.endIndex
            let name = rest[..<end]
            guard !name.isEmpty,
                name.allSatisfy({ $0 >= 0x80 || Self.isNameByte($0) }),
                let first = name.first, first >= 0x80 || !Self.isDigitOrPunctuationStart(first),
                String(validating: name, as: UTF8.self) != nil
            else { throw fail(.invalidName) }
            rest = rest[end...]
            return name
        }

        // MARK: - Character data

        mutating func characterData() throws(ParseError) {
            let end = rest.firstIndex(of: UInt8(ascii: "<")) ?? rest.endIndex
            var run = rest[..<end]
            guard !stack.isEmpty else {
                guard run.allSatisfy(Self.isWhitespace) else { throw fail(.textOutsideRoot) }
                rest = rest[end...]
                return
            }
            var decoded: [UInt8] = []
            decoded.reserveCapacity(run.count)
            while let ampersand = run.firstIndex(of: UInt8(ascii: "&")) {
                decoded += run[..<ampersand]
                let afterAmpersand = run[(ampersand + 1)...]
                guard let semicolon = afterAmpersand.prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                    rest = run[ampersand...]
                    throw fail(.invalidEntity)
                }
                guard let scalar = Self.entity(afterAmpersand[..<semicolon]) else {
                    rest = run[ampersand...]
                    throw fail(.invalidEntity)
                }
                decoded += Array(String(Character(scalar)).utf8)
                run = run[(semicolon + 1)...]
            }
            decoded += run
            stack[stack.count - 1].text += decoded
            rest = rest[end...]
        }

        /// The character an entity or character reference (between `&` and
        /// `;`) stands for, when it is one XML allows.
        static func entity(_ body: ArraySlice<UInt8>) -> Unicode.Scalar? {
            switch Array(body) {
            case Array("lt".utf8): return "<"
            case Array("gt".utf8): return ">"
            case Array("amp".utf8): return "&"
            case Array("quot".utf8): return "\""
            case Array("apos".utf8): return "'"
            default: break
            }
            guard body.first == UInt8(ascii: "#") else { return nil }
            var digits = body.dropFirst()
            var radix: UInt32 = 10
            if digits.first == UInt8(ascii: "x") {
                radix = 16
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty, digits.count <= 8 else { return nil }
            var value: UInt32 = 0
            for byte in digits {
                guard let digit = hexValue(byte), digit < radix else { return nil }
                value = value * radix + digit  // at most 8 hex digits: fits in UInt32
            }
            guard
                value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
                    || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
            else { return nil }
            return Unicode.Scalar(value)
        }

        // MARK: - Bytes

        @discardableResult
        mutating func skipWhitespace() -> Bool {
            let before = rest.count
            while let byte = rest.first, Self.isWhitespace(byte) { rest = rest.dropFirst() }
            return rest.count != before
        }

        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }

        /// ASCII bytes allowed in names: letters, digits, `_ : - .`.
        static func isNameByte(_ byte: UInt8) -> Bool {
            (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".")
        }

        /// Bytes that may not start a name: digits, `-` and `.`.
        static func isDigitOrPunctuationStart(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case 0x30...0x39: UInt32(byte - 0x30)
            case 0x61...0x66: UInt32(byte - 0x61 + 10)
            case 0x41...0x46: UInt32(byte - 0x41 + 10)
            default: nil
            }
        }

        /// The part of a qualified name after its prefix (`sts:Arn` → `Arn`).
        static func localName(_ name: ArraySlice<UInt8>) -> String {
            let local = name.lastIndex(of: UInt8(ascii: ":")).map { name[($0 + 1)...] } ?? name
            return String(decoding: local.isEmpty ? name : local, as: UTF8.self)
        }

        /// The index where `needle` starts in `haystack`, if it does.
        static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
            guard let first = needle.first else { return haystack.startIndex }
            var search = haystack
            while let candidate = search.firstIndex(of: first) {
                if haystack[candidate...].starts(with: needle) { return candidate }
                search = haystack[(candidate + 1)...]
            }
            return nil
        }

        static let processingStart = Array("<?".utf8)
        static let processingEnd = Array("?>".utf8)
        static let commentStart = Array("<!--".utf8)
        static let commentEnd = Array("-->".utf8)
        static let cdataStart = Array("<![CDATA[".utf8)
        static let cdataEnd = Array("]]>".utf8)
    }
}
