/// The IAM calls that set up, check and remove a virtual MFA device. Each
/// request validates its parameters by the IAM API reference before it is
/// sent; descriptions of failures never include the values (codes are secret
/// for their 30 s).

/// IAM CreateVirtualMFADevice: a new, unassigned virtual device whose seed
/// comes back once, in the response.
public struct CreateVirtualMFADeviceRequest: Sendable, Equatable {
    /// 1–226 characters of `[\w+=,.@-]`; the device ARN ends in `mfa/[PATH]NAME`.
    public var virtualMFADeviceName: String
    /// `/` or `/…/` of printable ASCII, at most 512 characters.
    public var path: String?

    public init(virtualMFADeviceName: String, path: String? = nil) {
        self.virtualMFADeviceName = virtualMFADeviceName
        self.path = path
    }

    public func validate() throws(STSValidationError) {
        try Check.text(
            virtualMFADeviceName, "VirtualMFADeviceName", length: 1...226, characters: Check.sessionNameCharacters)
        try Check.text(path, "Path", length: 1...512)
        if let path {
            let bytes = Array(path.utf8)
            let shaped = path == "/" || (bytes.count >= 3 && bytes.first == 0x2F && bytes.last == 0x2F)
            guard shaped, bytes.allSatisfy({ (0x21...0x7F).contains($0) }) else {
                throw STSValidationError("Path", .characters("a path like / or /team/ of printable ASCII"))
            }
        }
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        var parameters: [AWSQueryRequest.Parameter] = []
        if let path { parameters.append(.init("Path", path)) }
        parameters.append(.init("VirtualMFADeviceName", virtualMFADeviceName))
        return AWSQueryRequest(
            action: "CreateVirtualMFADevice", version: AWSQueryRequest.iamVersion, parameters: parameters)
    }
}

/// The two calls that take two consecutive codes from a device:
/// EnableMFADevice (assign it to a user) and ResyncMFADevice.
public struct MFADeviceCodesRequest: Sendable, Equatable {
    public enum Action: String, Sendable {
        case enable = "EnableMFADevice"
        case resync = "ResyncMFADevice"
    }

    public var action: Action
    /// 1–128 characters of `[\w+=,.@-]`.
    public var userName: String
    /// The device ARN: 9–256 characters of `[\w+=/:,.@-]`.
    public var serialNumber: String
    /// The code for one time step, 6 digits.
    public var authenticationCode1: String
    /// The code for the next step, 6 digits.
    public var authenticationCode2: String

    public init(
        _ action: Action, userName: String, serialNumber: String, authenticationCode1: String,
        authenticationCode2: String
    ) {
        self.action = action
        self.userName = userName
        self.serialNumber = serialNumber
        self.authenticationCode1 = authenticationCode1
        self.authenticationCode2 = authenticationCode2
    }

    public func validate() throws(STSValidationError) {
        try Check.text(userName, "UserName", length: 1...128, characters: Check.sessionNameCharacters)
        try Check.text(serialNumber, "SerialNumber", length: 9...256, characters: Check.serialNumberCharacters)
        try Check.sixDigits(authenticationCode1, "AuthenticationCode1")
        try Check.sixDigits(authenticationCode2, "AuthenticationCode2")
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        return AWSQueryRequest(
            action: action.rawValue, version: AWSQueryRequest.iamVersion,
            parameters: [
                .init("UserName", userName), .init("SerialNumber", serialNumber),
                .init("AuthenticationCode1", authenticationCode1), .init("AuthenticationCode2", authenticationCode2),
            ])
    }
}

/// The calls that name a device and, optionally, a user:
/// DeactivateMFADevice (unassign it; the user defaults to the caller),
/// DeleteVirtualMFADevice (remove an unassigned virtual device; no user),
/// and GetUser (no device; the user defaults to the caller).
public struct MFADeviceRequest: Sendable, Equatable {
    public enum Action: String, Sendable {
        case deactivate = "DeactivateMFADevice"
        case deleteVirtual = "DeleteVirtualMFADevice"
        case getUser = "GetUser"
    }

    public var action: Action
    /// 1–128 characters of `[\w+=,.@-]`; not for DeleteVirtualMFADevice.
    public var userName: String?
    /// The device ARN; required except for GetUser, which takes none.
    public var serialNumber: String?

    public static func deactivate(userName: String?, serialNumber: String) -> Self {
        Self(action: .deactivate, userName: userName, serialNumber: serialNumber)
    }

    public static func deleteVirtual(serialNumber: String) -> Self {
        Self(action: .deleteVirtual, userName: nil, serialNumber: serialNumber)
    }

    public static func getUser(userName: String? = nil) -> Self {
        Self(action: .getUser, userName: userName, serialNumber: nil)
    }

    public func validate() throws(STSValidationError) {
        switch action {
        case .getUser:
            guard serialNumber == nil else { throw STSValidationError("SerialNumber", .characters("nothing: GetUser takes no device")) }
        case .deleteVirtual:
            guard userName == nil else { throw STSValidationError("UserName", .characters("nothing: DeleteVirtualMFADevice takes no user")) }
            fallthrough
        case .deactivate:
            guard serialNumber != nil else { throw STSValidationError("SerialNumber", .missing) }
        }
        try Check.text(userName, "UserName", length: 1...128, characters: Check.sessionNameCharacters)
        try Check.text(serialNumber, "SerialNumber", length: 9...256, characters: Check.serialNumberCharacters)
    }

    public func queryRequest() throws(STSValidationError) -> AWSQueryRequest {
        try validate()
        var parameters: [AWSQueryRequest.Parameter] = []
        if let userName { parameters.append(.init("UserName", userName)) }
        if let serialNumber { parameters.append(.init("SerialNumber", serialNumber)) }
        return AWSQueryRequest(action: action.rawValue, version: AWSQueryRequest.iamVersion, parameters: parameters)
    }
}
