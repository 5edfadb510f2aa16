import PCSC
import SystemSupport
import Testing
import YKOATH

@testable import LatchkeyCore
@testable import USB
@testable import YubiKey

/// What `devices` and `doctor` make of Yubico USB devices, from descriptors
/// as a YubiKey 5 reports them (interfaces: OTP keyboard, FIDO HID, CCID).
@Suite("USB view of YubiKeys")
struct USBViewTests {
    static let otp = USBInterface(
        number: 0, interfaceClass: 0x03, subclass: 1, interfaceProtocol: 1,
        endpoints: [USBEndpoint(address: 0x81, attributes: 0x03, maxPacketSize: 8)])
    static let fido = USBInterface(
        number: 1, interfaceClass: 0x03, subclass: 0, interfaceProtocol: 0,
        endpoints: [
            USBEndpoint(address: 0x04, attributes: 0x03, maxPacketSize: 64),
            USBEndpoint(address: 0x84, attributes: 0x03, maxPacketSize: 64),
        ])
    static let ccid = USBInterface(
        number: 2, interfaceClass: 0x0B, subclass: 0, interfaceProtocol: 0,
        endpoints: [
            USBEndpoint(address: 0x02, attributes: 0x02, maxPacketSize: 64),
            USBEndpoint(address: 0x82, attributes: 0x02, maxPacketSize: 64),
            USBEndpoint(address: 0x83, attributes: 0x03, maxPacketSize: 8),
        ],
        extra: classDescriptor(maxMessageLength: 3072))

