import FoundationEssentials

/// The agent's messages and their JSON. Field names are short and fixed;
/// every string is bounded and free of control characters (the agent logs
/// the host and the profile, and shows them in a notification).
public enum AgentWire {
    /// The protocol version this latchkey speaks. A newer client is refused
    /// with a reply saying so; a reply of a newer version is an error.
    public static let version = 1
    static let maximumTextBytes = 1024
}

/// A client's question.
public enum AgentRequest: Equatable, Sendable {
    /// A profile's credentials, made on the agent's machine.
    case credentials(CredentialsQuestion)
    /// A TOTP code for an MFA device, made on the agent's machine.
    case code(serial: String, host: String)

    public struct CredentialsQuestion: Equatable, Sendable {
        public var profile: String
        public var host: String
        public var durationSeconds: Int?
        public var refresh: Bool

        public init(profile: String, host: String, durationSeconds: Int? = nil, refresh: Bool = false) {
            self.profile = profile
            self.host = host
            self.durationSeconds = durationSeconds
            self.refresh = refresh
        }
    }

    /// The requesting host's name, as the client says (shown, never trusted).
    public var host: String {
        switch self {
        case .credentials(let question): question.host
        case .code(_, let host): host
        }
    }

    private struct Fields: Codable {
        var v: Int
        var op: String
        var host: String
        var profile: String?
        var duration: Int?
        var refresh: Bool?
        var serial: String?
    }

    public func encoded() -> [UInt8] {
        let fields: Fields = switch self {
        case .credentials(let question):
            Fields(
                v: AgentWire.version, op: "credentials", host: question.host, profile: question.profile,
                duration: question.durationSeconds, refresh: question.refresh ? true : nil)
        case .code(let serial, let host):
            Fields(v: AgentWire.version, op: "code", host: host, serial: serial)
        }
        return AgentFrame.encode(AgentJSON.encode(fields))
    }

    /// Parses a request body (the frame's payload).
    public init(body: ArraySlice<UInt8>) throws(AgentProtocolError) {
        try AgentJSON.requireVersion(body)
        let fields = try AgentJSON.decode(Fields.self, body)
        let host = try AgentJSON.text(fields.host, "host")
        switch fields.op {
        case "credentials":
            guard let profile = fields.profile else { throw .malformed("no profile") }
            if let duration = fields.duration, !(1...(7 * 86_400)).contains(duration) {
                throw .malformed("duration out of range")
            }
            self = .credentials(
                CredentialsQuestion(
                    profile: try AgentJSON.text(profile, "profile"), host: host, durationSeconds: fields.duration,
                    refresh: fields.refresh ?? false))
        case "code":
            guard let serial = fields.serial else { throw .malformed("no serial") }
            self = .code(serial: try AgentJSON.text(serial, "serial"), host: host)
        default:
            throw .malformed("unknown operation")
        }
    }
}

/// The agent's answer.
public enum AgentReply: Equatable, Sendable {
    case credentials(SessionCredentials)
    case code(String)
    /// A failure: its category (the failure kinds latchkey's exit codes
    /// follow) and one line for the person.
    case failure(category: String, message: String)

    /// A session as it crosses the socket: never a long-term key.
    public struct SessionCredentials: Equatable, Sendable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String
        /// Seconds since the Unix epoch.
        public var expiration: Int64
        public var arn: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String, expiration: Int64, arn: String?) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
            self.expiration = expiration
            self.arn = arn
        }
    }

    private struct Fields: Codable {
        var v: Int
        var ok: Bool
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var SessionToken: String?
        var Expiration: Int64?
        var Arn: String?
        var code: String?
        var category: String?
        var message: String?
    }

    public func encoded() -> [UInt8] {
        var fields = Fields(v: AgentWire.version, ok: true)
        switch self {
        case .credentials(let session):
            fields.AccessKeyId = session.accessKeyID
            fields.SecretAccessKey = session.secretAccessKey
            fields.SessionToken = session.sessionToken
            fields.Expiration = session.expiration
            fields.Arn = session.arn
        case .code(let code):
            fields.code = code
        case .failure(let category, let message):
            fields.ok = false
            fields.category = category
            fields.message = String(AgentJSON.printable(message).unicodeScalars.prefix(AgentWire.maximumTextBytes / 4))
        }
        return AgentFrame.encode(AgentJSON.encode(fields))
    }

    /// Parses a reply body.
    public init(body: ArraySlice<UInt8>) throws(AgentProtocolError) {
        try AgentJSON.requireVersion(body)
        let fields = try AgentJSON.decode(Fields.self, body)
        if !fields.ok {
            self = .failure(
                category: try AgentJSON.text(fields.category ?? "failure", "category"),
                message: AgentJSON.printable(fields.message ?? "the agent failed without saying why"))
            return
        }
        if let code = fields.code {
            guard (6...8).contains(code.utf8.count), code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .malformed("a code that is not 6 to 8 digits")
            }
            self = .code(code)
            return
        }
        guard let id = fields.AccessKeyId, let secret = fields.SecretAccessKey, let token = fields.SessionToken,
            let expiration = fields.Expiration
        else { throw .malformed("neither credentials nor a code") }
        self = .credentials(
            SessionCredentials(
                accessKeyID: try AgentJSON.text(id, "AccessKeyId"), secretAccessKey: try AgentJSON.text(secret, "SecretAccessKey"),
                sessionToken: try AgentJSON.text(token, "SessionToken", limit: 8192), expiration: expiration,
                arn: try fields.Arn.map { (arn) throws(AgentProtocolError) in try AgentJSON.text(arn, "Arn") }))
    }
}

/// JSON for the agent's messages, with the checks both sides share.
enum AgentJSON {
    private struct VersionOnly: Decodable { var v: Int }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding plain structs of strings and numbers cannot fail.
        return (try? Array(encoder.encode(value))) ?? []
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: ArraySlice<UInt8>) throws(AgentProtocolError) -> T {
        guard body.count <= AgentFrame.maximumBodyBytes else { throw .oversized(body.count) }
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .malformed("not the JSON of an agent message")
        }
    }

    /// Reads the version first, so a newer peer is told so instead of "malformed".
    static func requireVersion(_ body: ArraySlice<UInt8>) throws(AgentProtocolError) {
        let version = try decode(VersionOnly.self, body).v
        guard version == AgentWire.version else { throw .unsupportedVersion(version) }
    }

    /// `text` when it is non-empty, short enough and has no control
    /// characters; an error naming `field` otherwise.
    static func text(_ text: String, _ field: String, limit: Int = AgentWire.maximumTextBytes) throws(AgentProtocolError) -> String {
        guard !text.isEmpty, text.utf8.count <= limit else { throw .malformed("\(field) is empty or too long") }
        guard text.unicodeScalars.allSatisfy({ !$0.properties.generalCategory.isControl }) else {
            throw .malformed("\(field) holds control characters")
        }
        return text
    }

    /// `text` with control characters replaced, for a line a person reads.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory.isControl ? "?" : $0 }))
    }
}

extension Unicode.GeneralCategory {
    var isControl: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}
