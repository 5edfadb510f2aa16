import LatchkeyCore
import ArgumentParser

/// `latchkey policy KIND`: prints an IAM policy document for MFA.
struct Policy: ParsableCommand {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case requireMFA = "require-mfa"
        case selfManageMFA = "self-manage-mfa"
        case assumeRoleTrust = "assume-role-trust"
    }

    static let configuration = CommandConfiguration(
        abstract: "Print an IAM policy (JSON) that makes MFA required, or lets users manage their own MFA device.",
        discussion: """
            require-mfa: an identity policy that denies every action unless the request
              was signed with MFA credentials (aws:MultiFactorAuthPresent, BoolIfExists
              false), except what a user needs to get an MFA session and to set up their
              own device: sts:GetSessionToken, iam:GetUser, iam:ListMFADevices,
              iam:ListVirtualMFADevices, iam:CreateVirtualMFADevice,
              iam:DeleteVirtualMFADevice, iam:EnableMFADevice, iam:ResyncMFADevice.
              DeactivateMFADevice is not exempt: without MFA, keys cannot remove a
              device (and an enabled device cannot be deleted before it is deactivated).
              --max-age S also denies MFA sessions older than S seconds
              (aws:MultiFactorAuthAge, NumericGreaterThan). --role R also exempts
              sts:AssumeRole on that one role (a name with --account, or an ARN), so
              `latchkey auth` can assume it straight from the keys with a code; pair it
              with the role's assume-role-trust.
            self-manage-mfa: an identity policy that lets users list, create, enable,
              resync and delete their own virtual MFA device, and deactivate it only
              when signed in with MFA (aws:MultiFactorAuthPresent, Bool true, as in
              AWS's own example), scoped to arn:aws:iam::*:user/${aws:username} and
              arn:aws:iam::*:mfa/${aws:username} (--account puts the account id in
              place of *). Devices must then be named after the user (`latchkey mfa
              enroll` does so by default). It only allows: attach require-mfa with it,
              or leaked keys alone can still do whatever else the user may.
            assume-role-trust: a role trust policy that lets the account's principals
              (or, with --user, one IAM user) assume the role only with MFA
              (aws:MultiFactorAuthPresent, Bool true); --max-age S denies MFA older than
              S seconds. --account is required.

            Durations for --max-age are seconds, or like 90m, 12h, 1h30m.

            Examples:
              latchkey policy require-mfa --max-age 12h > require-mfa.json
              aws iam create-policy --policy-name RequireMFA --policy-document file://require-mfa.json
              latchkey policy self-manage-mfa --account 123456789012
              latchkey policy assume-role-trust --account 123456789012 --user alice --max-age 1h
            """)

    @Argument(help: ArgumentHelp("require-mfa, self-manage-mfa or assume-role-trust.", valueName: "kind"))
    var kind: Kind

    @Option(help: ArgumentHelp("The 12-digit AWS account id.", valueName: "id"))
    var account: String?

    @Option(help: ArgumentHelp("assume-role-trust: only this IAM user may assume the role.", valueName: "name"))
    var user: String?

    @Option(help: ArgumentHelp("require-mfa: also exempt sts:AssumeRole on this role (name or ARN).", valueName: "role"))
    var role: String?

    @Option(
        name: .customLong("max-age"),
        help: ArgumentHelp("require-mfa, assume-role-trust: deny MFA sessions older than this.", valueName: "duration"))
    var maxAge: String?

    func validate() throws {
        switch kind {
        case .requireMFA:
            if user != nil { throw ValidationError("--user applies to assume-role-trust") }
            if account != nil, role == nil { throw ValidationError("require-mfa uses --account only in --role's ARN") }
            if let role, account == nil, !IAMName.isRoleARN(role) {
                throw ValidationError("require-mfa --role NAME needs --account ID (or give the role's ARN): without it the policy would exempt a role of that name in every account")
            }
        case .selfManageMFA:
            if user != nil || role != nil || maxAge != nil {
                throw ValidationError("self-manage-mfa takes only --account")
            }
        case .assumeRoleTrust:
            if role != nil { throw ValidationError("--role applies to require-mfa (a trust policy belongs to its role)") }
            if account == nil { throw ValidationError("assume-role-trust needs --account ID") }
        }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let document = try PolicyDocuments(account: account, user: user, role: role, maxAge: maxAge).document(kind)
        world.standardOutput(document.rendered() + "\n")
    }
}

/// The policy documents, with the flags checked (bad values are exit 6).
struct PolicyDocuments {
    var account: String?
    var user: String?
    var role: String?
    var maxAgeSeconds: Int?

    init(account: String?, user: String?, role: String?, maxAge: String?) throws {
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

    func document(_ kind: Policy.Kind) -> JSONValue {
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
enum IAMName {
    static func isValid(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
                || "_+=,.@-".utf8.contains(byte)
        }
    }

    /// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` of printable ASCII.
    static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[3].isEmpty
            && parts[4].utf8.count == 12 && parts[5].hasPrefix("role/") && parts[5].count > 5
            && text.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}

/// A JSON value whose objects keep their keys in the order written, printed
/// with two-space indentation.
enum JSONValue: ExpressibleByStringLiteral {
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    init(stringLiteral value: String) { self = .string(value) }

    func rendered(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .string(let text):
            return "\"" + CredentialOutput.jsonEscaped(text) + "\""
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            return "{\n"
                + fields.map { inner + "\"" + CredentialOutput.jsonEscaped($0.0) + "\": " + $0.1.rendered(indent: inner) }
                    .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }
}
