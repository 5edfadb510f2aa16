import CLibUSB

/// A USB device as its descriptors describe it: read from sysfs by libusb,
/// without opening the device (so it works for devices this user may not
/// open, and never disturbs a program that has them open).
public struct USBDevice: Sendable, Equatable {
    public var bus: UInt8
    public var address: UInt8
    public var vendorID: UInt16
    public var productID: UInt16
    /// The interfaces of the active configuration (first alternate setting
    /// of each), or of configuration 0 when none is active.
    public var interfaces: [USBInterface]

    public init(bus: UInt8, address: UInt8, vendorID: UInt16, productID: UInt16, interfaces: [USBInterface]) {
        self.bus = bus
        self.address = address
        self.vendorID = vendorID
        self.productID = productID
        self.interfaces = interfaces
    }

    /// Bus and address as lsusb and the usbfs path write them: `001/004`.
    public var busAddress: String { "\(Self.threeDigits(bus))/\(Self.threeDigits(address))" }

    /// The usbfs node libusb opens: `/dev/bus/usb/BBB/DDD`.
    public var nodePath: String { "/dev/bus/usb/" + busAddress }

    /// The smart-card (CCID) interface, if the device has one enabled.
    public var smartCardInterface: USBInterface? {
        interfaces.first { $0.interfaceClass == USBInterface.smartCardClass }
    }

    /// `1050:0407`, as lsusb writes it.
    public var idText: String { "\(Self.hex4(vendorID)):\(Self.hex4(productID))" }

    public static func threeDigits(_ value: UInt8) -> String {
        let text = String(value)
        return String(repeating: "0", count: 3 - text.count) + text
    }

    public static func hex4(_ value: UInt16) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 4 - text.count) + text
    }
}

public struct USBInterface: Sendable, Equatable {
    public var number: UInt8
    public var interfaceClass: UInt8
    public var subclass: UInt8
    public var interfaceProtocol: UInt8
    public var endpoints: [USBEndpoint]
    /// The class-specific descriptors that follow the interface descriptor
    /// (for a smart-card interface, the CCID class descriptor).
    public var extra: [UInt8]

    public init(
        number: UInt8, interfaceClass: UInt8, subclass: UInt8, interfaceProtocol: UInt8, endpoints: [USBEndpoint],
        extra: [UInt8] = []
    ) {
        self.number = number
        self.interfaceClass = interfaceClass
        self.subclass = subclass
        self.interfaceProtocol = interfaceProtocol
        self.endpoints = endpoints
        self.extra = extra
    }

    /// USB class codes used here.
    public static let hidClass: UInt8 = 0x03
    public static let smartCardClass: UInt8 = 0x0B

    /// The first bulk endpoint in the given direction.
    public func bulkEndpoint(in isIn: Bool) -> USBEndpoint? {
        endpoints.first { $0.isBulk && $0.isIn == isIn }
    }
}

public struct USBEndpoint: Sendable, Equatable {
    /// Bit 7 is the direction (1 = IN, device to host).
    public var address: UInt8
    /// Bits 0–1 are the transfer type (2 = bulk, 3 = interrupt).
    public var attributes: UInt8
    public var maxPacketSize: UInt16

    public init(address: UInt8, attributes: UInt8, maxPacketSize: UInt16) {
        self.address = address
        self.attributes = attributes
        self.maxPacketSize = maxPacketSize
    }

    public var isIn: Bool { address & 0x80 != 0 }
    public var isBulk: Bool { attributes & 0x03 == 0x02 }
}

/// A libusb session: lists devices and opens them. One per command; libusb
/// is loaded on first use (see ``LibUSB``).
public final class USBContext {
    let library: LibUSB
    let context: LibUSB.Context

    public init() throws(USBError) {
        library = try LibUSB.shared.get()
        var context: LibUSB.Context?
        let status = library.initialize(&context)
        guard status == 0, let context else { throw library.error("libusb_init", status) }
        self.context = context
    }

    deinit { library.exit(context) }

    /// Every device on the buses, or those of one vendor. A machine without
    /// any gives an empty list, not an error.
    public func devices(vendorID: UInt16? = nil) throws(USBError) -> [USBDevice] {
        try withDeviceList { list throws(USBError) in
            list.compactMap { device in
                var descriptor = libusb_device_descriptor()
                guard library.getDeviceDescriptor(device, &descriptor) == 0 else { return nil }
                if let vendorID, descriptor.idVendor != vendorID { return nil }
                return USBDevice(
                    bus: library.getBusNumber(device), address: library.getDeviceAddress(device),
                    vendorID: descriptor.idVendor, productID: descriptor.idProduct, interfaces: interfaces(of: device))
            }
        }
    }

    /// Opens the device at `bus`/`address` (from ``devices(vendorID:)``).
    public func open(_ device: USBDevice) throws(USBError) -> USBDeviceHandle {
        let handle: LibUSB.Handle = try withDeviceList { list throws(USBError) in
            guard
                let match = list.first(where: {
                    library.getBusNumber($0) == device.bus && library.getDeviceAddress($0) == device.address
                })
            else { throw USBError.call(function: "libusb_open", code: -4, name: "LIBUSB_ERROR_NO_DEVICE") }
            var handle: LibUSB.Handle?
            let status = library.open(match, &handle)
            guard status == 0, let handle else { throw library.error("libusb_open", status) }
            return handle
        }
        return USBDeviceHandle(context: self, handle: handle)
    }

