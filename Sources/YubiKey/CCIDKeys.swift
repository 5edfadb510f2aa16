import CCID
import SmartCard
import USB
import YKOATH

/// Finding and opening a YubiKey directly over USB CCID (libusb), for
/// machines where pcscd is not running or has no reader for the key.
public enum CCIDKeyFinder {
    /// The key to talk to: every Yubico device with a CCID interface whose
    /// name (`USB 001/004 YubiKey 4/5 OTP+FIDO+CCID`) contains `filter`,
    /// case-insensitively. Exactly one must answer SELECT of the OATH applet.
    /// `isCancelled` is asked between reads while the key works (a touch
    /// wait), so Ctrl-C ends the exchange with the card powered off and the
    /// interface released.
    public static func find(
        filter: String?, isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws(KeyAccessError) -> FoundKey {
        let context: USBContext
        do { context = try USBContext() } catch { throw .usb(error) }
        let devices: [USBDevice]
        do { devices = try context.devices(vendorID: YubicoProduct.vendorID) } catch { throw .usb(error) }
        let withCCID = devices.filter { $0.smartCardInterface != nil }
        guard !withCCID.isEmpty else {
            if let first = devices.first {
                throw .noCCIDInterface(YubicoProduct.name(first.productID))
            }
            throw .noUSBKey
        }
        let candidates: [USBDevice]
        if let filter, !filter.isEmpty {
            candidates = withCCID.filter { ReaderName.contains(name(of: $0), filter) }
            guard !candidates.isEmpty else { throw .noReaderMatches(filter, readers: withCCID.map(name(of:))) }
        } else {
            candidates = withCCID
        }
        var found: [FoundKey] = []
        var failures: [KeyAccessError] = []
        for device in candidates {
            do throws(KeyAccessError) {
                found.append(try open(device, context: context, isCancelled: isCancelled))
            } catch {
                failures.append(error)
            }
        }
        switch found.count {
        case 1: return found[0]
        case 0:
            // As over PC/SC: a failure that says more than "no applet here"
            // (busy, no access, a key answering nonsense) is the one to show.
            if let telling = failures.first(where: { !$0.meansNoKeyHere }) { throw telling }
            throw .noOATHKey(readers: candidates.map(name(of:)))
        default: throw .severalKeys(found.map(\.reader))
        }
    }

    /// `USB 001/004 YubiKey 4/5 OTP+FIDO+CCID`: what `--reader` matches and
    /// messages name.
    public static func name(of device: USBDevice) -> String {
        "USB \(device.busAddress) \(YubicoProduct.name(device.productID))"
    }

    static func open(
        _ device: USBDevice, context: USBContext, isCancelled: @escaping @Sendable () -> Bool
    ) throws(KeyAccessError) -> FoundKey {
        guard let interface = device.smartCardInterface,
            let bulkIn = interface.bulkEndpoint(in: true), let bulkOut = interface.bulkEndpoint(in: false)
        else { throw .noCCIDInterface(YubicoProduct.name(device.productID)) }
        let handle: USBDeviceHandle
        do {
            handle = try context.open(device)
            try handle.claimInterface(interface.number)
        } catch {
            switch error.kind {
            case .access: throw .usbAccess(device.nodePath)
            case .busy: throw .usbBusy(name(of: device))
            default: throw .usb(error)
            }
        }
        let pipe = USBBulkPipe(handle: handle, inEndpoint: bulkIn.address, outEndpoint: bulkOut.address)
        let card = CCIDCard(pipe: pipe, maxMessageLength: CCIDClassDescriptor.maxMessageLength(in: interface.extra))
        card.isCancelled = isCancelled
        let connection = CCIDKeyConnection(card: card, handle: handle)
        do { try card.powerOn() } catch { throw .ccid(error) }
        return try FoundKey.selectingApplet(reader: name(of: device), connection: connection)
    }
}

/// The CCID class descriptor that follows a smart-card interface
/// descriptor (CCID 1.1 §5.1): 0x36 bytes, type 0x21.
enum CCIDClassDescriptor {
    /// dwMaxCCIDMessageLength (offset 44, little-endian), or the least CCID
    /// allows (271: a short APDU and its header) when the descriptor is
    /// missing or gives a value outside what CCID allows. YubiKey 4/5 say
    /// 3072, the NEO 1400.
    static func maxMessageLength(in extra: [UInt8]) -> Int {
        let fallback = CCIDCard.allowedMaxMessageLengths.lowerBound
        var offset = 0
        while offset + 2 <= extra.count {
            let length = Int(extra[offset])
            guard length >= 2, offset + length <= extra.count else { break }
            if extra[offset + 1] == 0x21, length >= 48 {
                let bytes = extra[(offset + 44)..<(offset + 48)]
                let value = bytes.reversed().reduce(0) { $0 << 8 | Int($1) }
                return CCIDCard.allowedMaxMessageLengths.contains(value) ? value : fallback
            }
            offset += length
        }
        return fallback
    }
}

/// A YubiKey over direct CCID. The interface is claimed for as long as the
/// connection lives, so no other program can interleave APDUs; closing it
/// powers the card off (which also leaves an unlocked applet locked) and
/// releases the interface.
final class CCIDKeyConnection: KeyConnection {
    let card: CCIDCard
    let handle: USBDeviceHandle

    init(card: CCIDCard, handle: USBDeviceHandle) {
        self.card = card
        self.handle = handle
    }

    /// How long closing waits for the power-off's answer: the key may still
    /// be busy with a command given up on (a touch wait cut short by
    /// Ctrl-C), and closing must not wait as long as a touch.
    static let closingTiming = CCIDTiming(
        readSliceMilliseconds: 200, writeMilliseconds: 1000, answerMilliseconds: 1000, totalMilliseconds: 1500)

    deinit {
        // Power off even after a cancellation (which would refuse the
        // command before it is written).
        card.isCancelled = nil
        card.timing = Self.closingTiming
        try? card.powerOff()
        handle.close()
    }

    func transmit(_ command: [UInt8]) throws -> [UInt8] { try card.transmit(command) }
    func withExclusiveAccess<T>(_ body: () throws -> T) throws -> T { try body() }
    func relockWhenDone() {}
    var stopsOnInterrupt: Bool { true }
}

/// The CCID interface's bulk endpoints, as the CCID layer's pipe.
final class USBBulkPipe: BulkPipe {
    let handle: USBDeviceHandle
    let inEndpoint: UInt8
    let outEndpoint: UInt8

    init(handle: USBDeviceHandle, inEndpoint: UInt8, outEndpoint: UInt8) {
        self.handle = handle
        self.inEndpoint = inEndpoint
        self.outEndpoint = outEndpoint
    }

    func write(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(BulkPipeError) {
        do { try handle.bulkWrite(endpoint: outEndpoint, bytes, timeoutMilliseconds: timeoutMilliseconds) } catch {
            throw Self.pipeError(error)
        }
    }

    func read(maxLength: Int, timeoutMilliseconds: Int) throws(BulkPipeError) -> [UInt8] {
        do { return try handle.bulkRead(endpoint: inEndpoint, maxLength: maxLength, timeoutMilliseconds: timeoutMilliseconds) } catch {
            throw Self.pipeError(error)
        }
    }

    static func pipeError(_ error: USBError) -> BulkPipeError {
        switch error.kind {
        case .timeout: .timedOut
        case .noDevice: .deviceGone
        default: .failed(error.description)
        }
    }
}
