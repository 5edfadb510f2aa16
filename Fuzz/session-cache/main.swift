// Fuzz target `session-cache`: the files latchkey leaves in its cache
// directory between runs, which the warm `credential-process` path reads
// first: a cached session (`CachedSession(parsing:)`) and the ledger of
// MFA steps already spent (`SpentCodes.parse`).
//
// Checked besides "no crash": a session that parses has printable ASCII
// fields and reads back from its own serialized form; the ledger's
// entries read back from the lines latchkey writes for them.
import AWSSigning
import FuzzSupport
@testable import SessionCache

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    session(bytes)
    ledger(bytes)
}

func session(_ bytes: [UInt8]) {
    guard let session = CachedSession(parsing: bytes) else { return }
    let fields = [
        session.credentials.accessKeyID, session.credentials.secretAccessKey, session.credentials.sessionToken,
        session.arn, session.mfaSerial,
    ]
    for field in fields.compactMap({ $0 }) {
        invariant(
            !field.isEmpty && field.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F },
            "a cached field is empty or not printable ASCII")
    }
    invariant(CachedSession(parsing: session.serialized) == session, "a cached session does not read back")
    use(session.description)
    invariant(session.expirationText.hasSuffix("Z"), "the expiration prints as \(session.expirationText)")
    // What SessionCache.valid(_:now:minimumSecondsLeft:) asks of every file.
    use(session.secondsLeft(at: 1_700_000_000) > 900)
}

func ledger(_ bytes: [UInt8]) {
    let entries = SpentCodes.parse(bytes)
    // The lines `SpentCodes` writes back (its `withLedger`).
    let text = entries.map { "\($0.kind) \($0.serial) \($0.value) \($0.time)\n" }.joined()
    invariant(SpentCodes.parse(Array(text.utf8)) == entries, "ledger entries do not read back")
}
