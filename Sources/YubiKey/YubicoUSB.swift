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
    /// Whether the CCID interface could be claimed (and was released at
    /// once), when that was tried; LIBUSB_ERROR_BUSY means another program
    /// holds it.
    public var claim: Result<Void, USBError>?

    public init(
        device: USBDevice, model: String, interfaces: [YubiKeyInterface], access: Result<Void, USBError>,
        claim: Result<Void, USBError>? = nil
    ) {
        self.device = device
        self.model = model
        self.interfaces = interfaces
        self.access = access
        self.claim = claim
    }

    public var hasCCID: Bool { interfaces.contains(.ccid) }
    public var mayOpen: Bool { (try? access.get()) != nil }
}

public enum USBKeys {
    /// Every Yubico device on the USB buses: model, interfaces, and whether
    /// this user may open it (libusb_open, then closed at once: opening
    /// claims nothing, so pcscd keeps working). With `probingClaims`, the
    /// CCID interface of each device that opens is also claimed and
    /// released at once, to learn whether another program holds it (only
    /// worth doing when pcscd, which would hold it, has no reader). No
    /// Yubico device gives an empty list.
    public static func survey(_ context: USBContext, probingClaims: Bool = false) throws(USBError) -> [USBKeyReport] {
        try context.devices(vendorID: YubicoProduct.vendorID).sorted {
            ($0.bus, $0.address) < ($1.bus, $1.address)
        }.map { device in
            var access: Result<Void, USBError> = .success(())
            var claim: Result<Void, USBError>?
            let ccid = device.smartCardInterface
            do throws(USBError) {
                let handle = try context.open(device)
                defer { handle.close() }
                if probingClaims, let ccid {
                    do throws(USBError) {
                        try handle.claimInterface(ccid.number)
                        claim = .success(())
                    } catch {
                        claim = .failure(error)
                    }
                }
            } catch {
                access = .failure(error)
            }
            return USBKeyReport(
                device: device, model: YubicoProduct.name(device.productID),
                interfaces: device.interfaces.compactMap(YubiKeyInterface.init), access: access, claim: claim)
        }
    }
}
