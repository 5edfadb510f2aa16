import SmartCard
import YKOATH

/// A command's data split into TLVs, checked against the tags the command
/// accepts. Bytes that are not TLVs, tags the command does not know, and
/// a tag given twice are all wrong data (6A80).
struct RequestFields {
    let items: [TLV]

    init(_ data: [UInt8], allowed: Set<UInt8>, repeatable: Set<UInt8> = []) throws(APDUFailure) {
        let parsed: [TLV]
        do {
            parsed = try TLV.parseAll(data)
        } catch {
            throw APDUFailure(.wrongData)
        }
        var seen: Set<UInt8> = []
        for item in parsed {
            guard allowed.contains(item.tag) else { throw APDUFailure(.wrongData) }
            guard seen.insert(item.tag).inserted || repeatable.contains(item.tag) else { throw APDUFailure(.wrongData) }
        }
        items = parsed
    }

    func optional(_ tag: UInt8) -> [UInt8]? { items.first(tag) }

    func required(_ tag: UInt8) throws(APDUFailure) -> [UInt8] {
        guard let value = items.first(tag) else { throw APDUFailure(.wrongData) }
        return value
    }

    /// A credential name: 1 to 64 bytes.
    func name() throws(APDUFailure) -> [UInt8] {
        let value = try required(OATHTag.name)
        guard StoredAccount.nameLengths.contains(value.count) else { throw APDUFailure(.wrongData) }
        return value
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}
