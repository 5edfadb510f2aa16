import CTPMShim
import SystemSupport

/// A hash a TPM can key an HMAC with (TPM_ALG_ID values).
public enum TPMHash: UInt16, CaseIterable, Sendable {
    case sha1 = 0x0004
    case sha256 = 0x000B
    case sha512 = 0x000D

    public var name: String {
        switch self {
        case .sha1: "SHA-1"
        case .sha256: "SHA-256"
        case .sha512: "SHA-512"
        }
    }
}

/// The TPM's public and wrapped private parts of one key, marshalled as
/// TPM2B_PUBLIC and TPM2B_PRIVATE (the TSS format `tpm2_load -u/-r` reads).
/// The private part is encrypted under the TPM's own storage key: useless
/// on any other TPM, and on this one after its owner hierarchy is cleared.
public struct TPMKeyBlobs: Sendable, Equatable {
    public var publicArea: [UInt8]
    public var privateArea: [UInt8]

    public init(publicArea: [UInt8], privateArea: [UInt8]) {
        self.publicArea = publicArea
        self.privateArea = privateArea
    }
}

/// Which TPM to use: a TCTI configuration string for tpm2-tss's loader,
/// and which storage key to make the account keys under.
public struct TPMConnection: Sendable, Equatable {
    public var tcti: String
    /// `LATCHKEY_TPM_PRIMARY`: `ecc` or unset, the ECC P-256 primary, or
    /// RSA-2048 where the TPM has no ECC P-256 (the TPM decides, so the same
    /// TPM always gets the same one); `rsa2048`, always RSA-2048 (for a TPM
    /// whose ECC fails in a way latchkey does not recognise). Keys made
    /// under one primary load only under that one.
    public var primary: String?

    public init(tcti: String, primary: String? = nil) {
        self.tcti = tcti
        self.primary = primary
    }

    /// The kernel's resource manager.
    public static let defaultTCTI = "device:/dev/tpmrm0"

    /// `LATCHKEY_TPM_TCTI`, else `TPM2TOOLS_TCTI` (tpm2-tools' own), else
    /// the kernel's resource manager.
    public static func standard(in environment: Environment) -> TPMConnection {
        let primary = environment.nonEmpty("LATCHKEY_TPM_PRIMARY")
        for name in ["LATCHKEY_TPM_TCTI", "TPM2TOOLS_TCTI"] {
            if let value = environment.nonEmpty(name) { return TPMConnection(tcti: value, primary: primary) }
        }
        return TPMConnection(tcti: defaultTCTI, primary: primary)
    }

    /// The character device a `device:` TCTI opens, when it is one.
    public var devicePath: String? {
        guard tcti == "device" || tcti.hasPrefix("device:") else { return nil }
        let path = tcti.dropFirst("device".count).drop { $0 == ":" }
        return path.isEmpty ? "/dev/tpm0" : String(path)
    }
}

/// An open TPM: the owner hierarchy's storage key and a salted session are
/// made on first use and flushed when this is released.
///
/// Every call into tpm2-tss runs through ``BoundedCall``: a TPM (or a
/// simulator, or a resource manager) that stops answering would otherwise
/// hold latchkey, and the AWS CLI waiting on `credential-process`, for ever,
/// since tpm2-tss's synchronous calls wait without a limit. After
/// ``callLimitSeconds`` the call is abandoned and the device makes no more
/// calls: each throws the same error, and the handle is never released (the
/// abandoned call may still be using it); the process reports and exits.
///
/// The corresponding C functions are `Tss2_TctiLdr_Initialize` and
/// `Esys_Initialize` (opening), `Esys_FlushContext` and `Esys_Finalize`
/// (releasing).
public final class TPMDevice {
    /// The handle, shared with the call's thread.
    private struct Handle: @unchecked Sendable {
        // @unchecked: a pointer tpm2-tss's context; one call uses it at a time.
        let pointer: OpaquePointer
    }

    private let handle: Handle
    public let connection: TPMConnection
    /// The call that did not answer in time, once one has not.
    private var abandoned: String?

    /// How long one call may take. A TPM answers in milliseconds, creating
    /// a key in well under a second; a TPM busy with another client's key
    /// generation can take several seconds.
    public static let callLimitSeconds = 25

    public init(_ connection: TPMConnection) throws(TPMError) {
        guard [nil, "ecc", "rsa2048"].contains(connection.primary) else {
            throw TPMError(code: 0, function: "", text: "LATCHKEY_TPM_PRIMARY must be ecc or rsa2048", shimStatus: LATCHKEY_TPM_BAD_ARGUMENT)
        }
        let tcti = connection.tcti
        let rsa = connection.primary == "rsa2048"
        let (status, error, opened) = try Self.bounded("Esys_Initialize") { () -> (Int32, latchkey_tpm_error, Handle?) in
            var error = latchkey_tpm_error()
            var opened: OpaquePointer?
            let status = latchkey_tpm_open(tcti, &opened, &error)
            if rsa { latchkey_tpm_use_rsa_primary(opened) }
            return (status, error, opened.map(Handle.init))
        }
        guard status == 0, let opened else { throw TPMError(status: status, error) }
        handle = opened
        self.connection = connection
    }

    deinit {
        if abandoned == nil { latchkey_tpm_close(handle.pointer) }
    }

