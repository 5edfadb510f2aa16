import OATH
import SmartCard
import YKOATH

// MARK: - PUT, DELETE, RENAME, LIST

extension OATHApplet {
    /// PUT `00 01 00 00`: `71 name`, `73 L [type|algo] [digits] [secret]`,
    /// optional `78 props` (01 only-increasing, 02 touch), optional
    /// `7A 04 <IMF, BE32>` (HOTP's first counter). A known name is
    /// overwritten in place. Answers 6A80 for a bad field, 6A84 when full.
    func put(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        try requireNoParameters(command)
        let fields = try RequestFields(
            command.data, allowed: [OATHTag.name, OATHTag.key, OATHTag.property, OATHTag.imf])
        let name = try fields.name()
        let key = try fields.required(OATHTag.key)
        guard key.count >= 2,
              let type = StoredAccount.AccountType(ykoathCode: key[0]),
              let algorithm = OATHAlgorithm(ykoathCode: key[0] & 0x0F),
              StoredAccount.digitCounts.contains(key[1])
        else { throw APDUFailure(.wrongData) }
        let properties = fields.optional(OATHTag.property)?.first ?? 0
        var counter: UInt64 = 0
        if let imf = fields.optional(OATHTag.imf) {
            guard imf.count == 4 else { throw APDUFailure(.wrongData) }
            counter = imf.reduce(0) { $0 << 8 | UInt64($1) }
        }
        let account = StoredAccount(
            name: name, type: type, algorithm: algorithm, digits: key[1],
            secret: algorithm.deviceKey(for: Array(key.dropFirst(2))),
            requiresTouch: properties & 0x02 != 0, onlyIncreasing: properties & 0x01 != 0,
            counter: counter)
        let existing = state.index(ofAccountNamed: name)
        guard existing != nil || state.accounts.count < configuration.capacity else {
            throw APDUFailure(.notEnoughSpace)
        }
        try commit { state in
            if let existing {
                state.accounts[existing] = account
            } else {
                state.accounts.append(account)
            }
        }
        return []
    }

    /// DELETE `00 02 00 00`: `71 name`. 6984 when no such account.
    func delete(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        try requireNoParameters(command)
        let fields = try RequestFields(command.data, allowed: [OATHTag.name])
        guard let index = state.index(ofAccountNamed: try fields.name()) else {
            throw APDUFailure(.noSuchObject)
        }
        try commit { $0.accounts.remove(at: index) }
        return []
    }

    /// RENAME `00 05 00 00`: `71 old` then `71 new` (firmware 5.3.1+).
    /// 6984 when `old` is absent; 6A80 when `new` is invalid or taken.
    func rename(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        try requireNoParameters(command)
        let fields = try RequestFields(command.data, allowed: [OATHTag.name], repeatable: [OATHTag.name])
        guard fields.items.count == 2 else { throw APDUFailure(.wrongData) }
        let old = fields.items[0].value
        let new = fields.items[1].value
        guard StoredAccount.nameLengths.contains(old.count), StoredAccount.nameLengths.contains(new.count) else {
            throw APDUFailure(.wrongData)
        }
        guard let index = state.index(ofAccountNamed: old) else { throw APDUFailure(.noSuchObject) }
        if old == new { return [] }
        guard state.index(ofAccountNamed: new) == nil else { throw APDUFailure(.wrongData) }
        try commit { $0.accounts[index].name = new }
        return []
    }

    /// LIST `00 A1 00 00` → one `72 L [type|algo] name` per account, in the
    /// order they were added.
    func list(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        try requireNoParameters(command)
        return TLV.serialize(state.accounts.map { TLV(OATHTag.nameListEntry, [$0.typeAlgorithm] + $0.name) })
    }

    func requireNoParameters(_ command: CommandAPDU) throws(APDUFailure) {
        guard command.p1 == 0, command.p2 == 0 else { throw APDUFailure(.wrongParameters) }
    }
}
