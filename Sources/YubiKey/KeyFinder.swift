import CCID
import PCSC
import SmartCard
import USB
import YKOATH

/// A key whose OATH applet answered SELECT, with that session open (so the
/// SELECT is not sent twice).
public struct FoundKey {
    /// The PC/SC reader's name, or for direct CCID the USB device
    /// (`USB 001/004 YubiKey 4/5 OTP+FIDO+CCID`).
    public let reader: String
    public let connection: any KeyConnection
    public let session: OATHSession

    public init(reader: String, connection: any KeyConnection, session: OATHSession) {
        self.reader = reader
        self.connection = connection
        self.session = session
    }
}

/// What `latchkey devices` reports for one reader.
public struct ReaderReport: Sendable {
    public var reader: String
    /// The applet's SELECT answer, or why there is none.
    public var applet: Result<OATHSelectResponse, KeyAccessError>
    /// The applet's account ids (LIST), when asked for and the applet has
    /// no password; `nil` when not listed.
    public var accounts: Result<[String], KeyAccessError>? = nil
}

public enum KeyAccessError: Error, Equatable, Sendable, CustomStringConvertible {
    case pcsc(PCSCError)
    case noReaders
    case noReaderMatches(String, readers: [String])
    case noOATHKey(readers: [String])
    case severalKeys([String])
    case session(OATHSessionError)
    case smartCard(SmartCardError)
    /// Direct CCID: libusb failed (not loadable, or a call failed).
    case usb(USBError)
    /// Direct CCID: the CCID exchange failed.
    case ccid(CCIDError)
    /// Direct CCID: LIBUSB_ERROR_BUSY claiming the key (named).
    case usbBusy(String)
    /// Direct CCID: LIBUSB_ERROR_ACCESS opening this device node.
    case usbAccess(String)
    /// Direct CCID: the Yubico device (this model) has CCID turned off.
    case noCCIDInterface(String)
    /// Direct CCID: no Yubico device on USB.
    case noUSBKey

    public var description: String {
        switch self {
        case .pcsc(let error): "\(error)"
        case .noReaders: "no smart-card reader found: plug in the YubiKey (is its CCID interface enabled? `ykman config usb --list`)"
        case .noReaderMatches(let filter, let readers): "no reader name contains '\(filter)'; readers: \(readers.joined(separator: ", "))"
        case .noOATHKey(let readers): "no key with an OATH applet found; readers checked: \(readers.joined(separator: ", "))"
        case .severalKeys(let readers): "several keys have an OATH applet; choose one with --reader or LATCHKEY_READER: \(readers.joined(separator: ", "))"
        case .session(let error): "\(error)"
        case .smartCard(let error): "\(error)"
        case .usb(let error): "\(error)"
        case .ccid(let error): "\(error)"
        case .usbBusy(let key):
            "another program holds the \(key)'s CCID interface: pcscd (use --transport pcsc, or stop it: `sudo systemctl stop pcscd.socket pcscd`) or GnuPG's scdaemon (`gpgconf --kill scdaemon`)"
        case .usbAccess(let node):
            "this user may not open \(node): run `sudo latchkey setup`, add yourself to its group and log in again"
        case .noCCIDInterface(let model):
            "the \(model) on USB has its CCID interface turned off, which the OATH applet needs: `ykman config usb --enable CCID`"
        case .noUSBKey: "no YubiKey on USB: plug it in (`lsusb -d 1050:` lists it once the machine sees it)"
        }
    }

    /// pcscd is not running, or sees no reader: with `--transport auto`,
    /// the key may still be reached directly over USB.
    public var letsUSBTry: Bool {
        switch self {
        case .pcsc(let error): error.kind == .noService || error.kind == .noReaders
        case .noReaders: true
        default: false
        }
    }

    /// What an exchange with the key's applet failed with, as one of these.
    init(exchanging error: any Error) {
        switch error {
        case let error as PCSCError: self = .pcsc(error)
        case let error as CCIDError: self = .ccid(error)
        case let error as OATHSessionError: self = .session(error)
        case let error as SmartCardError: self = .smartCard(error)
        default: self = .session(.malformedResponse("\(error)"))
        }
    }

    /// The reader is empty, or its card has no OATH applet: nothing wrong.
    var meansNoKeyHere: Bool {
        switch self {
        case .pcsc(let error): error.kind == .noSmartcard
        case .session(let error): error == .noOATHApplet
        default: false
        }
    }
}

