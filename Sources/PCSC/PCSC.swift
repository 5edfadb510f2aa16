import CPCSCLite
import SmartCard

/// A pcsc-lite context: the connection to pcscd.
///
/// The corresponding C functions are `SCardEstablishContext` and
/// `SCardReleaseContext` (in `deinit`, unless a call overran its limit).
public final class PCSCContext {
    private var handle: SCARDCONTEXT = 0
    /// Shared with the cards connected through this context.
    let limit: CallLimit

    /// How long latchkey waits for one `SCardConnect`, `SCardBeginTransaction`
    /// or `SCardTransmit` (see ``CallLimit``). The longest wait a working key
    /// makes is a touch-required CALCULATE: a YubiKey waits about 15 s for the
    /// touch (20 s has been reported) before it answers 6982.
    public static let defaultCallLimitSeconds = 25

    /// The reader list's first buffer: pcscd's 16 readers × 128 bytes, and the end.
    static let readerListBytes = 16 * 128 + 1
    /// SCARD_E_INSUFFICIENT_BUFFER.
    static let insufficientBuffer = 0x8010_0008

    private static let scopeSystem: DWORD = 2

    public init(callLimitSeconds: Int = PCSCContext.defaultCallLimitSeconds) throws(PCSCError) {
        limit = CallLimit(seconds: callLimitSeconds)
        try check(SCardEstablishContext(PCSCContext.scopeSystem, nil, nil, &handle), "SCardEstablishContext")
    }

    deinit {
        if !limit.hasOverrun { _ = SCardReleaseContext(handle) }
    }

    /// The names of the readers pcscd knows, empty when there are none.
    /// The corresponding C function is `SCardListReaders`.
    ///
    /// Each `SCardListReaders` is a round trip to pcscd, so the call offers
    /// a buffer that holds any list pcscd 2.x can give (16 readers of at
    /// most 128 bytes). A longer list is answered with
    /// SCARD_E_INSUFFICIENT_BUFFER and the length it needs, asked for once
    /// more with that length.
    public func readers() throws(PCSCError) -> [String] {
        try limit.ensureUsable()
        var length = DWORD(PCSCContext.readerListBytes)
        var buffer = [CChar](repeating: 0, count: Int(length))
        var result = SCardListReaders(handle, nil, &buffer, &length)
        if result == PCSCContext.insufficientBuffer {
            buffer = [CChar](repeating: 0, count: Int(length))
            result = SCardListReaders(handle, nil, &buffer, &length)
        }
        if PCSCError(code: result, function: "").kind == .noReaders { return [] }
        try check(result, "SCardListReaders")
        // A multi-string: names separated by NUL, ended by an empty name.
        var names: [String] = []
        var current: [UInt8] = []
        for char in buffer.prefix(Int(length)) {
            if char == 0 {
                if current.isEmpty { break }
                names.append(String(decoding: current, as: UTF8.self))
                current = []
            } else {
                current.append(UInt8(bitPattern: char))
            }
        }
        return names
    }

    /// Connects to the card in `reader`, shared with other programs, T=1 or T=0.
    /// The corresponding C function is `SCardConnect`; pcscd makes it wait
    /// while another program's transaction holds the card.
    public func connect(_ reader: String) throws(PCSCError) -> PCSCCard {
        let context = handle
        let (card, active) = try limit.run("SCardConnect") { () -> (result: Int, value: (SCARDHANDLE, DWORD)) in
            var card: SCARDHANDLE = 0
            var active: DWORD = 0
            let shareShared: DWORD = 2
            let protocols: DWORD = 1 | 2  // SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
            let result = SCardConnect(context, reader, shareShared, protocols, &card, &active)
            return (result, (card, active))
        }
        return PCSCCard(handle: card, activeProtocol: active, reader: reader, context: self)
    }
}

/// A connected card. Exchanges APDUs; `withTransaction` keeps other programs
/// from interleaving their APDUs with a sequence of ours (an OATH VALIDATE
/// lasts only until another applet is selected).
public final class PCSCCard: SmartCardConnection {
    private let handle: SCARDHANDLE
    private let activeProtocol: DWORD
    public let reader: String
    /// Reset the card when disconnecting, so an OATH session this program
    /// authenticated is not left open for the next program.
    public var resetOnDisconnect = false
    /// pcsc-lite invalidates a card's handle when its context is released,
    /// so the card keeps its context alive.
    private let context: PCSCContext
    /// Whether this card's transaction lasts until it is closed (``holdExclusively()``).
    private var heldUntilClosed = false

    init(handle: SCARDHANDLE, activeProtocol: DWORD, reader: String, context: PCSCContext) {
        self.handle = handle
        self.activeProtocol = activeProtocol
        self.reader = reader
        self.context = context
    }

    deinit {
        let leaveCard: DWORD = 0, resetCard: DWORD = 1
        if !context.limit.hasOverrun { _ = SCardDisconnect(handle, resetOnDisconnect ? resetCard : leaveCard) }
    }

    /// The largest response pcsc-lite can return (extended APDUs).
    private static let receiveLimit = 65_548

    /// The corresponding C function is `SCardTransmit`. Throws a timeout
    /// (``PCSCError/abandonedAfter``) when the card does not answer within
    /// the context's call limit.
    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        let (handle, isT0) = (handle, activeProtocol == 1)
        return try context.limit.run("SCardTransmit") { () -> (result: Int, value: [UInt8]) in
            var result = 0
            let pci = isT0 ? latchkey_pci_t0() : latchkey_pci_t1()
            // pcsc-lite writes the answer straight into the array; only the
            // bytes it wrote count, so the rest is neither zeroed nor copied.
            let response = [UInt8](unsafeUninitializedCapacity: PCSCCard.receiveLimit) { receive, count in
                var length = DWORD(receive.count)
                result = command.withUnsafeBufferPointer { send in
                    SCardTransmit(handle, pci, send.baseAddress, DWORD(send.count), nil, receive.baseAddress, &length)
                }
                count = result == 0 ? Int(min(length, DWORD(receive.count))) : 0
            }
            return (result, response)
        }
    }

    /// Begins a transaction that lasts until the card is closed, so that no
    /// other program's APDU comes between any two of this program's, the
    /// first (an applet's SELECT) included. pcscd ends it when the card is
    /// disconnected (`SCardDisconnect` releases the lock its handle holds),
    /// so closing costs no `SCardEndTransaction`; ``withTransaction(_:)``
    /// then only runs its body.
    public func holdExclusively() throws(PCSCError) {
        guard !heldUntilClosed else { return }
        try beginTransaction()
        heldUntilClosed = true
    }

    /// Runs `body` inside `SCardBeginTransaction` / `SCardEndTransaction`
    /// (just `body` when ``holdExclusively()`` already holds the card).
    public func withTransaction<T>(_ body: () throws -> T) throws -> T {
        if heldUntilClosed { return try body() }
        try beginTransaction()
        defer {
            if !context.limit.hasOverrun { _ = SCardEndTransaction(handle, 0) }
        }
        return try body()
    }

    /// pcsc-lite's `SCardBeginTransaction` retries while another program's
    /// transaction holds the card, hence the call limit.
    private func beginTransaction() throws(PCSCError) {
        let handle = handle
        try context.limit.run("SCardBeginTransaction") { (SCardBeginTransaction(handle), ()) }
    }
}