    /// A new HMAC key (hash `hash`) with `seed` as its key, made inside the
    /// TPM over an encrypted session; `pin`, when given, is its authValue.
    /// The corresponding C function is `Esys_Create`.
    public func createHMACKey(seed: SecretBytes, hash: TPMHash, pin: SecretBytes?) throws(TPMError) -> TPMKeyBlobs {
        let (status, error, blobs) = try call("Esys_Create") { handle -> (Int32, latchkey_tpm_error, TPMKeyBlobs) in
            var publicArea = [UInt8](repeating: 0, count: Int(LATCHKEY_TPM_BLOB_MAX))
            var privateArea = [UInt8](repeating: 0, count: Int(LATCHKEY_TPM_BLOB_MAX))
            var publicLength = 0
            var privateLength = 0
            var error = latchkey_tpm_error()
            let status = seed.withUnsafeBytes { seedBytes in
                Self.withAuth(pin) { auth in
                    latchkey_tpm_create_hmac_key(
                        handle.pointer, hash.rawValue, seedBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), seedBytes.count,
                        auth.baseAddress?.assumingMemoryBound(to: UInt8.self), auth.count,
                        &publicArea, &publicLength, &privateArea, &privateLength, &error)
                }
            }
            return (status, error, TPMKeyBlobs(publicArea: Array(publicArea.prefix(publicLength)), privateArea: Array(privateArea.prefix(privateLength))))
        }
        guard status == 0 else { throw TPMError(status: status, error) }
        return blobs
    }

    /// HMAC(key, message) computed by the TPM with a key from
    /// ``createHMACKey(seed:hash:pin:)``, loaded and flushed again.
    /// The corresponding C functions are `Esys_Load`, `Esys_HMAC` and
    /// `Esys_FlushContext`.
    public func hmac(_ message: [UInt8], key: TPMKeyBlobs, pin: SecretBytes?) throws(TPMError) -> [UInt8] {
        let (status, error, result) = try call("Esys_HMAC") { handle -> (Int32, latchkey_tpm_error, [UInt8]) in
            var mac = [UInt8](repeating: 0, count: 64)
            var length = 0
            var error = latchkey_tpm_error()
            let status = Self.withAuth(pin) { auth in
                latchkey_tpm_hmac(
                    handle.pointer, key.publicArea, key.publicArea.count, key.privateArea, key.privateArea.count,
                    auth.baseAddress?.assumingMemoryBound(to: UInt8.self), auth.count, message, message.count, &mac, &length, &error)
            }
            let result = status == 0 ? Array(mac.prefix(length)) : []
            mac.wipe()
            return (status, error, result)
        }
        guard status == 0 else { throw TPMError(status: status, error) }
        return result
    }

    /// A TPM property (TPM2_GetCapability, TPM_CAP_TPM_PROPERTIES), or `nil`
    /// when the TPM does not report it.
    public func property(_ property: TPMProperty) throws(TPMError) -> UInt32? {
        let (status, error, value) = try call("Esys_GetCapability") { handle -> (Int32, latchkey_tpm_error, UInt32) in
            var value: UInt32 = 0
            var error = latchkey_tpm_error()
            let status = latchkey_tpm_property(handle.pointer, property.rawValue, &value, &error)
            return (status, error, value)
        }
        if status == LATCHKEY_TPM_FAILED, error.rc == 0 { return nil }
        guard status == 0 else { throw TPMError(status: status, error) }
        return value
    }

    /// Whether the TPM implements `hash` (TPM2_GetCapability, TPM_CAP_ALGS).
    public func implements(_ hash: TPMHash) throws(TPMError) -> Bool {
        try implements(algorithm: hash.rawValue)
    }

    /// TPM_ALG_HMAC, for ``implements(algorithm:)``.
    public static let hmacAlgorithm: UInt16 = 0x0005

    /// Whether the TPM implements the algorithm with this TPM_ALG_ID.
    public func implements(algorithm: UInt16) throws(TPMError) -> Bool {
        let (status, error, present) = try call("Esys_GetCapability") { handle -> (Int32, latchkey_tpm_error, Int32) in
            var present: Int32 = 0
            var error = latchkey_tpm_error()
            let status = latchkey_tpm_has_algorithm(handle.pointer, algorithm, &present, &error)
            return (status, error, present)
        }
        guard status == 0 else { throw TPMError(status: status, error) }
        return present != 0
    }

    /// Runs one shim call on the handle within the limit; refuses once a
    /// call has overrun.
    private func call<T: Sendable>(_ function: String, _ body: @escaping @Sendable (Handle) -> T) throws(TPMError) -> T {
        if let abandoned { throw .noAnswer(function: abandoned, seconds: Self.callLimitSeconds) }
        let handle = handle
        do {
            return try Self.bounded(function) { body(handle) }
        } catch {
            abandoned = function
            throw error
        }
    }

    private static func bounded<T: Sendable>(_ function: String, _ body: @escaping @Sendable () -> T) throws(TPMError) -> T {
        guard let value = BoundedCall.run(within: callLimitSeconds, body) else {
            throw .noAnswer(function: function, seconds: callLimitSeconds)
        }
        return value
    }

    private static func withAuth<R>(_ pin: SecretBytes?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let pin else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return pin.withUnsafeBytes(body)
    }
}

/// TPM properties latchkey reads (TPM_PT values).
public enum TPMProperty: UInt32, Sendable {
    case manufacturer = 0x105
    case firmwareVersion1 = 0x10B
    case firmwareVersion2 = 0x10C
    case lockoutCounter = 0x20E
    case maxAuthFail = 0x20F
    case lockoutInterval = 0x210
    case lockoutRecovery = 0x211
}
