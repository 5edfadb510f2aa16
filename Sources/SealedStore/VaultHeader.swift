import Crypto

/// The cleartext header of a sealed vault file. It is also the AEAD's
/// associated data, so none of it can change without the payload failing to
/// open.
///
///     offset size  field
///          0    8  magic "LATCHKEY"
///          8    1  format version (1)
///          9    1  KDF (1 = scrypt)
///         10    1  scrypt log2(N)
///         11    1  scrypt r
///         12    1  scrypt p
///         13    1  AEAD (1 = ChaCha20-Poly1305)
///         14    2  reserved, zero
///         16   32  salt
///         48   12  nonce
///         60   32  key check: HMAC-SHA256(key, "latchkey key check v1")
///         92   32  SHA-256 of bytes 0..<92 (detects damage before the KDF runs)
///        124  ...  ciphertext, then the 16-byte Poly1305 tag
///
/// The key check tells a wrong passphrase from a damaged payload: a wrong
/// passphrase fails the check; a payload changed after sealing passes it and
/// then fails the tag.
public struct VaultHeader: Equatable, Sendable {
    public static let magic = Array("LATCHKEY".utf8)
    public static let currentVersion: UInt8 = 1
    public static let size = 124
    static let checkedSize = 92
    static let keyCheckLabel = Array("latchkey key check v1".utf8)

    public var version: UInt8
    public var kdf: KDFParameters
    public var salt: [UInt8]
    public var nonce: [UInt8]
    public var keyCheck: [UInt8]

    /// The bytes exactly as they were read (or will be written).
    public var serialized: [UInt8] {
        var out = checkedPrefix
        out += Array(SHA256.hash(data: out))
        return out
    }

    private var checkedPrefix: [UInt8] {
        var out = VaultHeader.magic
        out += [version, 1, kdf.log2N, kdf.r, kdf.p, 1, 0, 0]
        out += salt
        out += nonce
        out += keyCheck
        return out
    }

    init(kdf: KDFParameters, salt: [UInt8], nonce: [UInt8], keyCheck: [UInt8]) {
        self.version = VaultHeader.currentVersion
        self.kdf = kdf
        self.salt = salt
        self.nonce = nonce
        self.keyCheck = keyCheck
    }

    /// Parses and checks the header at the start of `file`.
    public init(parsing file: [UInt8]) throws(VaultFormatError) {
        var reader = ByteReader(file[...])
        guard let magic = reader.bytes(8), magic.elementsEqual(VaultHeader.magic) else {
            throw file.count < 8 && VaultHeader.magic.starts(with: file) ? .truncated : .notAVault
        }
        guard let version = reader.uint8() else { throw .truncated }
        guard version == VaultHeader.currentVersion else { throw .unsupportedVersion(version) }
        guard file.count >= VaultHeader.size else { throw .truncated }
        let stored = file[VaultHeader.checkedSize..<VaultHeader.size]
        guard stored.elementsEqual(SHA256.hash(data: file[0..<VaultHeader.checkedSize])) else {
            throw .headerDamaged
        }
        guard let kdfID = reader.uint8(), let log2N = reader.uint8(), let r = reader.uint8(), let p = reader.uint8(),
              let aeadID = reader.uint8(), let reserved = reader.uint16(),
              let salt = reader.bytes(32), let nonce = reader.bytes(12), let keyCheck = reader.bytes(32)
        else { throw .truncated }
        guard kdfID == 1, aeadID == 1, reserved == 0 else { throw .headerDamaged }
        let kdf = KDFParameters(log2N: log2N, r: r, p: p)
        guard kdf.isAcceptable else { throw .headerDamaged }
        self.version = version
        self.kdf = kdf
        self.salt = Array(salt)
        self.nonce = Array(nonce)
        self.keyCheck = Array(keyCheck)
    }
}

/// scrypt's cost parameters, stored in the header so a vault opens with the
/// parameters it was sealed with.
public struct KDFParameters: Equatable, Sendable, CustomStringConvertible {
    public var log2N: UInt8
    public var r: UInt8
    public var p: UInt8

    public init(log2N: UInt8, r: UInt8, p: UInt8) {
        self.log2N = log2N
        self.r = r
        self.p = p
    }

    /// N = 2^17, r = 8, p = 1: 128 MiB and a fraction of a second per unlock.
    public static let standard = KDFParameters(log2N: 17, r: 8, p: 1)

    /// The range a file may ask for. A hostile file cannot make the unlock
    /// take more than 1 GiB (2^20 × 128 × 8) or run for minutes.
    public static let log2NRange: ClosedRange<UInt8> = 10...20

    public var isAcceptable: Bool {
        KDFParameters.log2NRange.contains(log2N) && (1...8).contains(r) && p == 1
    }

    public var description: String { "scrypt N=2^\(log2N) r=\(r) p=\(p)" }
}

public enum VaultFormatError: Error, Equatable, Sendable {
    case notAVault
    case truncated
    case unsupportedVersion(UInt8)
    case headerDamaged
    case payloadDamaged
    case wrongPassphrase
}