/// Finds the key to talk to.
///
/// Every reader counts whose card answers SELECT of the OATH AID, whatever its
/// name: ykman looks only at readers named "Yubico YubiKey", which leaves out
/// other makers' OATH tokens and virtual readers. A `filter` (from
/// `--reader` or `LATCHKEY_READER`) keeps readers whose name contains it,
/// case-insensitively.
public enum KeyFinder {
    public static func find(filter: String?, context: PCSCContext) throws(KeyAccessError) -> FoundKey {
        let readers = try candidateReaders(filter: filter, context: context)
        var found: [FoundKey] = []
        var failures: [KeyAccessError] = []
        for reader in readers {
            do {
                found.append(try open(reader, context: context))
            } catch {
                // A call that overran its time limit leaves the context
                // unable to make any other: the next readers cannot be tried.
                if case .pcsc(let failure) = error, failure.abandonedAfter != nil { throw error }
                failures.append(error)
            }
        }
        switch found.count {
        case 1: return found[0]
        case 0:
            // The one reader's failure, or the one failure that is not just
            // an empty reader or a card without the applet (pcscd, polkit,
            // sharing, a key that answered nonsense), says more than "no
            // OATH key".
            if readers.count == 1, let only = failures.first, only != .session(.noOATHApplet) { throw only }
            let telling = failures.filter { !$0.meansNoKeyHere }
            if telling.count == 1 { throw telling[0] }
            throw .noOATHKey(readers: readers)
        default: throw .severalKeys(found.map(\.reader))
        }
    }

    /// Every reader, with its OATH applet's answer or the reason it has none;
    /// with `listingAccounts`, also the accounts of each applet without a
    /// password (a LIST needs no touch).
    public static func survey(context: PCSCContext, listingAccounts: Bool = false) throws(KeyAccessError) -> [ReaderReport] {
        let readers: [String]
        do { readers = try context.readers() } catch { throw .pcsc(error) }
        return readers.map { reader in
            var report = ReaderReport(reader: reader, applet: .failure(.noReaders))
            do throws(KeyAccessError) {
                let key = try open(reader, context: context)
                report.applet = .success(key.session.select)
                if listingAccounts, !key.session.select.isPasswordProtected {
                    do {
                        report.accounts = .success(try key.session.list().map(\.id))
                    } catch {
                        report.accounts = .failure(KeyAccessError(exchanging: error))
                    }
                }
            } catch {
                report.applet = .failure(error)
            }
            return report
        }
    }

    static func candidateReaders(filter: String?, context: PCSCContext) throws(KeyAccessError) -> [String] {
        let readers: [String]
        do { readers = try context.readers() } catch { throw .pcsc(error) }
        guard !readers.isEmpty else { throw .noReaders }
        guard let filter, !filter.isEmpty else { return readers }
        let matching = readers.filter { ReaderName.contains($0, filter) }
        guard !matching.isEmpty else { throw .noReaderMatches(filter, readers: readers) }
        return matching
    }

    /// Connects to the card in `reader` and SELECTs the OATH applet inside a
    /// transaction held until the key is closed: another program's SELECT of
    /// another applet cannot come between ours and the commands after it
    /// (an unlocked OATH applet locks again when another is selected).
    static func open(_ reader: String, context: PCSCContext) throws(KeyAccessError) -> FoundKey {
        let card: PCSCCard
        do {
            card = try context.connect(reader)
            try card.holdExclusively()
        } catch {
            throw .pcsc(error)
        }
        return try FoundKey.selectingApplet(reader: reader, connection: card)
    }
}

extension FoundKey {
    /// Opens the OATH session (SELECT) over `connection`; whatever the
    /// transport or the applet throws becomes a ``KeyAccessError``.
    static func selectingApplet(reader: String, connection: any KeyConnection) throws(KeyAccessError) -> FoundKey {
        do {
            return FoundKey(reader: reader, connection: connection, session: try OATHSession(connection: connection))
        } catch {
            throw KeyAccessError(exchanging: error)
        }
    }
}

/// How `--reader` and `LATCHKEY_READER` pick a reader by name.
enum ReaderName {
    /// Whether `name` contains `filter`, ignoring case: Unicode-aware
    /// lowercasing of both, then a plain scan of their UTF-8 (String's own
    /// `contains(_:)` goes through _StringProcessing, whose set-up was 8 %
    /// of a `code --yubikey` run's CPU in `perf record`).
    static func contains(_ name: String, _ filter: String) -> Bool {
        let haystack = Array(name.lowercased().utf8)
        let needle = Array(filter.lowercased().utf8)
        guard !needle.isEmpty else { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }
}
