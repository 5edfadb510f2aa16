import FoundationEssentials
import SystemSupport

/// The IAM calls on a user's access keys (`keys rotate`): ListAccessKeys,
/// CreateAccessKey and DeleteAccessKey. The user defaults to the caller for
/// all three; a role must name one. Parameters are checked by the IAM API
/// reference before anything is sent.
public struct AccessKeyRequest: Sendable, Equatable {
    public enum Action: String, Sendable {
        case list = "ListAccessKeys"
        case create = "CreateAccessKey"
        case delete = "DeleteAccessKey"
    }

    public var action: Action
    /// 1–128 characters of `[\w+=,.@-]`.
    public var userName: String?
    /// The key to delete: 16–128 characters of `[\w]`; only for DeleteAccessKey.
    public var accessKeyID: String?

    public static func list(userName: String? = nil) -> Self { Self(action: .list, userName: userName) }
    public static func create(userName: String? = nil) -> Self { Self(action: .create, userName: userName) }
    public static func delete(_ accessKeyID: String, userName: String? = nil) -> Self {
        Self(action: .delete, userName: userName, accessKeyID: accessKeyID)
    }

    public func validate() throws(STSValidationError) {
        try Check.text(userName, "UserName", length: 1...128, characters: Check.sessionNameCharacters)
        switch action {
        case .delete:
            guard accessKeyID != nil else { throw STSValidationError("AccessKeyId", .missing) }
            try Check.text(accessKeyID, "AccessKeyId", length: 16...128, characters: Check.wordCharacters)
        case .list, .create:
            guard accessKeyID == nil else {
                throw STSValidationError("AccessKeyId", .characters("nothing: \(action.rawValue) takes no key"))
            }
        }
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        var parameters: [AWSQueryRequest.Parameter] = []
        if let accessKeyID { parameters.append(.init("AccessKeyId", accessKeyID)) }
        if let userName { parameters.append(.init("UserName", userName)) }
        return AWSQueryRequest(action: action.rawValue, version: AWSQueryRequest.iamVersion, parameters: parameters)
    }
}

/// One of a user's access keys, without its secret.
public struct AccessKeyMetadata: Sendable, Equatable {
    public var accessKeyID: String
    public var userName: String?
    /// `Active` or `Inactive`.
    public var status: String?
    public var createDate: Date?

    /// Reads `<UserName/><AccessKeyId/><Status/><CreateDate/>` under `element`.
    init(_ element: XML.Element, path: String) throws(MalformedResponse) {
        accessKeyID = try required(element, "AccessKeyId", path)
        userName = value(element.child("UserName"))
        status = value(element.child("Status"))
        if let text = value(element.child("CreateDate")) {
            guard let date = AWSTimestamp.parseISO8601(text) else { throw .invalidTimestamp(path + "/CreateDate") }
            createDate = date
        }
    }
}

/// `<ListAccessKeysResult><UserName/><AccessKeyMetadata><member>…</member></AccessKeyMetadata>
/// <IsTruncated>false</IsTruncated></ListAccessKeysResult>`
public struct ListAccessKeysResult: Sendable, Equatable {
    public var keys: [AccessKeyMetadata]
    public var userName: String?
    public var isTruncated: Bool

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "ListAccessKeys", in: response)
        do throws(MalformedResponse) {
            var keys: [AccessKeyMetadata] = []
            for member in result.child("AccessKeyMetadata")?.children(named: "member") ?? [] {
                keys.append(try AccessKeyMetadata(member, path: "AccessKeyMetadata/member"))
            }
            self.keys = keys
            userName = value(result.child("UserName"))
            switch value(result.child("IsTruncated")) {
            case nil, "false": isTruncated = false
            case "true": isTruncated = true
            default: throw .invalidValue("IsTruncated")
            }
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

/// `<CreateAccessKeyResult><AccessKey><UserName/><AccessKeyId/><Status/><SecretAccessKey/>
/// <CreateDate/></AccessKey></CreateAccessKeyResult>`: the only time IAM
/// hands out the secret. The description shows the key id only.
public struct CreateAccessKeyResult: Sendable, CustomStringConvertible {
    public var key: AccessKeyMetadata
    /// The secret access key (printable ASCII), wiped when the last reference goes.
    public var secretAccessKey: SecretBytes

    public var description: String { "CreateAccessKeyResult(\(key.accessKeyID), secret withheld)" }

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "CreateAccessKey", in: response)
        do throws(MalformedResponse) {
            guard let element = result.child("AccessKey") else { throw .missingElement("AccessKey") }
            key = try AccessKeyMetadata(element, path: "AccessKey")
            var secret = Array(try required(element, "SecretAccessKey", "AccessKey").utf8)
            guard (16...128).contains(secret.count), secret.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                secret.wipe()
                throw .invalidValue("AccessKey/SecretAccessKey")
            }
            guard key.accessKeyID.utf8.count <= 128, key.accessKeyID.utf8.allSatisfy(Check.wordCharacters.contains) else {
                secret.wipe()
                throw .invalidValue("AccessKey/AccessKeyId")
            }
            secretAccessKey = SecretBytes(consuming: &secret)
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

extension IAMClient {
    /// The user's access keys (IAM allows two), without their secrets.
    public func listAccessKeys(userName: String? = nil) throws(STSClientError) -> ListAccessKeysResult {
        try core.call(try Self.query(AccessKeyRequest.list(userName: userName).queryRequest)) {
            (response) throws(STSClientError) in try ListAccessKeysResult(parsing: response)
        }
    }

    /// A new access key for the user, with its secret.
    public func createAccessKey(userName: String? = nil) throws(STSClientError) -> CreateAccessKeyResult {
        try core.call(try Self.query(AccessKeyRequest.create(userName: userName).queryRequest)) {
            (response) throws(STSClientError) in try CreateAccessKeyResult(parsing: response)
        }
    }

    public func deleteAccessKey(_ accessKeyID: String, userName: String? = nil) throws(STSClientError) {
        let request = AccessKeyRequest.delete(accessKeyID, userName: userName)
        try core.call(try Self.query(request.queryRequest)) { (response) throws(STSClientError) in
            _ = try Acknowledgement(of: request.action.rawValue, parsing: response)
        }
    }
}