    /// A CCID class descriptor (0x36 bytes, type 0x21) with
    /// dwMaxCCIDMessageLength at offset 44.
    static func classDescriptor(maxMessageLength: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 0x36)
        bytes[0] = 0x36
        bytes[1] = 0x21
        for index in 0..<4 { bytes[44 + index] = UInt8(truncatingIfNeeded: maxMessageLength >> (8 * UInt32(index))) }
        return bytes
    }

    static func report(_ productID: UInt16, _ interfaces: [USBInterface], access: Result<Void, USBError> = .success(()))
        -> USBKeyReport
    {
        let device = USBDevice(bus: 1, address: 4, vendorID: 0x1050, productID: productID, interfaces: interfaces)
        return USBKeyReport(
            device: device, model: YubicoProduct.name(productID),
            interfaces: interfaces.compactMap(YubiKeyInterface.init), access: access)
    }

    static func checks(readers: [ReaderReport] = []) -> DeviceChecks {
        var pcsc = PCSCFindings()
        pcsc.reports = readers
        return DeviceChecks(root: "/", pcsc: pcsc, user: CurrentUser(name: "alice", uid: 1000, processGroups: []), environment: Environment([:]))
    }

    @Test("Interfaces are told apart by descriptor: boot keyboard = OTP, other HID = FIDO, class 0x0B = CCID")
    func interfaceKinds() {
        #expect([Self.otp, Self.fido, Self.ccid].compactMap(YubiKeyInterface.init) == [.otp, .fido, .ccid])
        let vendorSpecific = USBInterface(number: 3, interfaceClass: 0xFF, subclass: 0, interfaceProtocol: 0, endpoints: [])
        #expect(YubiKeyInterface(vendorSpecific) == nil)
    }

    @Test("Every CCID product id of the udev rules has a model name that says CCID; unknown ids are named by number")
    func productNames() {
        for id: UInt16 in [0x0111, 0x0112, 0x0115, 0x0116, 0x0404, 0x0405, 0x0406, 0x0407] {
            #expect(YubicoProduct.name(id).hasSuffix("CCID"), "\(id)")
        }
        for id: UInt16 in [0x0010, 0x0110, 0x0113, 0x0114, 0x0120, 0x0401, 0x0402, 0x0403, 0x0410] {
            #expect(!YubicoProduct.name(id).contains("CCID"), "\(id)")
        }
        #expect(YubicoProduct.name(0x0999) == "Yubico device 0999")
    }

    @Test("dwMaxCCIDMessageLength is read from the class descriptor; missing or absurd gives the 271-byte minimum")
    func maxMessageLength() {
        #expect(CCIDClassDescriptor.maxMessageLength(in: Self.classDescriptor(maxMessageLength: 3072)) == 3072)
        #expect(CCIDClassDescriptor.maxMessageLength(in: Self.classDescriptor(maxMessageLength: 1400)) == 1400)
        #expect(CCIDClassDescriptor.maxMessageLength(in: []) == 271)
        #expect(CCIDClassDescriptor.maxMessageLength(in: Self.classDescriptor(maxMessageLength: 0xFFFF_FFFF)) == 271)
        #expect(CCIDClassDescriptor.maxMessageLength(in: Array(Self.classDescriptor(maxMessageLength: 3072).prefix(40))) == 271)
        // Another descriptor first, then the CCID one.
        let other: [UInt8] = [0x05, 0x24, 0x01, 0x02, 0x03]
        #expect(CCIDClassDescriptor.maxMessageLength(in: other + Self.classDescriptor(maxMessageLength: 2048)) == 2048)
        // A zero length must not loop forever.
        #expect(CCIDClassDescriptor.maxMessageLength(in: [0x00, 0x21, 0x00]) == 271)
    }

    @Test("doctor's USB check: ok with a CCID key this user may open; each problem fails with its own fix")
    func doctorCheck() {
        let checks = Self.checks()
        let good = checks.usbDevices(.success([Self.report(0x0407, [Self.otp, Self.fido, Self.ccid])]))
        #expect(good.status == .ok)
        #expect(good.detail == "YubiKey 4/5 OTP+FIDO+CCID (1050:0407) at /dev/bus/usb/001/004, interfaces OTP FIDO CCID, may open")

        let fidoOnly = checks.usbDevices(.success([Self.report(0x0402, [Self.fido])]))
        #expect(fidoOnly.status == .fail && fidoOnly.fix?.contains("ykman config usb --enable CCID") == true, "\(fidoOnly)")

        let denied = USBError.call(function: "libusb_open", code: -3, name: "LIBUSB_ERROR_ACCESS")
        let refused = checks.usbDevices(.success([Self.report(0x0407, [Self.otp, Self.fido, Self.ccid], access: .failure(denied))]))
        #expect(refused.status == .fail && refused.detail.contains("may not open /dev/bus/usb/001/004"), "\(refused)")
        #expect(refused.fix == DeviceChecks.setupFix)

        let none = checks.usbDevices(.success([]))
        #expect(none.status == .fail && none.detail.contains("no Yubico device"), "\(none)")

        let missing = checks.usbDevices(.failure(.libraryMissing("libusb-1.0.so.0")))
        #expect(missing.status == .warn && missing.fix?.contains("libusb-1.0-0") == true, "\(missing)")
    }

    @Test("doctor's USB check with the CCID interface probed: free is ok, claimed by another program fails naming scdaemon")
    func claimProbe() {
        let checks = Self.checks()
        var free = Self.report(0x0407, [Self.otp, Self.fido, Self.ccid])
        free.claim = .success(())
        let ok = checks.usbDevices(.success([free]))
        #expect(ok.status == .ok && ok.detail.hasSuffix("; CCID interface free"), "\(ok)")

        var held = free
        held.claim = .failure(.call(function: "libusb_claim_interface", code: -6, name: "LIBUSB_ERROR_BUSY"))
        let busy = checks.usbDevices(.success([held]))
        #expect(busy.status == .fail && busy.detail.contains("scdaemon") && busy.fix?.contains("disable-ccid") == true, "\(busy)")

        // Not probed (pcscd has readers): nothing said about the interface.
        let unprobed = checks.usbDevices(.success([Self.report(0x0407, [Self.otp, Self.fido, Self.ccid])]))
        #expect(unprobed.status == .ok && !unprobed.detail.contains("CCID interface free"), "\(unprobed)")
    }

    @Test("With the OATH key reached through pcscd (a virtual or remote reader), no USB device is fine")
    func pcscKeyWithoutUSB() throws {
        // SELECT's answer: version 5.4.3 (tag 79), salt (tag 71), no challenge.
        let select = try OATHSelectResponse(parsing: [0x79, 3, 5, 4, 3, 0x71, 8, 1, 2, 3, 4, 5, 6, 7, 8])
        let checks = Self.checks(readers: [ReaderReport(reader: "Virtual PCD 00 00", applet: .success(select))])
        #expect(checks.usbDevices(.success([])).status == .ok)
    }

    @Test("Key errors of the CCID path name their fix in one line")
    func ccidErrors() {
        let busy = KeyAccessError.usbBusy("USB 001/004 YubiKey 4/5 OTP+FIDO+CCID").description
        #expect(busy.contains("pcscd") && busy.contains("--transport pcsc") && busy.contains("gpgconf --kill scdaemon"))
        #expect(KeyAccessError.usbAccess("/dev/bus/usb/001/004").description.contains("sudo latchkey setup"))
        for error in [KeyAccessError.usbBusy("k"), .usbAccess("/n"), .noCCIDInterface("m"), .noUSBKey] {
            #expect(!error.description.contains("\n"))
        }
        #expect(KeyAccessError.pcsc(PCSCError(code: 0x8010_001D, function: "SCardEstablishContext")).letsUSBTry)
        #expect(KeyAccessError.noReaders.letsUSBTry)
        #expect(!KeyAccessError.severalKeys(["a", "b"]).letsUSBTry)
    }
}
