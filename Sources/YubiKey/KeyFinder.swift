import PCSC
import SmartCard
import YKOATH

/// A reader whose card answered SELECT of the OATH applet, with that session
/// open (so the SELECT is not sent twice).
public struct FoundKey {
    public let reader: String
    public let card: PCSCCard
    public let session: OATHSession
}

/// What `latchkey devices` reports for one reader.
public struct ReaderReport: Sendable {
    public var reader: String
    /// The applet's SELECT answer, or why there is none.
    public var applet: Result<OATHSelectResponse, KeyAccessError>
}

public enum KeyAccessError: Error, Equatable, Sendable, CustomStringConvertible {
    case pcsc(PCSCError)
    case noReaders
    case noReaderMatches(String, readers: [String])
    case noOATHKey(readers: [String])
    case severalKeys([String])
    case session(OATHSessionError)
    case smartCard(SmartCardError)

    public var description: String {
        switch self {
        case .pcsc(let error): "\(error)"
        case .noReaders: "no smart-card reader found: plug in the YubiKey (is its CCID interface enabled? `ykman config usb --list`)"
        case .noReaderMatches(let filter, let readers): "no reader name contains '\(filter)'; readers: \(readers.joined(separator: ", "))"
        case .noOATHKey(let readers): "no key with an OATH applet found; readers checked: \(readers.joined(separator: ", "))"
        case .severalKeys(let readers): "several keys have an OATH applet; choose one with --reader or LATCHKEY_READER: \(readers.joined(separator: ", "))"
        case .session(let error): "\(error)"
        case .smartCard(let error): "\(error)"
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

    /// Every reader, with its OATH applet's answer or the reason it has none.
    public static func survey(context: PCSCContext) throws(KeyAccessError) -> [ReaderReport] {
        let readers: [String]
        do { readers = try context.readers() } catch { throw .pcsc(error) }
        return readers.map { reader in
            let result: Result<OATHSelectResponse, KeyAccessError>
            do throws(KeyAccessError) {
                result = .success(try open(reader, context: context).session.select)
            } catch {
                result = .failure(error)
            }
            return ReaderReport(reader: reader, applet: result)
        }
    }

    static func candidateReaders(filter: String?, context: PCSCContext) throws(KeyAccessError) -> [String] {
        let readers: [String]
        do { readers = try context.readers() } catch { throw .pcsc(error) }
        guard !readers.isEmpty else { throw .noReaders }
        guard let filter, !filter.isEmpty else { return readers }
        let matching = readers.filter { $0.lowercased().contains(filter.lowercased()) }
        guard !matching.isEmpty else { throw .noReaderMatches(filter, readers: readers) }
        return matching
    }

    static func open(_ reader: String, context: PCSCContext) throws(KeyAccessError) -> FoundKey {
        let card: PCSCCard
        do { card = try context.connect(reader) } catch { throw .pcsc(error) }
        do {
            return FoundKey(reader: reader, card: card, session: try OATHSession(connection: card))
        } catch let error as PCSCError {
            throw .pcsc(error)
        } catch let error as OATHSessionError {
            throw .session(error)
        } catch let error as SmartCardError {
            throw .smartCard(error)
        } catch {
            throw .session(.malformedResponse("\(error)"))
        }
    }
}
