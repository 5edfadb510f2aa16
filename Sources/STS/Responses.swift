import AWSSigning
import FoundationEssentials

/// Why a call failed.
public enum STSClientError: Error, CustomStringConvertible {
    /// A parameter was refused before anything was sent.
    case invalidRequest(STSValidationError)
    /// AWS (or the test server) answered with an error.
    case service(STSError)
    /// The response was not the expected XML.
    case malformedResponse(status: Int, MalformedResponse)
    /// The transport failed (no connection, TLS, timeout…).
    case transport(any Error)

    public var description: String {
        switch self {
        case .invalidRequest(let error): "invalid request: \(error)"
        case .service(let error): error.description
        case .malformedResponse(let status, let problem): "unexpected response (HTTP \(status)): \(problem)"
        case .transport(let error): "cannot reach AWS: \(oneLine(String(describing: error), limit: 300))"
        }
    }

    /// The service error, if that is what this is.
    public var serviceError: STSError? {
        if case .service(let error) = self { return error }
        return nil
    }
}

/// What was wrong with a response body.
public enum MalformedResponse: Error, Sendable, Equatable, CustomStringConvertible {
    case notXML(XML.ParseError)
    /// A failure status without an `<Error>` element in the body.
    case noErrorDetails
    /// The root element is not `<ActionResponse>`.
    case unexpectedRoot(String)
    case missingElement(String)
    case invalidTimestamp(String)
    case invalidValue(String)

    public var description: String {
        switch self {
        case .notXML(let error): "\(error)"
        case .noErrorDetails: "no error details in the body"
        case .unexpectedRoot(let name): "unexpected root element <\(oneLine(name, limit: 64))>"
        case .missingElement(let path): "missing \(path)"
        case .invalidTimestamp(let path): "\(path) is not an ISO-8601 timestamp"
        case .invalidValue(let path): "\(path) has an unexpected value"
        }
    }
}

// MARK: - Results

/// Temporary credentials from STS:
///
///     <Credentials>
///       <AccessKeyId>ASIA…</AccessKeyId><SecretAccessKey>…</SecretAccessKey>
///       <SessionToken>…</SessionToken><Expiration>2011-07-15T23:28:33.359Z</Expiration>
///     </Credentials>
///
/// The description shows the access key id and expiry only.
public struct STSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var credentials: AWSCredentials
    public var expiration: Date

    public init(credentials: AWSCredentials, expiration: Date) {
        self.credentials = credentials
        self.expiration = expiration
    }

    public var description: String {
        "STSCredentials(\(credentials.accessKeyID), expires \(AWSTimestamp.iso8601(expiration)))"
    }

    init(_ element: XML.Element?, path: String) throws(MalformedResponse) {
        guard let element else { throw .missingElement(path) }
        let expirationText = try required(element, "Expiration", path)
        guard let expiration = AWSTimestamp.parseISO8601(expirationText) else {
            throw .invalidTimestamp(path + "/Expiration")
        }
        self.init(
            credentials: AWSCredentials(
                accessKeyID: try required(element, "AccessKeyId", path),
                secretAccessKey: try required(element, "SecretAccessKey", path),
                sessionToken: try required(element, "SessionToken", path)),
            expiration: expiration)
    }
}

/// `<AssumedRoleUser><AssumedRoleId>AROA…:session</AssumedRoleId><Arn>…</Arn></AssumedRoleUser>`
public struct AssumedRoleUser: Sendable, Equatable {
    public var assumedRoleID: String
    public var arn: String
}

