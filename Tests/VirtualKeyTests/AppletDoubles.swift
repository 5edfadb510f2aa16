import OATH
import SmartCard
import VirtualKey
import YKOATH

/// Hands out 01 02 03 … so salts and challenges are predictable.
final class CountingRandom: RandomSource {
    private var next: UInt8 = 1
    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in
            defer { next &+= 1 }
            return next
        }
    }
}

/// Keeps the last saved state; can be told to fail.
final class MemoryStore: StateStore {
    struct Broken: Error {}
    var saved: [KeyState] = []
    var failing = false
    func save(_ state: KeyState) throws {
        if failing { throw Broken() }
        saved.append(state)
    }
}

/// A button that answers as told and counts how often it was asked.
final class ScriptedTouch: TouchSensor {
    var touched: Bool
    var asked = 0
    init(touched: Bool = true) { self.touched = touched }
    func awaitTouch() -> Bool {
        asked += 1
        return touched
    }
}

/// An applet with in-memory doubles, and helpers that speak YKOATH to it.
final class AppletFixture {
    let store = MemoryStore()
    let touch: ScriptedTouch
    let random = CountingRandom()
    let applet: OATHApplet

    static let selectOATH: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01]

    init(chunkSize: Int? = nil, touched: Bool = true, capacity: Int = 32) {
        touch = ScriptedTouch(touched: touched)
        applet = OATHApplet(
            state: KeyState(salt: [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8]),
            configuration: OATHApplet.Configuration(chunkSize: chunkSize, capacity: capacity),
            random: random, touch: touch, store: store)
    }

    /// Sends raw bytes; returns the parsed response.
    @discardableResult
    func send(_ bytes: [UInt8]) -> ResponseAPDU {
        let raw = applet.process(bytes)
        return ResponseAPDU(parsing: raw) ?? ResponseAPDU(status: StatusWord(rawValue: 0xFFFF))
    }

    @discardableResult
    func send(ins: UInt8, p1: UInt8 = 0, p2: UInt8 = 0, _ items: [TLV] = [], cla: UInt8 = 0) -> ResponseAPDU {
        send(CommandAPDU(cla: cla, ins: ins, p1: p1, p2: p2, data: TLV.serialize(items)).serialize())
    }

    /// SELECT, then the response's TLVs.
    @discardableResult
    func select() -> [TLV] {
        let response = send(Self.selectOATH)
        return (try? TLV.parseAll(response.data)) ?? []
    }

    /// PUT as ykman writes it: the secret padded to 14 bytes.
    @discardableResult
    func put(
        _ name: String, secret: [UInt8], type: UInt8 = 0x20, algorithm: OATHAlgorithm = .sha1,
        digits: UInt8 = 6, properties: UInt8? = nil, imf: UInt32? = nil
    ) -> StatusWord {
        var items = [
            TLV(OATHTag.name, Array(name.utf8)),
            TLV(OATHTag.key, [type | algorithm.ykoathCode, digits] + algorithm.deviceKey(for: secret)),
        ]
        if let properties { items.append(TLV(OATHTag.property, [properties])) }
        if let imf {
            items.append(TLV(OATHTag.imf, [UInt8(imf >> 24), UInt8(imf >> 16 & 0xFF), UInt8(imf >> 8 & 0xFF), UInt8(imf & 0xFF)]))
        }
        return send(ins: 0x01, items).status
    }

    /// CALCULATE with P2 = 01; the code as the client formats it.
    func code(_ name: String, challenge: [UInt8]) -> (StatusWord, String?) {
        let response = send(ins: 0xA2, p2: 0x01, [TLV(OATHTag.name, Array(name.utf8)), TLV(OATHTag.challenge, challenge)])
        guard response.status == .success,
              let items = try? TLV.parseAll(response.data),
              let truncated = items.first(OATHTag.truncatedResponse), truncated.count == 5
        else { return (response.status, nil) }
        return (response.status, OTP.format(OTP.truncatedValue(truncated.dropFirst()), digits: Int(truncated[0])))
    }

    static func timeChallenge(_ unixTime: UInt64, period: UInt64 = 30) -> [UInt8] {
        let step = unixTime / period
        return (0..<8).map { UInt8(truncatingIfNeeded: step >> UInt64(56 - 8 * $0)) }
    }
}

extension StatusWord {
    static let moreData00 = StatusWord(rawValue: 0x6100)
}
