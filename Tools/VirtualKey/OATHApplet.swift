import SmartCard
import YKOATH

/// Where the applet writes its state after every change. A failed save
/// leaves the applet's state as it was and answers 6581 (memory error), as
/// a key with failing flash would.
public protocol StateStore {
    func save(_ state: KeyState) throws
}

/// A YubiKey OATH applet (YKOATH) in software: raw command APDUs in, raw
/// response APDUs (data + SW1 SW2) out.
///
/// Session rules, as on a real key:
/// - The applet answers only after a SELECT of its AID
///   `A0 00 00 05 27 21 01` (before that, and for every other AID, the
///   card has no applet: 6D00, and 6A82 to the SELECT).
/// - With a password set, every instruction but SELECT, VALIDATE, RESET and
///   SEND REMAINING answers 6982 until a VALIDATE that answers the last
///   SELECT's challenge. A new SELECT, a card reset or a power cycle ends that.
/// - A response longer than `Configuration.chunkSize` goes out in pieces:
///   `<piece> 61 xx` (xx the bytes still waiting, 00 when 256 or more),
///   then SEND REMAINING (`00 A5 00 00`) for each next piece. Any other
///   command drops what was waiting.
/// - Command chaining (CLA `10`): the data of chained commands is
///   collected and handed to the final command (CLA `00`, same INS).
///
/// Nothing here traps on any input: every malformed APDU gets a status word.
public final class OATHApplet {
    public struct Configuration: Sendable {
        /// The firmware version SELECT reports (`79`).
        public var version: [UInt8]
        /// Split responses longer than this many data bytes; `nil`: never.
        public var chunkSize: Int?
        /// How many accounts fit (YubiKey 5 before 5.7: 32).
        public var capacity: Int

        public init(version: [UInt8] = [5, 4, 3], chunkSize: Int? = nil, capacity: Int = 32) {
            self.version = version
            self.chunkSize = chunkSize.map { max($0, 1) }
            self.capacity = capacity
        }
    }

