import USB

/// Yubico's USB product ids and what each one is. The product id names the
/// interfaces enabled at manufacture or by `ykman config usb`: a key with
/// CCID turned off shows up with another id.
public enum YubicoProduct {
    public static let vendorID: UInt16 = 0x1050

    /// Product id → the model and interfaces Yubico gives it.
    public static let names: [UInt16: String] = [
        0x0010: "YubiKey (OTP)",
        0x0110: "YubiKey NEO OTP",
        0x0111: "YubiKey NEO OTP+CCID",
        0x0112: "YubiKey NEO CCID",
        0x0113: "YubiKey NEO FIDO",
        0x0114: "YubiKey NEO OTP+FIDO",
        0x0115: "YubiKey NEO FIDO+CCID",
        0x0116: "YubiKey NEO OTP+FIDO+CCID",
        0x0120: "Security Key by Yubico (FIDO)",
        0x0401: "YubiKey 4/5 OTP",
        0x0402: "YubiKey 4/5 FIDO",
        0x0403: "YubiKey 4/5 OTP+FIDO",
        0x0404: "YubiKey 4/5 CCID",
        0x0405: "YubiKey 4/5 OTP+CCID",
        0x0406: "YubiKey 4/5 FIDO+CCID",
        0x0407: "YubiKey 4/5 OTP+FIDO+CCID",
        0x0410: "YubiKey Plus (OTP+FIDO)",
    ]

    public static func name(_ productID: UInt16) -> String {
        names[productID] ?? "Yubico device \(USBDevice.hex4(productID))"
    }
}

/// The USB interfaces a YubiKey exposes, told apart by their descriptors:
/// OTP is a HID boot keyboard, FIDO is the other HID interface, CCID is the
/// smart-card class (where the OATH applet lives).
public enum YubiKeyInterface: String, Sendable, Codable, CaseIterable {
    case otp = "OTP"
    case fido = "FIDO"
    case ccid = "CCID"

    public init?(_ interface: USBInterface) {
        switch interface.interfaceClass {
        case USBInterface.smartCardClass: self = .ccid
        case USBInterface.hidClass:
            // Boot interface subclass 1, keyboard protocol 1.
            self = interface.subclass == 1 && interface.interfaceProtocol == 1 ? .otp : .fido
        default: return nil
        }
    }
}

/// What `latchkey devices` and `doctor` say about one Yubico USB device.
public struct USBKeyReport: Sendable {
    public var device: USBDevice
    public var model: String
    public var interfaces: [YubiKeyInterface]
    /// Whether this user may open the device node, or libusb's refusal
    /// (LIBUSB_ERROR_ACCESS when no udev rule gives it to them).
    public var access: Result<Void, USBError>

    public var hasCCID: Bool { interfaces.contains(.ccid) }
    public var mayOpen: Bool { (try? access.get()) != nil }
}

public enum USBKeys {
    /// Every Yubico device on the USB buses: model, interfaces, and whether
    /// this user may open it (libusb_open, then closed at once: opening
    /// claims nothing, so pcscd keeps working). No Yubico device gives an
    /// empty list.
    public static func survey(_ context: USBContext) throws(USBError) -> [USBKeyReport] {
        try context.devices(vendorID: YubicoProduct.vendorID).sorted {
            ($0.bus, $0.address) < ($1.bus, $1.address)
        }.map { device in
            let access: Result<Void, USBError>
            do throws(USBError) {
                try context.open(device).close()
                access = .success(())
            } catch {
                access = .failure(error)
            }
            return USBKeyReport(
                device: device, model: YubicoProduct.name(device.productID),
                interfaces: device.interfaces.compactMap(YubiKeyInterface.init), access: access)
        }
    }
}
