import AWSConfig
import AWSSigning
import FoundationEssentials

/// A request of the AWS query protocol:
///
///     POST / HTTP/1.1
///     Host: sts.eu-west-1.amazonaws.com
///     Content-Type: application/x-www-form-urlencoded; charset=utf-8
///
///     Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600&SerialNumber=arn%3Aaws%3A…
///
/// Names and values are percent-encoded by RFC 3986 (a space is `%20`, `/`
/// and `:` are encoded); `Action` and `Version` come first, then the
/// parameters in the order given (the API model's order, as botocore sends them).
public struct AWSQueryRequest: Sendable, Equatable {
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public static let stsVersion = "2011-06-15"
    public static let iamVersion = "2010-05-08"
    public static let contentType = "application/x-www-form-urlencoded; charset=utf-8"

    public var action: String
    public var version: String
    public var parameters: [Parameter]

    public init(action: String, version: String, parameters: [Parameter] = []) {
        self.action = action
        self.version = version
        self.parameters = parameters
    }

    /// The form-encoded body.
    public var body: [UInt8] {
        let pairs = [Parameter("Action", action), Parameter("Version", version)] + parameters
        return Array(
            pairs.map { AWSPercentEncoding.encode($0.name) + "=" + AWSPercentEncoding.encode($0.value) }
                .joined(separator: "&").utf8)
    }

    /// The request for `endpoint`, signed with SigV4 for `service` at `time`.
    ///
    /// Signed headers: `content-type;host;x-amz-date` and, with temporary
    /// credentials, `x-amz-security-token`. The transport adds
    /// `Content-Length` (and may add `User-Agent`); neither is signed.
    public func signed(
        for endpoint: ServiceEndpoint, service: String, credentials: AWSCredentials, at time: Date
    ) -> SignedHTTPRequest {
        let body = self.body
        let request = SigV4Request(
            method: "POST", path: endpoint.url.path,
            headers: [HTTPField("Content-Type", Self.contentType), HTTPField("Host", endpoint.url.hostHeader)],
            body: body)
        let signer = SigV4Signer(credentials: credentials, region: endpoint.signingRegion, service: service)
        let signature = signer.sign(request, secondsSince1970: epochSeconds(time))
        return SignedHTTPRequest(url: endpoint.url.description, headers: signature.headers, body: body)
    }
}

/// What goes on the wire: `POST url` with these headers and body.
public struct SignedHTTPRequest: Sendable, Equatable {
    public var url: String
    public var headers: [HTTPField]
    public var body: [UInt8]
}

// MARK: - The four operations

/// STS GetSessionToken: temporary credentials for the calling IAM user,
/// MFA-authenticated when `serialNumber` and `tokenCode` are given.
public struct GetSessionTokenRequest: Sendable, Equatable {
    /// 900–129600 seconds (AWS's default is 43200; root users get at most 3600).
    public var durationSeconds: Int?
    /// The MFA device ARN (or a hardware device's serial).
    public var serialNumber: String?
    /// The 6-digit code.
    public var tokenCode: String?

    public init(durationSeconds: Int? = nil, serialNumber: String? = nil, tokenCode: String? = nil) {
        self.durationSeconds = durationSeconds
        self.serialNumber = serialNumber
        self.tokenCode = tokenCode
    }

    public func validate() throws(STSValidationError) {
        try Check.range(durationSeconds, "DurationSeconds", 900...129_600)
        try Check.mfa(serialNumber: serialNumber, tokenCode: tokenCode)
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        var parameters: [AWSQueryRequest.Parameter] = []
        if let durationSeconds { parameters.append(.init("DurationSeconds", String(durationSeconds))) }
        if let serialNumber { parameters.append(.init("SerialNumber", serialNumber)) }
        if let tokenCode { parameters.append(.init("TokenCode", tokenCode)) }
        return AWSQueryRequest(action: "GetSessionToken", version: AWSQueryRequest.stsVersion, parameters: parameters)
    }
}

/// A session tag for AssumeRole.
public struct SessionTag: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// STS AssumeRole. Called with credentials that came from GetSessionToken or
/// AssumeRole this is role chaining, which AWS limits to 3600 seconds.
public struct AssumeRoleRequest: Sendable, Equatable {
    public var roleARN: String
    /// 2–64 characters of `[\w+=,.@-]`; see ``RoleSessionName``.
    public var roleSessionName: String
    /// An inline session policy (JSON), at most 2048 characters.
    public var policy: String?
    /// 900–43200 seconds, and at most the role's MaxSessionDuration.
    public var durationSeconds: Int?
    /// At most 50.
    public var tags: [SessionTag]
    /// 2–1224 characters of `[\w+=,.@:/-]`.
    public var externalID: String?
    public var serialNumber: String?
    public var tokenCode: String?
    /// 2–64 characters of `[\w+=,.@-]`.
    public var sourceIdentity: String?

    public init(
        roleARN: String, roleSessionName: String, policy: String? = nil, durationSeconds: Int? = nil,
        tags: [SessionTag] = [], externalID: String? = nil, serialNumber: String? = nil, tokenCode: String? = nil,
        sourceIdentity: String? = nil
    ) {
        self.roleARN = roleARN
        self.roleSessionName = roleSessionName
        self.policy = policy
        self.durationSeconds = durationSeconds
        self.tags = tags
        self.externalID = externalID
        self.serialNumber = serialNumber
        self.tokenCode = tokenCode
        self.sourceIdentity = sourceIdentity
    }

