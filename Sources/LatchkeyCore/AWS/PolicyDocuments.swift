/// IAM policy documents for MFA (`latchkey policy`): the statements, the
/// checks of their parameters, and JSON printed with its keys in order.

/// Which document.
public enum PolicyKind: String, CaseIterable, Sendable {
    case requireMFA = "require-mfa"
    case selfManageMFA = "self-manage-mfa"
    case assumeRoleTrust = "assume-role-trust"
}

/// The policy documents, with the flags checked (bad values are exit 6).
public struct PolicyDocuments {
    var account: String?
    var user: String?
    var role: String?
    var maxAgeSeconds: Int?

    public init(account: String?, user: String?, role: String?, maxAge: String?) throws {
        if let account, !(account.utf8.count == 12 && account.utf8.allSatisfy { (0x30...0x39).contains($0) }) {
            throw LatchkeyError(.invalidInput, "--account must be a 12-digit AWS account id")
        }
        if let user, !IAMName.isValid(user) {
            throw LatchkeyError(.invalidInput, "--user must be an IAM user name: 1 to 64 letters, digits and _+=,.@-")
        }
        if let role, !(IAMName.isValid(role) || IAMName.isRoleARN(role)) {
            throw LatchkeyError(.invalidInput, "--role must be a role name (1 to 64 letters, digits and _+=,.@-) or arn:aws…:iam::ACCOUNT:role/NAME")
        }
        if let maxAge {
            guard let seconds = DurationText.seconds(maxAge), seconds <= 129_600 else {
                throw LatchkeyError(.invalidInput, "--max-age must be 1 s to 36 h: seconds, or like 90m, 12h, 1h30m")
            }
            maxAgeSeconds = seconds
        }
        self.account = account
        self.user = user
        self.role = role
    }

    /// Actions a user without an MFA session still needs: to get one, and to
    /// set up (or retry setting up) their own virtual device.
    static let exemptActions = [
        "sts:GetSessionToken", "iam:GetUser", "iam:ListMFADevices", "iam:ListVirtualMFADevices",
        "iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice", "iam:EnableMFADevice", "iam:ResyncMFADevice",
    ]

    public func document(_ kind: PolicyKind) -> JSONValue {
        let statements: [JSONValue] = switch kind {
        case .requireMFA: requireMFA()
        case .selfManageMFA: selfManageMFA()
        case .assumeRoleTrust: assumeRoleTrust()
        }
        return .object([("Version", "2012-10-17"), ("Statement", .array(statements))])
    }

    private var accountOrAny: String { account ?? "*" }

    private static let noMFA: JSONValue = .object([("BoolIfExists", .object([("aws:MultiFactorAuthPresent", "false")]))])

    private func tooOld(_ seconds: Int) -> JSONValue {
        .object([("NumericGreaterThan", .object([("aws:MultiFactorAuthAge", .string(String(seconds)))]))])
    }

    private func requireMFA() -> [JSONValue] {
        var exempt = Self.exemptActions
        var statements: [JSONValue] = []
        if let role {
            exempt.append("sts:AssumeRole")
            let arn = IAMName.isRoleARN(role) ? role : "arn:aws:iam::\(accountOrAny):role/\(role)"
            statements.append(
                statement(
                    "DenyAssumeRoleOfOtherRolesWithoutMFA", effect: "Deny", [("Action", "sts:AssumeRole")],
                    [("NotResource", .string(arn))], condition: Self.noMFA))
        }
        let notAction: JSONValue = .array(exempt.map(JSONValue.string))
        statements.insert(
            statement("DenyAllExceptListedWithoutMFA", effect: "Deny", [("NotAction", notAction)], [("Resource", "*")], condition: Self.noMFA),
            at: 0)
        if let maxAgeSeconds {
            statements.append(
                statement("DenyAllExceptListedWithOldMFA", effect: "Deny", [("NotAction", notAction)], [("Resource", "*")], condition: tooOld(maxAgeSeconds)))
        }
        return statements
    }

    private func selfManageMFA() -> [JSONValue] {
        let user = "arn:aws:iam::\(accountOrAny):user/${aws:username}"
        let device = "arn:aws:iam::\(accountOrAny):mfa/${aws:username}"
        return [
            statement("AllowListVirtualMFADevices", effect: "Allow", [("Action", "iam:ListVirtualMFADevices")], [("Resource", "*")]),
            statement(
                "AllowManageOwnVirtualMFADevice", effect: "Allow",
                [("Action", .array(["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"]))], [("Resource", .string(device))]),
            statement(
                "AllowManageOwnUserMFA", effect: "Allow",
                [("Action", .array(["iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ResyncMFADevice"]))],
                [("Resource", .string(user))]),
            // Keys alone must not remove the device (and let another be enrolled).
            statement(
                "AllowDeactivateOwnMFAOnlyWithMFA", effect: "Allow", [("Action", "iam:DeactivateMFADevice")],
                [("Resource", .array([.string(user), .string(device)]))],
                condition: .object([("Bool", .object([("aws:MultiFactorAuthPresent", "true")]))])),
        ]
    }

    private func assumeRoleTrust() -> [JSONValue] {
        let principal = user.map { "arn:aws:iam::\(accountOrAny):user/\($0)" } ?? "arn:aws:iam::\(accountOrAny):root"
        let principalField: (String, JSONValue) = ("Principal", .object([("AWS", .string(principal))]))
        var statements = [
            statement(
                "AllowAssumeRoleWithMFA", effect: "Allow", [principalField], [("Action", "sts:AssumeRole")],
                condition: .object([("Bool", .object([("aws:MultiFactorAuthPresent", "true")]))])),
        ]
        if let maxAgeSeconds {
            statements.append(
                statement("DenyAssumeRoleWithOldMFA", effect: "Deny", [principalField], [("Action", "sts:AssumeRole")], condition: tooOld(maxAgeSeconds)))
        }
        return statements
    }

    private func statement(
        _ sid: String, effect: String, _ first: [(String, JSONValue)], _ second: [(String, JSONValue)], condition: JSONValue? = nil
    ) -> JSONValue {
        var fields: [(String, JSONValue)] = [("Sid", .string(sid)), ("Effect", .string(effect))] + first + second
        if let condition { fields.append(("Condition", condition)) }
        return .object(fields)
    }
}

/// IAM user and role names: 1–64 characters of `[\w+=,.@-]`.
public enum IAMName {
    public static func isValid(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
                || "_+=,.@-".utf8.contains(byte)
        }
    }

    /// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` of printable ASCII.
    public static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[3].isEmpty
            && parts[4].utf8.count == 12 && parts[5].hasPrefix("role/") && parts[5].count > 5
            && text.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}

/// A JSON value whose objects keep their keys in the order written, printed
/// with two-space indentation.
public enum JSONValue: ExpressibleByStringLiteral, Sendable {
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public init(stringLiteral value: String) { self = .string(value) }

    public func rendered(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .string(let text):
            return "\"" + JSONText.escaped(text) + "\""
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            return "{\n"
                + fields.map { inner + "\"" + JSONText.escaped($0.0) + "\": " + $0.1.rendered(indent: inner) }
                    .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }
}
