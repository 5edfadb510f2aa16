#if canImport(Glibc)
import Glibc
#endif

/// Every USB device the kernel shows in /sys/bus/usb/devices, as
/// `BUS/ADDRESS VENDOR:PRODUCT` (`1/4 1050:0407`), read the way the kernel
/// writes the attributes: what libusb's list is checked against, and how
/// tests learn whether this machine has a YubiKey on USB (CI has none).
public func sysfsUSBDevices() -> Set<String> {
    let root = "/sys/bus/usb/devices"
    guard let directory = opendir(root) else { return [] }
    defer { closedir(directory) }
    var found: Set<String> = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        func read(_ attribute: String) -> String? {
            guard let file = fopen("\(root)/\(name)/\(attribute)", "r") else { return nil }
            defer { fclose(file) }
            var buffer = [CChar](repeating: 0, count: 64)
            guard fgets(&buffer, 64, file) != nil else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        guard let bus = read("busnum").flatMap(Int.init), let address = read("devnum").flatMap(Int.init),
            let vendor = read("idVendor"), let product = read("idProduct")
        else { continue }
        found.insert("\(bus)/\(address) \(vendor):\(product)")
    }
    return found
}

/// Whether sysfs shows a Yubico device (vendor 1050).
public var yubicoDeviceOnUSB: Bool { sysfsUSBDevices().contains { $0.contains(" 1050:") } }