    public func validate() throws(STSValidationError) {
        try Check.text(roleARN, "RoleArn", length: 20...2048)
        try Check.printable(roleARN, "RoleArn")
        try Check.text(roleSessionName, "RoleSessionName", length: 2...64, characters: Check.sessionNameCharacters)
        try Check.text(policy, "Policy", length: 1...2048)
        try Check.printable(policy, "Policy")
        try Check.range(durationSeconds, "DurationSeconds", 900...43_200)
        guard tags.count <= 50 else { throw STSValidationError("Tags", .tooMany(50)) }
        for tag in tags {
            try Check.text(tag.key, "Tags.Key", length: 1...128)
            try Check.text(tag.value, "Tags.Value", length: 0...256)
            for (text, name) in [(tag.key, "Tags.Key"), (tag.value, "Tags.Value")] where !Self.isTagText(text) {
                throw STSValidationError(name, .characters("letters, digits, spaces and _.:/=+-@"))
            }
        }
        try Check.text(externalID, "ExternalId", length: 2...1224, characters: Check.externalIDCharacters)
        try Check.mfa(serialNumber: serialNumber, tokenCode: tokenCode)
        try Check.text(sourceIdentity, "SourceIdentity", length: 2...64, characters: Check.sessionNameCharacters)
    }

    /// `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
    static func isTagText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .spaceSeparator, .lineSeparator, .paragraphSeparator, .decimalNumber, .letterNumber, .otherNumber:
                return true
            default:
                return "_.:/=+-@".unicodeScalars.contains(scalar)
            }
        }
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        var parameters: [AWSQueryRequest.Parameter] = [
            .init("RoleArn", roleARN), .init("RoleSessionName", roleSessionName),
        ]
        if let policy { parameters.append(.init("Policy", policy)) }
        if let durationSeconds { parameters.append(.init("DurationSeconds", String(durationSeconds))) }
        for (index, tag) in tags.enumerated() {
            parameters.append(.init("Tags.member.\(index + 1).Key", tag.key))
            parameters.append(.init("Tags.member.\(index + 1).Value", tag.value))
        }
        if let externalID { parameters.append(.init("ExternalId", externalID)) }
        if let serialNumber { parameters.append(.init("SerialNumber", serialNumber)) }
        if let tokenCode { parameters.append(.init("TokenCode", tokenCode)) }
        if let sourceIdentity { parameters.append(.init("SourceIdentity", sourceIdentity)) }
        return AWSQueryRequest(action: "AssumeRole", version: AWSQueryRequest.stsVersion, parameters: parameters)
    }
}

/// STS GetCallerIdentity: who the credentials belong to. No parameters.
public struct GetCallerIdentityRequest: Sendable, Equatable {
    public init() {}

    public func queryRequest() -> AWSQueryRequest {
        AWSQueryRequest(action: "GetCallerIdentity", version: AWSQueryRequest.stsVersion)
    }
}

/// IAM ListMFADevices: the MFA devices of a user (the caller when
/// `userName` is nil).
public struct ListMFADevicesRequest: Sendable, Equatable {
    /// 1–64 characters of `[\w+=,.@-]`.
    public var userName: String?
    /// From a previous truncated page; 1–320 characters.
    public var marker: String?
    /// 1–1000.
    public var maxItems: Int?

    public init(userName: String? = nil, marker: String? = nil, maxItems: Int? = nil) {
        self.userName = userName
        self.marker = marker
        self.maxItems = maxItems
    }

    public func validate() throws(STSValidationError) {
        try Check.text(userName, "UserName", length: 1...64, characters: Check.sessionNameCharacters)
        try Check.text(marker, "Marker", length: 1...320)
        if let marker, !marker.unicodeScalars.allSatisfy({ (0x20...0xFF).contains($0.value) }) {
            throw STSValidationError("Marker", .characters("characters U+0020 to U+00FF"))
        }
        try Check.range(maxItems, "MaxItems", 1...1000)
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        var parameters: [AWSQueryRequest.Parameter] = []
        if let userName { parameters.append(.init("UserName", userName)) }
        if let marker { parameters.append(.init("Marker", marker)) }
        if let maxItems { parameters.append(.init("MaxItems", String(maxItems))) }
        return AWSQueryRequest(action: "ListMFADevices", version: AWSQueryRequest.iamVersion, parameters: parameters)
    }
}

/// Default role session names.
public enum RoleSessionName {
    /// `name` made into a valid RoleSessionName: characters outside
    /// `[A-Za-z0-9_+=,.@-]` become `-`, the result is cut to 64 characters,
    /// and a name with no letter or digit left becomes `latchkey` (a single
    /// character is prefixed: `latchkey-x`).
    public static func derived(fromUserName name: String) -> String {
        var bytes: [UInt8] = []
        for scalar in name.unicodeScalars.prefix(64) {
            let byte = scalar.isASCII ? UInt8(scalar.value) : 0
            bytes.append(Check.sessionNameCharacters.contains(byte) ? byte : UInt8(ascii: "-"))
        }
        let result = String(decoding: bytes, as: UTF8.self)
        let hasAlphanumeric = bytes.contains {
            (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0)
        }
        guard hasAlphanumeric else { return "latchkey" }
        return bytes.count >= 2 ? result : "latchkey-" + result
    }
}
