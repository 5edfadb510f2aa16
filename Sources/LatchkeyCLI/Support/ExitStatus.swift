import LatchkeyCore

/// latchkey's exit codes: the one table from failure categories to numbers.
/// Scripts branch on these, so they never change meaning; new categories
/// take new numbers. `--help` prints this table and a test holds the
/// README's table to it.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case failure = 1
    case accountNotFound = 2
    case wrongPassphrase = 3
    case vaultDamaged = 4
    case noPassphrase = 5
    case invalidInput = 6
    case alreadyExists = 7
    case touchTimeout = 10
    case noKey = 11
    case oathPassword = 12
    case smartCard = 13
    case tpm = 14
    case tpmPIN = 15
    case tpmForeignKey = 16
    case awsRefused = 20
    case awsUnavailable = 21
    case clockSkew = 22
    case noCredentials = 23
    case agentRefused = 24
    case agentUnavailable = 25
    case usage = 64
    case commandNotRun = 127
    case interrupted = 130

    /// The code for a failure of `category`.
    public init(_ category: FailureCategory) {
        self = switch category {
        case .failure: .failure
        case .accountNotFound: .accountNotFound
        case .wrongPassphrase: .wrongPassphrase
        case .vaultDamaged: .vaultDamaged
        case .noPassphrase: .noPassphrase
        case .invalidInput: .invalidInput
        case .alreadyExists: .alreadyExists
        case .touchTimeout: .touchTimeout
        case .noKey: .noKey
        case .oathPassword: .oathPassword
        case .smartCard: .smartCard
        case .awsRefused: .awsRefused
        case .awsUnavailable: .awsUnavailable
        case .clockSkew: .clockSkew
        case .noCredentials: .noCredentials
        case .usage: .usage
        case .commandNotRun: .commandNotRun
        case .interrupted: .interrupted
        case .tpm: .tpm
        case .tpmPIN: .tpmPIN
        case .tpmForeignKey: .tpmForeignKey
        case .agentRefused: .agentRefused
        case .agentUnavailable: .agentUnavailable
        }
    }

    public var meaning: String {
        switch self {
        case .success: "success"
        case .failure: "other failure (I/O, system)"
        case .accountNotFound: "no account matches the name, or it matches several"
        case .wrongPassphrase: "wrong vault passphrase"
        case .vaultDamaged: "vault file damaged, truncated, foreign or from a newer version"
        case .noPassphrase: "a passphrase is needed and there is no terminal to ask on"
        case .invalidInput: "invalid secret, URI or account parameters"
        case .alreadyExists: "the account or vault already exists (`--force` replaces an account)"
        case .touchTimeout: "touch timed out"
        case .noKey: "no key found, or several and none chosen (`--reader`)"
        case .oathPassword: "wrong or missing OATH password"
        case .smartCard: "pcscd or the key failed (not running, polkit, busy, removed, bad response)"
        case .tpm: "the TPM could not be used (none, no permission, tpm2-tss missing, unreachable, algorithm missing)"
        case .tpmPIN: "wrong or missing TPM PIN, or the TPM is locked out"
        case .tpmForeignKey: "a TPM account's key was made by another TPM, or the TPM was cleared: add it again"
        case .awsRefused: "AWS refused: wrong or reused MFA code, access denied, bad or expired keys"
        case .awsUnavailable: "AWS unreachable, throttling, or an unexpected answer"
        case .clockSkew: "this machine's clock is too far from AWS's"
        case .noCredentials: "the profile cannot make credentials (missing, no keys, no MFA device, a loop)"
        case .agentRefused: "the latchkey agent refused: profile or MFA device not allowed, or not confirmed on its machine"
        case .agentUnavailable: "no latchkey agent answered (none at the socket, stopped mid-request, another protocol version)"
        case .usage: "bad flags or arguments"
        case .commandNotRun: "`exec`: the command could not be run (otherwise `exec` exits with the command's status)"
        case .interrupted: "interrupted (Ctrl-C) while the key was used over USB; the key was powered off and released"
        }
    }

    /// The table printed in `latchkey --help`.
    static var helpTable: String {
        allCases.map { "  \(String($0.rawValue).padding(toLength: 3)) \($0.meaning)" }.joined(separator: "\n")
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
