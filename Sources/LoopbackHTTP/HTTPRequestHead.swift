/// The head of an HTTP/1.x request (RFC 9112 §2–5), as the credential
/// server reads it from a socket:
///
///     GET / HTTP/1.1\r\n
///     Host: 127.0.0.1:41873\r\n
///     Authorization: 3f0c…\r\n
///     \r\n
///
/// Strict on purpose: lines end in CRLF; the request line is a method of
/// upper-case letters, a target of visible ASCII and `HTTP/1.0` or
/// `HTTP/1.1`; a field is a token, a colon and a value of visible ASCII,
/// spaces and tabs (no line folding, no control bytes, no bytes above
/// 0x7E); at most ``Limits/maximumFields`` fields and
/// ``Limits/maximumHeadBytes`` bytes. A request with a body (any
/// `Content-Length` but 0, any `Transfer-Encoding`) is refused, and so are
/// bytes after the head: the server answers one bodiless request per
/// connection.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    public var target: String
    public var version: String
    /// The fields in order, names as sent.
    public var fields: [Field]

    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(method: String, target: String, version: String = "HTTP/1.1", fields: [Field] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
    }

    /// Every value of the fields named `name` (compared without case).
    public func values(named name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The head as a client sends it (what ``parse(_:limits:)`` reads back).
    public var serialized: [UInt8] {
        var text = "\(method) \(target) \(version)\r\n"
        for field in fields { text += "\(field.name): \(field.value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// How much a head may hold.
    public struct Limits: Sendable, Equatable {
        public var maximumHeadBytes: Int
        public var maximumFields: Int

        public init(maximumHeadBytes: Int = 8192, maximumFields: Int = 32) {
            self.maximumHeadBytes = maximumHeadBytes
            self.maximumFields = maximumFields
        }
    }

    /// Why a head was refused; each maps to the status the server answers.
    public enum ParseError: Error, Sendable, Equatable {
        /// No end of the head within ``Limits/maximumHeadBytes``.
        case headTooLarge
        case tooManyFields
        case malformedRequestLine
        case unsupportedVersion
        case malformedField
        /// A body was announced or bytes followed the head.
        case bodyNotAllowed

        /// The HTTP status for this refusal.
        public var status: Int {
            switch self {
            case .headTooLarge, .tooManyFields: 431
            case .unsupportedVersion: 505
            case .bodyNotAllowed: 413
            case .malformedRequestLine, .malformedField: 400
            }
        }
    }

    /// The head in `bytes` (everything read from the connection so far):
    /// `nil` while it is incomplete, an error as soon as what has arrived
    /// cannot become a valid head.
    public static func parse(_ bytes: ArraySlice<UInt8>, limits: Limits = Limits()) throws(ParseError) -> HTTPRequestHead? {
        guard let end = headEnd(in: bytes) else {
            if bytes.count >= limits.maximumHeadBytes { throw .headTooLarge }
            return nil
        }
        // `end` is the index just past the blank line.
        guard end - bytes.startIndex <= limits.maximumHeadBytes else { throw .headTooLarge }
        guard end == bytes.endIndex else { throw .bodyNotAllowed }
        var lines = splitLines(bytes[bytes.startIndex..<(end - 4)])
        guard !lines.isEmpty else { throw .malformedRequestLine }
        var head = try requestLine(lines.removeFirst())
        guard lines.count <= limits.maximumFields else { throw .tooManyFields }
        for line in lines { head.fields.append(try field(line)) }
        for length in head.values(named: "Content-Length") where length != "0" { throw .bodyNotAllowed }
        guard head.values(named: "Transfer-Encoding").isEmpty else { throw .bodyNotAllowed }
        return head
    }

    /// The index just past the first CRLF CRLF.
    static func headEnd(in bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = bytes.startIndex
        while index + 4 <= bytes.endIndex {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index + 4 }
            index += 1
        }
        return nil
    }

    /// The lines of `bytes` split at CRLF (the last line has none).
    static func splitLines(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 13, index + 1 < bytes.endIndex, bytes[index + 1] == 10 {
                lines.append(bytes[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }

    static func requestLine(_ line: ArraySlice<UInt8>) throws(ParseError) -> HTTPRequestHead {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, let method = parts.first, let target = parts.dropFirst().first, let version = parts.last,
            !method.isEmpty, method.count <= 16, method.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }),
            !target.isEmpty, target.allSatisfy(isVisible)
        else { throw .malformedRequestLine }
        let versionText = String(decoding: version, as: UTF8.self)
        guard versionText == "HTTP/1.1" || versionText == "HTTP/1.0" else {
            guard version.starts(with: Array("HTTP/".utf8)), version.allSatisfy(isVisible) else { throw .malformedRequestLine }
            throw .unsupportedVersion
        }
        return HTTPRequestHead(
            method: String(decoding: method, as: UTF8.self), target: String(decoding: target, as: UTF8.self), version: versionText)
    }

    static func field(_ line: ArraySlice<UInt8>) throws(ParseError) -> Field {
        guard let colon = line.firstIndex(of: 0x3A) else { throw .malformedField }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .malformedField }
        var value = line[(colon + 1)...]
        guard value.allSatisfy({ isVisible($0) || isBlank($0) }) else { throw .malformedField }
        while let first = value.first, isBlank(first) { value = value.dropFirst() }
        while let last = value.last, isBlank(last) { value = value.dropLast() }
        return Field(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    static func isVisible(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }
    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// RFC 9110's `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
