import PCSC
import SmartCard

/// An open key, over whichever transport reached it: the OATH session runs
/// the same code over PC/SC and over direct CCID.
public protocol KeyConnection: SmartCardConnection {
    /// Runs `body` with the key to this program: a PC/SC transaction, so no
    /// other program's APDUs come between ours (an unlocked OATH applet stays
    /// unlocked only until another applet is selected); a key found by
    /// ``KeyFinder`` holds one from before its SELECT until it is closed.
    /// Over direct CCID the claimed interface already excludes everyone else.
    func withExclusiveAccess<T>(_ body: () throws -> T) throws -> T
    /// The applet was unlocked with its password: leave it locked for the
    /// next program when this connection closes.
    func relockWhenDone()
    /// Whether the caller should turn SIGINT/SIGTERM into a request to stop
    /// (checked between reads) while the key is open, rather than let them
    /// end the process: over direct CCID, so the card can be powered off and
    /// the interface released. Through pcscd a dying process is cleaned up
    /// after by pcscd.
    var stopsOnInterrupt: Bool { get }
}

extension PCSCCard: KeyConnection {
    public func withExclusiveAccess<T>(_ body: () throws -> T) throws -> T { try withTransaction(body) }
    public func relockWhenDone() { resetOnDisconnect = true }
    public var stopsOnInterrupt: Bool { false }
}

/// How latchkey reaches the key: `--transport`, or LATCHKEY_TRANSPORT.
public enum KeyTransport: String, Sendable, CaseIterable {
    /// PC/SC when pcscd answers and has a reader; otherwise direct CCID.
    case auto
    /// Only through pcscd.
    case pcsc
    /// Only directly over USB (libusb), without pcscd.
    case ccid
}
