import STS

/// Why a profile's credentials could not be made, phrased for a person.
public enum CredentialFlowError: Error, CustomStringConvertible {
    case profileNotFound(String)
    case invalidProfile(String, String)
    case noLongTermKeys(String)
    case unsupportedCredentialSource(String, String)
    case cycle([String])
    /// A source profile's `credential_process` runs latchkey in a way that
    /// would call back into this run.
    case recursion(String)
    case noMFADevice(user: String)
    /// IAM lists several devices and the token holds the account of none or
    /// several of them (`onToken`; `nil` when codes are typed).
    case severalMFADevices([String], onToken: [String]? = nil, profile: String? = nil)
    /// A code typed or passed for this device was already sent to AWS.
    case codeAlreadyUsed(serial: String)
    case invalidCode
    /// Three waits for a fresh time step each ended past it.
    case clockUnsteady
    /// `credential_source = Environment` without the variables.
    case noEnvironmentKeys(String)
    case processFailed(profile: String, detail: String)
    /// An STS or IAM call failed; `call` says which (e.g. "GetSessionToken").
    case aws(call: String, STSClientError)

    public var description: String {
        switch self {
        case .profileNotFound(let name):
            "no profile '\(name)' in the AWS config or credentials file"
        case .invalidProfile(let name, let problem):
            "profile '\(name)': \(problem)"
        case .noLongTermKeys(let name):
            "profile '\(name)' has no long-term access key: seal one with `latchkey keys add \(name)` or put aws_access_key_id and aws_secret_access_key in ~/.aws/credentials"
        case .unsupportedCredentialSource(let name, let value):
            "profile '\(name)': credential_source = \(value) is not supported by latchkey (only Environment)"
        case .cycle(let chain):
            "the profile chain loops (through source_profile, or a credential_process that runs latchkey): \(chain.joined(separator: " -> "))"
        case .recursion(let name):
            "profile '\(name)' has a credential_process that runs latchkey; latchkey will not call itself (use `latchkey credential-process --profile X` there)"
        case .noMFADevice(let user):
            "IAM lists no MFA device for \(user): enable one, or set mfa_serial in the profile"
        case .severalMFADevices(let serials, let onToken, let profile):
            "IAM lists several MFA devices (\(serials.joined(separator: ", ")))"
                + (onToken.map { $0.isEmpty ? " and the chosen token holds the account of none of them" : " and the chosen token holds accounts for \($0.count) of them (\($0.joined(separator: ", ")))" } ?? "")
                + ": set mfa_serial in \(profile.map { "profile '\($0)'" } ?? "the profile") to the one to use"
        case .codeAlreadyUsed(let serial):
            "that code was already sent to AWS for \(serial), and AWS accepts each code once: wait for the next code"
        case .invalidCode:
            "an MFA code is 6 digits"
        case .clockUnsteady:
            "the clock jumped while waiting for a fresh MFA code; try again"
        case .noEnvironmentKeys(let name):
            "profile '\(name)' has credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set (or AWS_SESSION_TOKEN is)"
        case .processFailed(let profile, let detail):
            "credential_process of profile '\(profile)' failed: \(detail)"
        case .aws(let call, let error):
            "\(call): \(error)"
        }
    }
}
