import LatchkeyCore
import ArgumentParser

/// `latchkey policy KIND`: prints an IAM policy document for MFA.
struct Policy: ParsableCommand {
    typealias Kind = PolicyKind

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

extension PolicyKind: ExpressibleByArgument {}
