import AgentProtocol
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

/// What kind of failure an error is. Scripts branch on the kind (the CLI
/// gives each its own exit code, in one table), so a kind never changes
/// meaning; new kinds are added, never reused.
public enum FailureCategory: String, CaseIterable, Sendable {
    /// Anything not listed below (I/O failures, for instance).
    case failure
    /// No account matches the name, or the name matches several.
    case accountNotFound
    /// The vault's passphrase is wrong.
    case wrongPassphrase
    /// The vault file is damaged, truncated, foreign or from a newer latchkey.
    case vaultDamaged
    /// A passphrase is needed and there is no way to ask for it.
    case noPassphrase
    /// Input on stdin or in a flag is not valid (secret, URI, parameters).
    case invalidInput
    /// The operation would overwrite something; `--force` allows it.
    case alreadyExists
    /// The key waited for a touch that did not come.
    case touchTimeout
    /// No key with an OATH applet was found, or several were and none was chosen.
    case noKey
    /// The key's OATH password is wrong or could not be obtained.
    case oathPassword
    /// pcscd or the key could not be used (not running, refused by polkit,
    /// held by another program, removed mid-operation, answered nonsense).
    case smartCard
    /// AWS refused: wrong or reused MFA code, access denied, invalid or
    /// expired keys, a bad signature.
    case awsRefused
    /// STS or IAM could not be reached, kept throttling, or answered nonsense.
    case awsUnavailable
    /// This machine's clock is too far from AWS's (from its Date header).
    case clockSkew
    /// The profile cannot make credentials: missing, no keys, no MFA device, a loop.
    case noCredentials
    /// Bad flags, arguments or settings that choose how latchkey runs.
    case usage
    /// `exec` could not start the command.
    case commandNotRun
    /// Interrupted by SIGINT or SIGTERM while the key was open over USB.
    case interrupted
    /// The TPM could not be used: none, no permission, tpm2-tss missing,
    /// unreachable, or it lacks the algorithm.
    case tpm
    /// The TPM PIN is wrong or missing, or the TPM is locked out.
    case tpmPIN
    /// A TPM account's key was made by another TPM, or the TPM was cleared.
    case tpmForeignKey
    /// The latchkey agent refused: a profile or MFA device it does not
    /// serve, a request its person did not allow, long-term keys.
    case agentRefused
    /// No latchkey agent answered: none at the socket, a stale socket, one
    /// that stopped mid-request, or one speaking another protocol version.
    case agentUnavailable
}

/// An error already phrased for a person: one line and an exit code.
public struct LatchkeyError: Error, CustomStringConvertible {
    public var category: FailureCategory
    public var message: String

    public init(_ category: FailureCategory, _ message: String) {
        self.category = category
        self.message = message
    }

    public var description: String { message }

    /// The one-line form of an error from a library layer, or `nil` when the
    /// error is not latchkey's own (argument parsing, help requests).
    public init?(mapping error: any Error) {
        switch error {
        case let error as LatchkeyError:
            self = error
        case let error as VaultError:
            let category: FailureCategory = switch error.reason {
            case .format(.wrongPassphrase): .wrongPassphrase
            case .format: .vaultDamaged
            case .alreadyExists: .alreadyExists
            case .notFound: .accountNotFound
            case .emptyPassphrase: .invalidInput
            case .system: .failure
            }
            self.init(category, error.description)
        case let error as VaultEntryError:
            self.init(.invalidInput, error.description)
        case let error as AgentProtocolError:
            self.init(.agentUnavailable, "the latchkey agent's message: \(error)")
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

extension LatchkeyError {
    /// Flow errors: AWS's answers by kind, the clock with its measured offset.
    public init(flow error: CredentialFlowError) {
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

    public init(call: String, _ failure: STSClientError) {
        switch failure {
        case .invalidRequest:
            self.init(.invalidInput, "\(call): \(failure)")
        case .transport, .malformedResponse:
            self.init(.awsUnavailable, "\(call): \(failure)")
        case .service(let service):
            switch service.kind {
            case .clockSkew:
                let offset = service.clockOffset.map { offset in
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

