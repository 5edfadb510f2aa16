import CTPMShim

/// A failed tpm2-tss call: the TSS2_RC, the function that returned it and
/// tpm2-tss's text for it (`Tss2_RC_Decode`).
public struct TPMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// TSS2_RC: bits 16–23 name the layer (0 the TPM itself, 7 ESAPI, 9 the
    /// marshalling library, 10 the TCTI), the rest the layer's code.
    public var code: UInt32
    public var function: String
    public var text: String
    /// The shim's own failures (no library, bad argument) have code 0.
    public var shimStatus: Int32

    public init(code: UInt32, function: String, text: String, shimStatus: Int32 = 1) {
        self.code = code
        self.function = function
        self.text = text
        self.shimStatus = shimStatus
    }

    init(status: Int32, _ error: latchkey_tpm_error) {
        var error = error
        let function = withUnsafeBytes(of: &error.function) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let text = withUnsafeBytes(of: &error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        self.init(code: error.rc, function: function, text: text, shimStatus: status)
    }

    /// The shim status of a call that did not answer within its limit.
    public static let noAnswerStatus: Int32 = -100

    /// A call abandoned after `seconds` (see ``TPMDevice``).
    public static func noAnswer(function: String, seconds: Int) -> TPMError {
        TPMError(code: 0, function: function, text: "the TPM did not answer within \(seconds) s", shimStatus: noAnswerStatus)
    }

    /// What went wrong, for the cases callers tell apart.
    public enum Kind: Sendable, Equatable {
        /// tpm2-tss is not installed.
        case noLibrary
        /// An argument latchkey refused before asking the TPM (a seed or a
        /// PIN too long, an unknown LATCHKEY_TPM_PRIMARY).
        case badArgument
        /// A call did not return within the limit: the TPM, the simulator or
        /// the resource manager stopped answering.
        case noAnswer
        /// The TCTI could not reach the TPM (no device, no permission, no
        /// simulator listening, the connection dropped).
        case unreachable
        /// The key's authValue (PIN) is wrong: TPM_RC_AUTH_FAIL or TPM_RC_BAD_AUTH.
        case wrongAuth
        /// The dictionary-attack protection is locked out: TPM_RC_LOCKOUT.
        case lockout
        /// The blobs were not made by this TPM under its current owner seed:
        /// TPM_RC_INTEGRITY (or a damaged blob).
        case foreignKey
        /// The TPM lacks the hash or scheme: TPM_RC_HASH, TPM_RC_SCHEME.
        case unsupportedAlgorithm
        /// The stored blobs do not unmarshal.
        case damagedBlob
        case other
    }

    public var kind: Kind {
        if shimStatus == LATCHKEY_TPM_NO_LIBRARY { return .noLibrary }
        if shimStatus == Self.noAnswerStatus { return .noAnswer }
        if shimStatus == LATCHKEY_TPM_BAD_ARGUMENT { return .badArgument }
        let layer = code >> 16
        switch layer {
        case 0: return Self.tpmKind(code & 0xFFFF)
        case 9: return .damagedBlob
        case 10: return .unreachable
        default: return .other
        }
    }

    /// A TPM response code's kind. Format 1 (bit 7) codes carry the number
    /// of the handle, parameter or session at fault in bits 6 and 8–11;
    /// the error itself is bits 0–5.
    private static func tpmKind(_ code: UInt32) -> Kind {
        if code & 0x80 != 0 {
            switch code & 0x3F {
            case 0x0E, 0x22: return .wrongAuth  // TPM_RC_AUTH_FAIL, TPM_RC_BAD_AUTH
            case 0x1F, 0x15, 0x1C: return .foreignKey  // TPM_RC_INTEGRITY, TPM_RC_SIZE, TPM_RC_KEY
            case 0x03, 0x12: return .unsupportedAlgorithm  // TPM_RC_HASH, TPM_RC_SCHEME
            default: return .other
            }
        }
        switch code & 0xFFF {
        case 0x921: return .lockout  // TPM_RC_LOCKOUT
        default: return .other
        }
    }

    public var description: String {
        let rc = "0x" + String(code, radix: 16)
        if function.isEmpty { return text }
        return "\(function) failed (\(rc)\(text.isEmpty ? "" : ": " + text))"
    }
}
