// Fuzz target `otpauth`: text a person pastes or a QR code holds.
//
// The input, decoded as UTF-8 (invalid sequences become U+FFFD, as a
// terminal read would give them), goes to every text parser of the OATH
// layer: `OTPAuthURI.parse`, `Base32.decode`, `CredentialID(parsing:)` and
// `OATHAlgorithm(name:)`. Whatever parses must also format and parse back to
// the same value.
import FuzzSupport
import OATH

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    uri(text)
    base32(text)
    credentialID(text)
    use(OATHAlgorithm(name: text))
}

func uri(_ text: String) {
    use(OTPAuthURI.isURI(text))
    let credential: OATHCredential
    do {
        credential = try OTPAuthURI.parse(text)
    } catch {
        use(error.description)
        return
    }
    invariant((try? credential.validate()) != nil, "a parsed URI gives a credential that does not validate")
    let formatted = OTPAuthURI.format(credential)
    do {
        let again = try OTPAuthURI.parse(formatted)
        invariant(again == credential, "\(text) → \(formatted) parses to \(again.id), not \(credential.id)")
    } catch {
        fatalError("invariant broken: \(text) → \(formatted), which does not parse: \(error)")
    }
    let code = credential.code(at: 1_111_111_109)
    invariant(code.utf8.count == credential.digits, "a \(credential.digits)-digit account gave the code \(code)")
}

func base32(_ text: String) {
    guard let decoded = try? Base32.decode(text) else { return }
    // One symbol alone is refused, and two already make a byte.
    invariant(!decoded.isEmpty, "\(text) decodes to no bytes")
    for padding in [false, true] {
        let encoded = Base32.encode(decoded, padding: padding)
        invariant((try? Base32.decode(encoded)) == decoded, "\(hex(decoded)) → \(encoded) decodes differently")
    }
}

func credentialID(_ text: String) {
    for isTOTP in [true, false] {
        let id = CredentialID(parsing: text, isTOTP: isTOTP)
        if !isTOTP { invariant(id.period == nil, "an HOTP id has a period") }
        let written = id.description
        // The default period is not written, so the name "5/a" with period
        // 30 is written "5/a", which reads back as period 5: such ids are
        // ambiguous by design (ykman's format, and what keys store). Every
        // other id reads back as itself.
        if isTOTP && id.period == OATHCredential.defaultPeriod && startsWithPeriod(written) { continue }
        let again = CredentialID(parsing: written, isTOTP: isTOTP)
        invariant(again == id, "the id \(written) (from \(text)) reads back as \(again.period as Any) \(again.issuer as Any) \(again.name)")
    }
}

/// Whether `id` starts with what ``CredentialID/init(parsing:isTOTP:)``
/// takes for a period: ASCII digits that make an `Int`, the scalar `/`, then
/// more. Scalars, as the parser reads them: in "20/" followed by a combining
/// mark, the slash is no Character of its own but still ends the period.
func startsWithPeriod(_ id: String) -> Bool {
    let scalars = id.unicodeScalars
    guard let slash = scalars.firstIndex(of: "/"), slash != scalars.startIndex,
          scalars.index(after: slash) != scalars.endIndex else {
        return false
    }
    let digits = scalars[..<slash]
    return digits.allSatisfy { ("0"..."9").contains($0) } && Int(String(digits)) != nil
}