    /// Runs `body` with libusb's device list, freed (and its devices
    /// unreferenced) afterwards.
    private func withDeviceList<T>(_ body: ([LibUSB.Device]) throws(USBError) -> T) throws(USBError) -> T {
        var list: UnsafeMutablePointer<LibUSB.Device?>?
        let count = library.getDeviceList(context, &list)
        guard count >= 0, let list else { throw library.error("libusb_get_device_list", Int32(clamping: count)) }
        defer { library.freeDeviceList(list, 1) }
        let devices = (0..<count).compactMap { list[$0] }
        return try body(devices)
    }

    private func interfaces(of device: LibUSB.Device) -> [USBInterface] {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        if library.getActiveConfigDescriptor(device, &config) != 0 || config == nil {
            // Not configured (or the active one unknown): the first one.
            guard library.getConfigDescriptor(device, 0, &config) == 0 else { return [] }
        }
        guard let config else { return [] }
        defer { library.freeConfigDescriptor(config) }
        var result: [USBInterface] = []
        for index in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[index]
            guard interface.num_altsetting > 0, let setting = interface.altsetting?.pointee else { continue }
            let endpoints = (0..<Int(setting.bNumEndpoints)).map { position in
                let endpoint = setting.endpoint[position]
                return USBEndpoint(
                    address: endpoint.bEndpointAddress, attributes: endpoint.bmAttributes,
                    maxPacketSize: endpoint.wMaxPacketSize)
            }
            let extra = setting.extra.map { Array(UnsafeBufferPointer(start: $0, count: Int(max(0, setting.extra_length)))) } ?? []
            result.append(
                USBInterface(
                    number: setting.bInterfaceNumber, interfaceClass: setting.bInterfaceClass,
                    subclass: setting.bInterfaceSubClass, interfaceProtocol: setting.bInterfaceProtocol,
                    endpoints: endpoints, extra: extra))
        }
        return result
    }
}

extension LibUSB {
    func error(_ function: String, _ code: Int32) -> USBError {
        .call(function: function, code: code, name: name(of: code))
    }
}

/// An open device: claim an interface, move bytes over its bulk endpoints.
/// Claimed interfaces are released and the device closed on ``close()`` or
/// when the handle goes away.
public final class USBDeviceHandle {
    let context: USBContext
    private var handle: LibUSB.Handle?
    private var claimed: [Int32] = []

    init(context: USBContext, handle: LibUSB.Handle) {
        self.context = context
        self.handle = handle
    }

    deinit { close() }

    private var library: LibUSB { context.library }

    public func claimInterface(_ number: UInt8) throws(USBError) {
        let status = library.claimInterface(handle, Int32(number))
        guard status == 0 else { throw library.error("libusb_claim_interface", status) }
        claimed.append(Int32(number))
    }

    /// Releases every claimed interface and closes the device; safe to call
    /// more than once.
    public func close() {
        guard let handle else { return }
        for number in claimed { _ = library.releaseInterface(handle, number) }
        claimed = []
        library.close(handle)
        self.handle = nil
    }

    /// One libusb_bulk_transfer on `endpoint` (its direction bit says which
    /// way): libusb's status and the bytes moved. A zero time limit would
    /// mean "forever" to libusb, so 1 ms is the least.
    private func transfer(endpoint: UInt8, _ buffer: inout [UInt8], timeoutMilliseconds: Int) -> (status: Int32, count: Int) {
        var transferred: Int32 = 0
        let status = buffer.withUnsafeMutableBufferPointer {
            library.bulkTransfer(
                handle, endpoint, $0.baseAddress, Int32($0.count), &transferred, UInt32(clamping: max(1, timeoutMilliseconds)))
        }
        return (status, Int(min(max(transferred, 0), Int32(clamping: buffer.count))))
    }

    /// Writes all of `bytes` to the bulk OUT `endpoint`.
    public func bulkWrite(endpoint: UInt8, _ bytes: [UInt8], timeoutMilliseconds: Int) throws(USBError) {
        var buffer = bytes
        let (status, transferred) = transfer(endpoint: endpoint, &buffer, timeoutMilliseconds: timeoutMilliseconds)
        guard status == 0 else { throw library.error("libusb_bulk_transfer", status) }
        guard transferred == bytes.count else {
            throw USBError.call(function: "libusb_bulk_transfer", code: -1, name: "short write (\(transferred) of \(bytes.count) bytes)")
        }
    }

    /// Reads one transfer of at most `maxLength` bytes from the bulk IN
    /// `endpoint`. Bytes that arrived before the time limit are returned,
    /// not lost: libusb reports them with LIBUSB_ERROR_TIMEOUT and a
    /// non-zero count.
    public func bulkRead(endpoint: UInt8, maxLength: Int, timeoutMilliseconds: Int) throws(USBError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxLength)
        let (status, transferred) = transfer(endpoint: endpoint, &buffer, timeoutMilliseconds: timeoutMilliseconds)
        let timedOut: Int32 = -7
        guard status == 0 || (status == timedOut && transferred > 0) else {
            throw library.error("libusb_bulk_transfer", status)
        }
        return Array(buffer.prefix(transferred))
    }
}
