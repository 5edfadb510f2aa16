import SystemSupport

/// `<CreateVirtualMFADeviceResult><VirtualMFADevice><SerialNumber>arn:aws:iam::…:mfa/NAME</SerialNumber>
/// <Base32StringSeed>…</Base32StringSeed>[<QRCodePNG>…</QRCodePNG>]</VirtualMFADevice></CreateVirtualMFADeviceResult>`
///
/// `Base32StringSeed` is a blob, so on the wire it is the base64 encoding of
/// the base32 text of the seed (AWS and moto alike). The description shows
/// the serial only.
public struct CreateVirtualMFADeviceResult: Sendable, CustomStringConvertible {
    public var serialNumber: String
    /// The seed as base32 text (ASCII), wiped when the last reference goes.
    public var base32Seed: SecretBytes

    public var description: String { "CreateVirtualMFADeviceResult(\(serialNumber), seed withheld)" }

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "CreateVirtualMFADevice", in: response)
        do throws(MalformedResponse) {
            guard let device = result.child("VirtualMFADevice") else { throw .missingElement("VirtualMFADevice") }
            serialNumber = try required(device, "SerialNumber", "VirtualMFADevice")
            let encoded = try required(device, "Base32StringSeed", "VirtualMFADevice")
            guard var text = Base64.decode(encoded), !text.isEmpty,
                text.allSatisfy({ (0x41...0x5A).contains($0) || (0x32...0x37).contains($0) || $0 == 0x3D })
            else {
                throw .invalidValue("VirtualMFADevice/Base32StringSeed")
            }
            base32Seed = SecretBytes(consuming: &text)
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

/// `<GetUserResult><User><Path/><UserName/><UserId/><Arn/><CreateDate/></User></GetUserResult>`
public struct IAMUser: Sendable, Equatable {
    public var userName: String
    public var userID: String
    public var arn: String

    public init(parsing response: TransportResponse) throws(STSClientError) {
        let result = try QueryResponse.result(of: "GetUser", in: response)
        do throws(MalformedResponse) {
            guard let user = result.child("User") else { throw .missingElement("User") }
            userName = try required(user, "UserName", "User")
            userID = try required(user, "UserId", "User")
            arn = try required(user, "Arn", "User")
        } catch {
            throw .malformedResponse(status: response.status, error)
        }
    }
}

/// The answer of a call that returns nothing but its request id
/// (`<EnableMFADeviceResponse><ResponseMetadata>…</ResponseMetadata></EnableMFADeviceResponse>`).
struct Acknowledgement {
    init(of action: String, parsing response: TransportResponse) throws(STSClientError) {
        _ = try QueryResponse.success(of: action, in: response)
    }
}

/// RFC 4648 base64 (standard alphabet, padding optional, whitespace
/// ignored), into a fresh array the caller owns and should wipe.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text.utf8 {
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { continue }
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let value = sextet(byte) else { return nil }
            buffer = (buffer << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // Leftover bits must be the zero fill of a short last group.
        guard bits < 6, padding <= 2 else {
            output.wipe()
            return nil
        }
        return output
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: byte - 0x41
        case 0x61...0x7A: byte - 0x61 + 26
        case 0x30...0x39: byte - 0x30 + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
