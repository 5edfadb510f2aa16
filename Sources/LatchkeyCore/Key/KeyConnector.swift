import PCSC
import YubiKey

/// Which key to open, and how to reach it.
public struct KeyRequest: Sendable, Equatable {
    /// Part of the reader's name (`--reader`, `LATCHKEY_READER`, a profile's `latchkey_reader`).
    public var reader: String?
    public var transport: KeyTransport

    public init(reader: String?, transport: KeyTransport) {
        self.reader = reader
        self.transport = transport
    }
}

/// Finds the key and opens its OATH applet (SELECT sent).
public protocol KeyConnector {
    func connect(_ request: KeyRequest, isCancelled: @escaping @Sendable () -> Bool) throws -> FoundKey
}

/// The real key: through pcscd, or directly over USB (CCID through libusb).
///
/// With `auto`: through pcscd, unless pcscd is not running or sees no
/// reader (pcscd without the CCID driver, or a key it has not claimed);
/// then directly over USB. When USB has no key either, pcscd's error is
/// the one reported, since it says more.
public struct LiveKeyConnector: KeyConnector {
    public init() {}

    public func connect(_ request: KeyRequest, isCancelled: @escaping @Sendable () -> Bool) throws -> FoundKey {
        switch request.transport {
        case .pcsc:
            return try overPCSC(request.reader)
        case .ccid:
            return try CCIDKeyFinder.find(filter: request.reader, isCancelled: isCancelled)
        case .auto:
            let pcscError: KeyAccessError
            do {
                return try overPCSC(request.reader)
            } catch {
                guard error.letsUSBTry else { throw error }
                pcscError = error
            }
            do {
                return try CCIDKeyFinder.find(filter: request.reader, isCancelled: isCancelled)
            } catch {
                throw error == .noUSBKey ? pcscError : error
            }
        }
    }

    private func overPCSC(_ filter: String?) throws(KeyAccessError) -> FoundKey {
        let pcsc: PCSCContext
        do { pcsc = try PCSCContext() } catch { throw KeyAccessError.pcsc(error) }
        return try KeyFinder.find(filter: filter, context: pcsc)
    }
}
