import TestSupport
import Testing

@testable import USB

/// libusb through latchkey's dlopen table, against what the kernel shows in
/// sysfs. On a machine without USB devices (CI) both are empty, and the
/// result must be an empty list, not an error.
@Suite("USB enumeration")
struct EnumerationTests {
    @Test("libusb lists exactly the devices sysfs has (none on a machine without USB)")
    func matchesSysfs() throws {
        let context = try USBContext()
        let listed = Set(try context.devices().map { "\($0.bus)/\($0.address) \($0.idText)" })
        #expect(listed == sysfsUSBDevices())
    }

    @Test("Asking for Yubico's vendor id gives only Yubico devices, an empty list when there are none")
    func vendorFilter() throws {
        let context = try USBContext()
        let yubico = try context.devices(vendorID: 0x1050)
        #expect(yubico.allSatisfy { $0.vendorID == 0x1050 })
        #expect(yubico.count == sysfsUSBDevices().filter { $0.contains(" 1050:") }.count)
    }

    @Test("Two contexts at once each work (one per command, but tests run in parallel)")
    func severalContexts() throws {
        let first = try USBContext()
        let second = try USBContext()
        #expect(try first.devices() == second.devices())
    }

    @Test("libusb error codes map to the kinds callers act on, with libusb's own names")
    func errorKinds() throws {
        let library = try LibUSB.shared.get()
        let expected: [(Int32, USBError.Kind, String)] = [
            (-3, .access, "LIBUSB_ERROR_ACCESS"), (-4, .noDevice, "LIBUSB_ERROR_NO_DEVICE"),
            (-5, .notFound, "LIBUSB_ERROR_NOT_FOUND"), (-6, .busy, "LIBUSB_ERROR_BUSY"),
            (-7, .timeout, "LIBUSB_ERROR_TIMEOUT"), (-9, .pipe, "LIBUSB_ERROR_PIPE"),
            (-10, .interrupted, "LIBUSB_ERROR_INTERRUPTED"), (-1, .other, "LIBUSB_ERROR_IO"),
        ]
        for (code, kind, name) in expected {
            let error = library.error("libusb_claim_interface", code)
            #expect(error.kind == kind)
            #expect(error.description == "libusb_claim_interface: \(name)")
        }
    }

    @Test("Node paths and ids are written as lsusb and the kernel write them")
    func formatting() {
        let device = USBDevice(bus: 1, address: 14, vendorID: 0x1050, productID: 0x407, interfaces: [])
        #expect(device.nodePath == "/dev/bus/usb/001/014")
        #expect(device.idText == "1050:0407")
        let ccid = USBInterface(
            number: 2, interfaceClass: 0x0B, subclass: 0, interfaceProtocol: 0,
            endpoints: [
                USBEndpoint(address: 0x02, attributes: 0x02, maxPacketSize: 64),
                USBEndpoint(address: 0x82, attributes: 0x02, maxPacketSize: 64),
                USBEndpoint(address: 0x83, attributes: 0x03, maxPacketSize: 8),
            ])
        #expect(ccid.bulkEndpoint(in: true)?.address == 0x82)
        #expect(ccid.bulkEndpoint(in: false)?.address == 0x02)
    }
}
