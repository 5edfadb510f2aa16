import Foundation
import Testing

/// `latchkey policy`: the documents parse as JSON and carry the MFA conditions.
@Suite("policy")
struct PolicyTests {
    /// Runs `latchkey policy …` in an empty HOME and parses stdout as a JSON object.
    func policy(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["policy"] + arguments, sourceLocation: sourceLocation)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let document = try #require(object as? [String: Any], sourceLocation: sourceLocation)
        #expect(document["Version"] as? String == "2012-10-17", sourceLocation: sourceLocation)
        return document
    }

    func statements(_ document: [String: Any]) throws -> [[String: Any]] {
        try #require(document["Statement"] as? [[String: Any]])
    }

    func condition(_ statement: [String: Any], _ operatorName: String, _ key: String) -> String? {
        ((statement["Condition"] as? [String: Any])?[operatorName] as? [String: Any])?[key] as? String
    }

    @Test("require-mfa denies all but the session and own-device calls without MFA (BoolIfExists), and old MFA with --max-age")
    func requireMFA() throws {
        let plain = try statements(try policy(["require-mfa"]))
        #expect(plain.count == 1)
        let deny = try #require(plain.first)
        #expect(deny["Effect"] as? String == "Deny" && deny["Resource"] as? String == "*")
        #expect(condition(deny, "BoolIfExists", "aws:MultiFactorAuthPresent") == "false")
        let exempt = try #require(deny["NotAction"] as? [String])
        for action in ["sts:GetSessionToken", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "iam:ResyncMFADevice"] {
            #expect(exempt.contains(action), "\(action) must stay callable without MFA")
        }
        #expect(!exempt.contains("iam:DeactivateMFADevice"), "keys without MFA must not remove the device")

        let aged = try statements(try policy(["require-mfa", "--max-age", "12h"]))
        #expect(aged.count == 2)
        #expect(condition(aged[1], "NumericGreaterThan", "aws:MultiFactorAuthAge") == "43200")
        #expect(aged[1]["Effect"] as? String == "Deny")
    }

    @Test("require-mfa --role exempts AssumeRole on that role only")
    func requireMFAWithRole() throws {
        let list = try statements(try policy(["require-mfa", "--role", "admin", "--account", "123456789012"]))
        let exempt = try #require(list.first?["NotAction"] as? [String])
        #expect(exempt.contains("sts:AssumeRole"))
        let other = try #require(list.first { $0["Sid"] as? String == "DenyAssumeRoleOfOtherRolesWithoutMFA" })
        #expect(other["NotResource"] as? String == "arn:aws:iam::123456789012:role/admin")
        #expect(condition(other, "BoolIfExists", "aws:MultiFactorAuthPresent") == "false")
    }

    @Test("self-manage-mfa is scoped to the caller's own user and device, with * or the --account id")
    func selfManage() throws {
        for (arguments, account) in [([String](), "*"), (["--account", "123456789012"], "123456789012")] {
            let list = try statements(try policy(["self-manage-mfa"] + arguments))
            let resources = list.compactMap { $0["Resource"] as? String }
            #expect(resources.contains("arn:aws:iam::\(account):user/${aws:username}"), "\(resources)")
            #expect(resources.contains("arn:aws:iam::\(account):mfa/${aws:username}"), "\(resources)")
            let own = try #require(list.first { $0["Resource"] as? String == "arn:aws:iam::\(account):user/${aws:username}" })
            let actions = try #require(own["Action"] as? [String])
            #expect(Set(["iam:EnableMFADevice", "iam:ResyncMFADevice", "iam:ListMFADevices"]).isSubset(of: actions))
            #expect(list.allSatisfy { $0["Effect"] as? String == "Allow" })
        }
    }

    @Test("self-manage-mfa allows iam:DeactivateMFADevice only with aws:MultiFactorAuthPresent true, as AWS's example does")
    func deactivateNeedsMFA() throws {
        let list = try statements(try policy(["self-manage-mfa", "--account", "123456789012"]))
        let granting = list.filter { statement in
            (statement["Action"] as? String) == "iam:DeactivateMFADevice"
                || ((statement["Action"] as? [String])?.contains("iam:DeactivateMFADevice") ?? false)
        }
        #expect(granting.count == 1, "\(granting)")
        #expect(granting.allSatisfy { condition($0, "Bool", "aws:MultiFactorAuthPresent") == "true" }, "\(granting)")
        #expect(granting.first?["Resource"] as? [String] == ["arn:aws:iam::123456789012:user/${aws:username}", "arn:aws:iam::123456789012:mfa/${aws:username}"])
        let help = try TestHome().run(["policy", "--help"])
        #expect(help.stdout.contains("attach require-mfa with it"), "\(help)")
    }

    @Test("assume-role-trust requires MFA for the account or one user, and denies old MFA with --max-age")
    func trust() throws {
        let account = try statements(try policy(["assume-role-trust", "--account", "123456789012"]))
        #expect(account.count == 1)
        let allow = try #require(account.first)
        #expect(allow["Effect"] as? String == "Allow" && allow["Action"] as? String == "sts:AssumeRole")
        #expect((allow["Principal"] as? [String: Any])?["AWS"] as? String == "arn:aws:iam::123456789012:root")
        #expect(condition(allow, "Bool", "aws:MultiFactorAuthPresent") == "true")

        let user = try statements(try policy(["assume-role-trust", "--account", "123456789012", "--user", "alice", "--max-age", "3600"]))
        #expect(user.count == 2)
        #expect(user.allSatisfy { ($0["Principal"] as? [String: Any])?["AWS"] as? String == "arn:aws:iam::123456789012:user/alice" })
        #expect(condition(user[1], "NumericGreaterThan", "aws:MultiFactorAuthAge") == "3600")
        #expect(user[1]["Effect"] as? String == "Deny")
    }

    @Test("a bad --account (not 12 digits), --user or --max-age is exit 6 with one line; a flag that does not apply, or no --account for a trust policy or a --role name, is a usage error")
    func badInput() throws {
        try requireBinary()
        let home = try TestHome()
        for arguments in [
            ["self-manage-mfa", "--account", "12345"], ["assume-role-trust", "--account", "12345678901a"],
            ["assume-role-trust", "--account", "1234567890123"],
            ["assume-role-trust", "--account", "123456789012", "--user", "a b"], ["require-mfa", "--max-age", "40h"],
        ] {
            let result = try home.run(["policy"] + arguments)
            #expect(result.status == Exit.invalidInput, "\(result)")
            #expect(result.stdout.isEmpty)
        }
        for arguments in [["self-manage-mfa", "--user", "alice"], ["assume-role-trust"], ["require-mfa", "--role", "admin"]] {
            let result = try home.run(["policy"] + arguments)
            #expect(result.status == Exit.usage && result.stdout.isEmpty, "\(result)")
        }
        // A role's ARN names its account itself.
        let arn = try home.run(["policy", "require-mfa", "--role", "arn:aws:iam::123456789012:role/admin"])
        #expect(arn.status == 0 && arn.stdout.contains("\"arn:aws:iam::123456789012:role/admin\""), "\(arn)")
        #expect(!arn.stdout.contains("iam::*:role"))
    }
}