    /// The OATH applet's AID as clients select it (the instance AID adds a
    /// trailing `01`; either form selects it).
    public static let aid: [UInt8] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01]
    static let instanceAID: [UInt8] = aid + [0x01]
    /// The most data command chaining collects (a YubiKey 4's APDU limit).
    static let maximumChainedData = 2048

    public private(set) var state: KeyState
    public let configuration: Configuration
    let random: any RandomSource
    let touch: any TouchSensor
    let store: any StateStore

    // MARK: - Session (cleared on SELECT, reset and power off)

    public private(set) var isSelected = false
    var isValidated = false
    /// The `74` challenge the last SELECT sent (only with a password).
    var selectChallenge: [UInt8]?
    /// Response bytes waiting for SEND REMAINING.
    var pendingResponse: [UInt8] = []
    var chain: (ins: UInt8, data: [UInt8])?

    public init(
        state: KeyState, configuration: Configuration = Configuration(),
        random: any RandomSource = SystemRandomSource(), touch: any TouchSensor, store: any StateStore
    ) {
        self.state = state
        self.configuration = configuration
        self.random = random
        self.touch = touch
        self.store = store
    }

    /// Whether commands marked "needs VALIDATE" may run now.
    var isAuthorized: Bool { state.accessKey == nil || isValidated }

    /// The card was reset or powered off: the applet is deselected and
    /// forgets the session (validation, waiting response, chain).
    public func resetCard() {
        isSelected = false
        endSession()
    }

    func endSession() {
        isValidated = false
        selectChallenge = nil
        pendingResponse = []
        chain = nil
    }

    // MARK: - Processing

    /// Handles one command APDU and returns the response APDU's bytes (always
    /// at least SW1 SW2).
    public func process(_ apdu: [UInt8]) -> [UInt8] {
        handle(apdu).serialize()
    }

    func handle(_ bytes: [UInt8]) -> ResponseAPDU {
        let command: CommandAPDU
        do {
            command = try CommandAPDU(parsing: bytes)
        } catch {
            pendingResponse = []
            chain = nil
            return ResponseAPDU(status: .wrongLength)
        }
        let instruction = Instruction(ins: command.ins, p1: command.p1)
        if instruction != .sendRemaining { pendingResponse = [] }
        do {
            let data = try dispatch(command, instruction)
            return respond(with: data)
        } catch {
            return ResponseAPDU(status: error.status)
        }
    }

    private func dispatch(_ command: CommandAPDU, _ instruction: Instruction) throws(APDUFailure) -> [UInt8] {
        var command = command
        guard try collectChain(&command) else { return [] }
        if instruction == .select { return try select(command) }
        guard isSelected else { throw APDUFailure(.insNotSupported) }
        if instruction.needsValidation, !isAuthorized { throw APDUFailure(.securityStatusNotSatisfied) }
        switch instruction {
        case .select: return try select(command)
        case .put: return try put(command)
        case .delete: return try delete(command)
        case .setCode: return try setCode(command)
        case .reset: return try reset(command)
        case .rename: return try rename(command)
        case .list: return try list(command)
        case .calculate: return try calculate(command)
        case .validate: return try validate(command)
        case .calculateAll: return try calculateAll(command)
        case .sendRemaining: return sendRemaining()
        case .unknown: throw APDUFailure(.insNotSupported)
        }
    }

    /// CLA `00` plain, `10` "more commands of this chain follow"; no
    /// secure messaging or logical channels. Returns `false` for a chained
    /// piece (answered 9000, the command runs when its last piece comes);
    /// `true` with the whole chain's data in `command` otherwise.
    private func collectChain(_ command: inout CommandAPDU) throws(APDUFailure) -> Bool {
        guard command.cla & ~0x10 == 0 else {
            chain = nil
            throw APDUFailure(.claNotSupported)
        }
        var collected: [UInt8] = []
        if let chain, chain.ins == command.ins { collected = chain.data }
        chain = nil
        guard collected.count + command.data.count <= Self.maximumChainedData else {
            throw APDUFailure(.wrongLength)
        }
        collected += command.data
        if command.cla & 0x10 != 0 {
            chain = (command.ins, collected)
            return false
        }
        command.data = collected
        return true
    }

    private func select(_ command: CommandAPDU) throws(APDUFailure) -> [UInt8] {
        guard command.p1 == 0x04, command.p2 == 0x00 else { throw APDUFailure(.wrongParameters) }
        guard command.data.count >= Self.aid.count, Self.instanceAID.starts(with: command.data) else {
            throw APDUFailure(.fileNotFound)
        }
        isSelected = true
        endSession()
        var items = [TLV(OATHTag.version, configuration.version), TLV(OATHTag.name, state.salt)]
        if let access = state.accessKey {
            let challenge = random.bytes(8)
            selectChallenge = challenge
            items.append(TLV(OATHTag.challenge, challenge))
            items.append(TLV(OATHTag.algorithm, [access.algorithm.ykoathCode]))
        }
        return TLV.serialize(items)
    }

    // MARK: - Chunked responses

    private func respond(with data: [UInt8]) -> ResponseAPDU {
        guard let size = configuration.chunkSize, data.count > size else {
            return ResponseAPDU(data: data, status: .success)
        }
        pendingResponse = Array(data[size...])
        return ResponseAPDU(data: Array(data.prefix(size)), status: Self.moreData(pendingResponse.count))
    }

    /// SEND REMAINING hands out the next piece; with nothing waiting it
    /// answers 9000 and no data.
    private func sendRemaining() -> [UInt8] {
        let waiting = pendingResponse
        pendingResponse = []
        return waiting
    }

    /// `61 xx`: xx more bytes wait; `61 00` when 256 or more do.
    static func moreData(_ remaining: Int) -> StatusWord {
        StatusWord(sw1: 0x61, sw2: remaining > 0xFF ? 0 : UInt8(remaining))
    }

    // MARK: - Saving

    /// Applies `change` to the state and saves it; if saving fails the
    /// state is put back and the command answers 6581.
    func commit(_ change: (inout KeyState) -> Void) throws(APDUFailure) {
        let before = state
        change(&state)
        do {
            try store.save(state)
        } catch {
            state = before
            throw APDUFailure(.memoryFailure)
        }
    }
}

/// A command's failure: the status word to answer with.
struct APDUFailure: Error {
    var status: StatusWord
    init(_ status: StatusWord) { self.status = status }
}
