// Fuzz target `vault`: the sealed vault file (`vault.sealed`), which anyone
// with write access to the user's data directory can replace.
//
// Each input is read three ways:
//
// 1. As a whole file: `VaultHeader(parsing:)`, then `Vault.unseal` with the
//    key for the passphrase "fuzz passphrase" and the file's own salt and
//    cost. The key is derived only for headers that pass their SHA-256
//    check and ask for the cheapest scrypt (N = 2^10), and kept: in practice
//    the seed vaults, which were sealed under that passphrase, so mutations
//    of their payload reach the key check and the Poly1305 tag.
// 2. As a decrypted payload: `VaultContents(parsing:)`, the accounts and AWS
//    keys read from it, and the canonical round trip (serialize, parse,
//    serialize gives the same bytes).
// 3. As a payload sealed under a fixed key behind a valid header and tag, so
//    that every input reaches the payload parser through `Vault.unseal`
//    itself. It must open exactly when (2) parsed, to the same entries.
//
// Encryption makes (1) stop at the tag for almost every mutation, which is
// the point of it; (2) and (3) are how the parser behind it gets fuzzed.
import Crypto
import FuzzSupport
@testable import SealedStore
import SystemSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

let location = VaultLocation(directory: "/nonexistent/latchkey-fuzz")
let passphrase = SecretBytes(Array("fuzz passphrase".utf8))

func fuzz(_ bytes: [UInt8]) {
    asFile(bytes)
    let parsed = asPayload(bytes)
    asSealedPayload(bytes, parsed: parsed)
}

// MARK: - A whole file

/// Keys derived so far, by salt and cost. libFuzzer calls `fuzz(_:)` from
/// one thread only.
nonisolated(unsafe) var derivedKeys: [[UInt8]: SymmetricKey] = [:]

func asFile(_ bytes: [UInt8]) {
    let header: VaultHeader
    do {
        header = try VaultHeader(parsing: bytes)
    } catch {
        return
    }
    invariant(header.serialized == Array(bytes.prefix(VaultHeader.size)), "a header that parsed serializes differently")
    invariant(header.kdf.isAcceptable, "a header with unacceptable scrypt parameters parsed")
    guard header.kdf == KDFParameters(log2N: 10, r: 8, p: 1) else { return }
    let id = header.salt + [header.kdf.log2N, header.kdf.r, header.kdf.p]
    let key: SymmetricKey
    if let known = derivedKeys[id] {
        key = known
    } else {
        guard derivedKeys.count < 64, let derived = try? Vault.deriveKey(passphrase, kdf: header.kdf, salt: header.salt)
        else { return }
        derivedKeys[id] = derived
        key = derived
    }
    do {
        let opened = try Vault.unseal(bytes, at: location, key: key, expecting: header)
        read(opened.contents)
    } catch let error as VaultError {
        use(error.description)
    } catch {
        fatalError("invariant broken: unseal threw \(error), not a VaultError")
    }
}

// MARK: - A payload

func asPayload(_ bytes: [UInt8]) -> VaultContents? {
    guard let contents = try? VaultContents(parsing: bytes) else { return nil }
    read(contents)
    let canonical = contents.serialize()
    guard let again = try? VaultContents(parsing: canonical) else {
        fatalError("invariant broken: a payload that parsed serializes to one that does not")
    }
    invariant(again.serialize() == canonical, "the canonical payload changes on a second round trip")
    invariant(again.entries.count == contents.entries.count, "the round trip changed the number of entries")
    return contents
}

/// Reads the entries the ways the CLI does.
func read(_ contents: VaultContents) {
    for account in SealedAccounts.all(in: contents) {
        invariant((try? account.validate()) != nil, "a sealed account that does not validate was returned")
        use(account.id.description)
    }
    for key in SealedAWSKey.all(in: contents) {
        invariant(!key.accessKeyID.isEmpty && !key.secretAccessKey.isEmpty, "a sealed AWS key with an empty field")
    }
    for entry in contents.entries {
        use(entry.text("account"))
        use(contents.entry(entry.kind, named: entry.name))
    }
}

// MARK: - A payload behind a valid tag

/// A random key, so no scrypt per run; the header carries its key check.
let fixedKey = SymmetricKey(size: .bits256)
let fixedKDF = KDFParameters(log2N: 10, r: 8, p: 1)
let fixedSalt = [UInt8](repeating: 0x5A, count: 32)
// One nonce for every input: this key seals nothing but fuzz inputs.
let fixedNonce = try! ChaChaPoly.Nonce(data: [UInt8](repeating: 0xA5, count: 12))
let fixedHeader = VaultHeader(kdf: fixedKDF, salt: fixedSalt, nonce: Array(fixedNonce), keyCheck: Vault.keyCheck(fixedKey))

func asSealedPayload(_ bytes: [UInt8], parsed: VaultContents?) {
    let aad = fixedHeader.serialized
    guard let box = try? ChaChaPoly.seal(bytes, using: fixedKey, nonce: fixedNonce, authenticating: aad) else {
        fatalError("invariant broken: sealing failed")
    }
    let file = aad + Array(box.ciphertext) + Array(box.tag)
    do {
        let opened = try Vault.unseal(file, at: location, key: fixedKey, expecting: fixedHeader)
        invariant(parsed != nil, "unseal accepted a payload the parser refuses")
        invariant(opened.contents.serialize() == parsed?.serialize(), "unseal read other entries than the parser")
    } catch let error as VaultError {
        invariant(parsed == nil, "unseal refused a payload the parser accepts: \(error)")
        invariant(error.reason == .format(.payloadDamaged), "a sealed payload that does not parse gave \(error)")
    } catch {
        fatalError("invariant broken: unseal threw \(error), not a VaultError")
    }
}
