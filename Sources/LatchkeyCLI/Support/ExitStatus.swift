import AWSConfig
import CCID
import CredentialFlow
import FoundationEssentials
import STS
import OATH
import SealedStore
import SystemSupport
import PCSC
import SmartCard
import YKOATH
import YubiKey

/// latchkey's exit codes. Scripts branch on these, so they never change
/// meaning; new cases take new numbers.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    /// Anything not listed below (I/O failures, for instance).
    case failure = 1
    /// No account matches the name, or the name matches several.
    case accountNotFound = 2
    /// The vault's passphrase is wrong.
    case wrongPassphrase = 3
    /// The vault file is damaged, truncated, foreign or from a newer latchkey.
    case vaultDamaged = 4
    /// A passphrase is needed and there is no way to ask for it.
    case noPassphrase = 5
    /// Input on stdin or in a flag is not valid (secret, URI, parameters).
    case invalidInput = 6
    /// The operation would overwrite something; `--force` allows it.
    case alreadyExists = 7
    /// The key waited for a touch that did not come.
    case touchTimeout = 10
    /// No key with an OATH applet was found, or several were and none was chosen.
    case noKey = 11
    /// The key's OATH password is wrong or could not be obtained.
    case oathPassword = 12
    /// pcscd or the key could not be used (not running, refused by polkit,
    /// held by another program, removed mid-operation, answered nonsense).
    case smartCard = 13
    /// AWS refused: wrong or reused MFA code, access denied, invalid or
    /// expired keys, a bad signature.
    case awsRefused = 20
    /// STS or IAM could not be reached, kept throttling, or answered nonsense.
    case awsUnavailable = 21
    /// This machine's clock is too far from AWS's (from its Date header).
    case clockSkew = 22
    /// The profile cannot make credentials: missing, no keys, no MFA device, a loop.
    case noCredentials = 23
    /// Bad flags or arguments (swift-argument-parser's EX_USAGE).
    case usage = 64
    /// `exec` could not start the command (as a shell reports it).
    case commandNotRun = 127
    /// Interrupted by SIGINT or SIGTERM (128 + 2, the shell's convention).
    case interrupted = 130

    var meaning: String {
        switch self {
        case .success: "success"
        case .failure: "other failure (I/O, system)"
        case .accountNotFound: "no account matches the name, or it matches several"
        case .wrongPassphrase: "wrong vault passphrase"
        case .vaultDamaged: "vault file damaged, truncated, foreign or from a newer version"
        case .noPassphrase: "a passphrase is needed and there is no terminal to ask on"
        case .invalidInput: "invalid secret, URI or account parameters"
        case .alreadyExists: "the account or vault already exists (use --force to replace an account)"
        case .touchTimeout: "touch timed out"
        case .noKey: "no key found, or several and none chosen (--reader)"
        case .oathPassword: "wrong or missing OATH password"
        case .smartCard: "pcscd or the key failed (not running, polkit, busy, removed, bad response)"
        case .awsRefused: "AWS refused: wrong or reused MFA code, access denied, bad or expired keys"
        case .awsUnavailable: "AWS unreachable, throttling, or an unexpected answer"
        case .clockSkew: "this machine's clock is too far from AWS's"
        case .noCredentials: "the profile cannot make credentials (missing, no keys, no MFA device)"
        case .usage: "bad flags or arguments"
        case .commandNotRun: "exec: the command could not be run (otherwise exec exits with the command's status)"
        case .interrupted: "interrupted (Ctrl-C) while the key was being used over USB; the key was powered off and released"
        }
    }

    /// The table printed in `latchkey --help`.
    static var helpTable: String {
        allCases.map { "  \(String($0.rawValue).padding(toLength: 3)) \($0.meaning)" }.joined(separator: "\n")
    }
}

