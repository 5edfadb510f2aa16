import CPCSCLite
import SmartCard

/// A pcsc-lite context: the connection to pcscd.
///
/// The corresponding C functions are `SCardEstablishContext` and
/// `SCardReleaseContext` (in `deinit`).
public final class PCSCContext {
    private var handle: SCARDCONTEXT = 0

    private static let scopeSystem: DWORD = 2

    public init() throws(PCSCError) {
        try check(SCardEstablishContext(PCSCContext.scopeSystem, nil, nil, &handle), "SCardEstablishContext")
    }

    deinit { _ = SCardReleaseContext(handle) }

    /// The names of the readers pcscd knows, empty when there are none.
    /// The corresponding C function is `SCardListReaders`.
    public func readers() throws(PCSCError) -> [String] {
        var length: DWORD = 0
        var result = SCardListReaders(handle, nil, nil, &length)
        if PCSCError(code: result, function: "").kind == .noReaders { return [] }
        try check(result, "SCardListReaders")
        guard length > 0 else { return [] }
        var buffer = [CChar](repeating: 0, count: Int(length))
        result = SCardListReaders(handle, nil, &buffer, &length)
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
    /// The corresponding C function is `SCardConnect`.
    public func connect(_ reader: String) throws(PCSCError) -> PCSCCard {
        var card: SCARDHANDLE = 0
        var active: DWORD = 0
        let shareShared: DWORD = 2
        let protocols: DWORD = 1 | 2  // SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
        try check(SCardConnect(handle, reader, shareShared, protocols, &card, &active), "SCardConnect")
        return PCSCCard(handle: card, activeProtocol: active, reader: reader)
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

    init(handle: SCARDHANDLE, activeProtocol: DWORD, reader: String) {
        self.handle = handle
        self.activeProtocol = activeProtocol
        self.reader = reader
    }

    deinit {
        let leaveCard: DWORD = 0, resetCard: DWORD = 1
        _ = SCardDisconnect(handle, resetOnDisconnect ? resetCard : leaveCard)
    }

    /// The largest response pcsc-lite can return (extended APDUs).
    private static let receiveLimit = 65_548

    /// The corresponding C function is `SCardTransmit`.
    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        var response = [UInt8](repeating: 0, count: PCSCCard.receiveLimit)
        var length = DWORD(response.count)
        let pci = activeProtocol == 1 ? latchkey_pci_t0() : latchkey_pci_t1()
        let result = command.withUnsafeBufferPointer { send in
            response.withUnsafeMutableBufferPointer { receive in
                SCardTransmit(handle, pci, send.baseAddress, DWORD(send.count), nil, receive.baseAddress, &length)
            }
        }
        try check(result, "SCardTransmit")
        return Array(response.prefix(Int(min(length, DWORD(response.count)))))
    }

    /// Runs `body` inside `SCardBeginTransaction` / `SCardEndTransaction`.
    public func withTransaction<T>(_ body: () throws -> T) throws -> T {
        try check(SCardBeginTransaction(handle), "SCardBeginTransaction")
        defer { _ = SCardEndTransaction(handle, 0) }
        return try body()
    }
}
