/// The agent's framing: each message is a 4-byte big-endian length, then
/// that many bytes of JSON. One request and one reply per connection.
///
///     00 00 00 2a  {"v":1,"op":"credentials","host":"devbox-3",...}
public enum AgentFrame {
    /// The largest body either side accepts. A reply with a role session is
    /// under 4 KiB; anything near this is garbage or an attack.
    public static let maximumBodyBytes = 64 << 10
    public static let headerBytes = 4

    /// `body` with its length in front.
    public static func encode(_ body: [UInt8]) -> [UInt8] {
        precondition(body.count <= maximumBodyBytes, "an agent frame body is at most 64 KiB")
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + body
    }

    /// The body length a header announces; an error for zero or too large a
    /// length, before any of the body is read.
    public static func bodyLength(header: ArraySlice<UInt8>) throws(AgentProtocolError) -> Int {
        guard header.count == headerBytes else { throw .truncated }
        let length = header.reduce(0) { ($0 << 8) | Int($1) }
        guard length > 0 else { throw .emptyFrame }
        guard length <= maximumBodyBytes else { throw .oversized(length) }
        return length
    }

    /// Reads one frame from `bytes` (a whole message as received); the body.
    /// Bytes after the frame are an error: one message per direction.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(AgentProtocolError) -> ArraySlice<UInt8> {
        let length = try bodyLength(header: bytes.prefix(headerBytes))
        let body = bytes.dropFirst(headerBytes)
        guard body.count >= length else { throw .truncated }
        guard body.count == length else { throw .trailingBytes }
        return body
    }
}

/// What is wrong with bytes that came over the agent's socket.
public enum AgentProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case emptyFrame
    case oversized(Int)
    case trailingBytes
    /// Not JSON, or not the fields a message has.
    case malformed(String)
    /// The other side speaks a version this one does not.
    case unsupportedVersion(Int)

    public var description: String {
        switch self {
        case .truncated: "the message was cut short"
        case .emptyFrame: "an empty message"
        case .oversized(let length): "a message of \(length) bytes (at most \(AgentFrame.maximumBodyBytes))"
        case .trailingBytes: "bytes after the message"
        case .malformed(let what): "a malformed message: \(what)"
        case .unsupportedVersion(let version):
            "protocol version \(version) is not spoken here (this latchkey speaks version \(AgentWire.version)); use the same latchkey release on both machines"
        }
    }
}