/// An error already phrased for a person: one line and an exit code.
public struct CLIError: Error, CustomStringConvertible {
    public var status: ExitStatus
    public var message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    /// The one-line form of an error from a library layer, or `nil` when the
    /// error is not latchkey's own (argument parsing, help requests).
    init?(mapping error: any Error) {
        switch error {
        case let error as CLIError:
            self = error
        case let error as VaultError:
            let status: ExitStatus = switch error.reason {
            case .format(.wrongPassphrase): .wrongPassphrase
            case .format: .vaultDamaged
            case .alreadyExists: .alreadyExists
            case .notFound: .accountNotFound
            case .emptyPassphrase: .invalidInput
            case .system: .failure
            }
            self.init(status, error.description)
        case let error as VaultEntryError:
            self.init(.invalidInput, error.description)
        case let error as SharedConfigError:
            self.init(.invalidInput, error.description)
        case let error as CredentialFlowError:
            self.init(flow: error)
        case let error as SystemError:
            self.init(.failure, error.description)
        case let error as OTPAuthURI.ParseError:
            self.init(.invalidInput, error.description)
        case let error as Base32.DecodingError:
            self.init(.invalidInput, "the secret on stdin is invalid: \(error)")
        case let error as OATHCredentialError:
            self.init(.invalidInput, error.description)
        case let error as KeyAccessError:
            switch error {
            case .pcsc(let inner): self.init(mapping: inner)
            case .session(let inner): self.init(mapping: inner)
            case .smartCard(let inner): self.init(mapping: inner)
            case .noReaders, .noReaderMatches, .noOATHKey, .severalKeys, .noUSBKey, .noCCIDInterface:
                self.init(.noKey, error.description)
            case .ccid(.cancelled): self.init(.interrupted, "interrupted")
            case .usb, .ccid, .usbBusy, .usbAccess: self.init(.smartCard, error.description)
            }
        case let error as PCSCError:
            self.init(error.kind == .noSmartcard ? .noKey : .smartCard, error.description)
        case let error as SmartCardError:
            self.init(.smartCard, error.description)
        case let error as CCIDError:
            self.init(error == .cancelled ? .interrupted : .smartCard, error == .cancelled ? "interrupted" : error.description)
        case let error as OATHSessionError:
            switch error {
            case .wrongPassword, .authenticationRequired: self.init(.oathPassword, error.description)
            case .noSuchCredential: self.init(.accountNotFound, error.description)
            case .noOATHApplet: self.init(.noKey, error.description)
            case .noSpace, .rejected: self.init(.invalidInput, error.description)
            default: self.init(.smartCard, error.description)
            }
        default:
            return nil
        }
    }
}

extension CLIError {
    /// Flow errors: AWS's answers by kind, the clock with its measured offset.
    init(flow error: CredentialFlowError) {
        switch error {
        case .aws(let call, let failure):
            self.init(call: call, failure)
        case .codeAlreadyUsed, .invalidCode:
            self.init(.invalidInput, error.description)
        case .processFailed, .clockUnsteady:
            self.init(.failure, error.description)
        default:
            self.init(.noCredentials, error.description)
        }
    }

    init(call: String, _ failure: STSClientError) {
        switch failure {
        case .invalidRequest:
            self.init(.invalidInput, "\(call): \(failure)")
        case .transport, .malformedResponse:
            self.init(.awsUnavailable, "\(call): \(failure)")
        case .service(let service):
            switch service.kind {
            case .clockSkew:
                let offset = service.clockOffset(from: Date()).map { offset in
                    let seconds = Int(offset.magnitude.rounded())
                    return offset > 0 ? " (this clock is \(seconds) s behind AWS's)" : " (this clock is \(seconds) s ahead of AWS's)"
                } ?? ""
                self.init(.clockSkew, "\(call): AWS says the request time is wrong\(offset): set the clock right (e.g. `timedatectl set-ntp true`)")
            case .throttling:
                self.init(.awsUnavailable, "\(call): \(service) (still throttled after one retry)")
            case .wrongMFACode:
                self.init(.awsRefused, "\(call): AWS refused the MFA code (wrong, or already used: AWS accepts each code once)")
            case .other where service.httpStatus >= 500:
                self.init(.awsUnavailable, "\(call): \(service)")
            case .roleChainingLimit:
                self.init(.invalidInput, "\(call): \(service) (ask for --duration 1h or less)")
            default:
                self.init(.awsRefused, "\(call): \(service)")
            }
        }
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