/// `<GetSessionTokenResult><Credentials>…</Credentials></GetSessionTokenResult>`
public struct GetSessionTokenResult: Sendable, Equatable {
    public var credentials: STSCredentials

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "GetSessionToken", in: response)
        do throws(MalformedResponse) {
            credentials = try STSCredentials(result.child("Credentials"), path: "Credentials")
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

/// `<AssumeRoleResult><Credentials>…</Credentials><AssumedRoleUser>…</AssumedRoleUser>
/// [<PackedPolicySize>6</PackedPolicySize>][<SourceIdentity>…</SourceIdentity>]</AssumeRoleResult>`
public struct AssumeRoleResult: Sendable, Equatable {
    public var credentials: STSCredentials
    public var assumedRoleUser: AssumedRoleUser
    public var packedPolicySize: Int?
    public var sourceIdentity: String?

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "AssumeRole", in: response)
        do throws(MalformedResponse) {
            credentials = try STSCredentials(result.child("Credentials"), path: "Credentials")
            guard let user = result.child("AssumedRoleUser") else { throw .missingElement("AssumedRoleUser") }
            assumedRoleUser = AssumedRoleUser(
                assumedRoleID: try required(user, "AssumedRoleId", "AssumedRoleUser"),
                arn: try required(user, "Arn", "AssumedRoleUser"))
            if let size = value(result.child("PackedPolicySize")) {
                guard let number = Int(size) else { throw .invalidValue("PackedPolicySize") }
                packedPolicySize = number
            }
            sourceIdentity = value(result.child("SourceIdentity"))
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

/// `<GetCallerIdentityResult><Arn/><UserId/><Account/></GetCallerIdentityResult>`
public struct CallerIdentity: Sendable, Equatable {
    public var account: String
    public var arn: String
    public var userID: String

    public init(account: String, arn: String, userID: String) {
        self.account = account
        self.arn = arn
        self.userID = userID
    }

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "GetCallerIdentity", in: response)
        do throws(MalformedResponse) {
            self.init(
                account: try required(result, "Account", "GetCallerIdentityResult"),
                arn: try required(result, "Arn", "GetCallerIdentityResult"),
                userID: try required(result, "UserId", "GetCallerIdentityResult"))
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

/// One `<member>` of `<MFADevices>`.
public struct MFADevice: Sendable, Equatable {
    public var serialNumber: String
    public var userName: String?
    public var enableDate: Date?
}

/// `<ListMFADevicesResult><MFADevices><member><UserName/><SerialNumber/><EnableDate/></member>…
/// </MFADevices><IsTruncated>false</IsTruncated>[<Marker/>]</ListMFADevicesResult>`
public struct ListMFADevicesResult: Sendable, Equatable {
    public var devices: [MFADevice]
    public var isTruncated: Bool
    /// Present when `isTruncated`: pass it back to get the next page.
    public var marker: String?

    public var serialNumbers: [String] { devices.map(\.serialNumber) }

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "ListMFADevices", in: response)
        do throws(MalformedResponse) {
            var devices: [MFADevice] = []
            for member in result.child("MFADevices")?.children(named: "member") ?? [] {
                let serial = try required(member, "SerialNumber", "MFADevices/member")
                var enableDate: Date?
                if let text = value(member.child("EnableDate")) {
                    guard let date = AWSTimestamp.parseISO8601(text) else {
                        throw .invalidTimestamp("MFADevices/member/EnableDate")
                    }
                    enableDate = date
                }
                devices.append(
                    MFADevice(
                        serialNumber: serial, userName: value(member.child("UserName")),
                        enableDate: enableDate))
            }
            self.devices = devices
            switch value(result.child("IsTruncated")) {
            case nil, "false": isTruncated = false
            case "true": isTruncated = true
            default: throw .invalidValue("IsTruncated")
            }
            marker = value(result.child("Marker"))
            if isTruncated && marker == nil { throw .missingElement("Marker") }
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

// MARK: - Envelope

/// The envelope shared by all query-protocol responses.
enum QueryResponse {
    /// The `<ActionResult>` element of a success, or the error the body
    /// describes.
    static func result(of action: String, in response: TransportResponse) throws(STSClientError) -> XML.Element {
        let root = try success(of: action, in: response)
        guard let result = root.child(action + "Result") else {
            throw .malformedResponse(status: response.status, .missingElement(action + "Result"))
        }
        return result
    }

    /// The `<ActionResponse>` root of a success (for actions that return no
    /// `<ActionResult>`), or the error the body describes.
    static func success(of action: String, in response: TransportResponse) throws(STSClientError) -> XML.Element {
        let status = response.status
        let root: XML.Element
        do {
            root = try XML.parse(response.body)
        } catch {
            throw .malformedResponse(status: status, (200..<300).contains(status) ? .notXML(error) : .noErrorDetails)
        }
        if let error = root.firstDescendant(named: "Error") {
            guard let code = value(error.child("Code")) else {
                throw .malformedResponse(status: status, .missingElement("Error/Code"))
            }
            throw .service(
                STSError(
                    code: code, message: value(error.child("Message")) ?? "", type: value(error.child("Type")),
                    requestID: value(
                        root.firstDescendant(named: "RequestId") ?? root.firstDescendant(named: "RequestID")),
                    httpStatus: status, serverDate: response.date))
        }
        guard (200..<300).contains(status) else { throw .malformedResponse(status: status, .noErrorDetails) }
        guard root.name == action + "Response" else {
            throw .malformedResponse(status: status, .unexpectedRoot(root.name))
        }
        return root
    }
}

/// An element's text without surrounding whitespace; `nil` when the element
/// is absent or empty.
func value(_ element: XML.Element?) -> String? {
    guard let element else { return nil }
    let trimmed = element.text.trimmingASCIIWhitespace()
    return trimmed.isEmpty ? nil : trimmed
}

func required(_ parent: XML.Element, _ name: String, _ path: String) throws(MalformedResponse) -> String {
    guard let text = value(parent.child(name)) else { throw .missingElement(path + "/" + name) }
    return text
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
