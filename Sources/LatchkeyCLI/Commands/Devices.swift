import LatchkeyCore
import ArgumentParser
import PCSC
import USB
import YubiKey
import FoundationEssentials

/// `latchkey devices`: every PC/SC reader and what its OATH applet says, and
/// every Yubico device on USB.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List smart-card readers with their OATH applets, and Yubico USB devices.",
        discussion: """
            Readers (through pcscd): the OATH applet's version, whether it has a password,
            and its device id (which `--remember` uses), or why there is none.

            USB (through libusb, without pcscd): each Yubico device's bus and address, its
            model from the product id, the interfaces it has enabled (OTP, FIDO, CCID;
            the OATH applet needs CCID), and whether this user may open it (the direct
            CCID transport needs that; `latchkey setup` installs the udev rule).

            Exit status 0 when either list could be read, even if empty.

            Examples:
              latchkey devices
              latchkey devices --json
            """)

    @Flag(help: "Print JSON: {\"readers\", \"pcscError\", \"usb\", \"usbError\"}.")
    var json = false

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        var listing = DeviceListing()
        do throws(KeyAccessError) {
            let pcsc: PCSCContext
            do { pcsc = try PCSCContext() } catch { throw KeyAccessError.pcsc(error) }
            listing.readers = try KeyFinder.survey(context: pcsc).map(DeviceReport.init)
        } catch {
            listing.pcscError = error.description
        }
        do throws(USBError) {
            listing.usb = try USBKeys.survey(try USBContext()).map(USBDeviceReport.init)
        } catch {
            listing.usbError = error.description
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            world.standardOutput(String(decoding: try encoder.encode(listing), as: UTF8.self) + "\n")
        } else {
            world.standardOutput(listing.text)
        }
        if let pcscError = listing.pcscError, let usbError = listing.usbError {
            throw LatchkeyError(.smartCard, "neither pcscd nor USB could be read: \(pcscError); \(usbError)")
        }
    }
}

struct DeviceListing: Encodable {
    var readers: [DeviceReport] = []
    var pcscError: String?
    var usb: [USBDeviceReport] = []
    var usbError: String?

    var text: String {
        var lines: [String] = []
        if let pcscError {
            lines.append("Readers: not read (\(pcscError))")
        } else if readers.isEmpty {
            lines.append("Readers: none")
        } else {
            lines.append("Readers:")
            for report in readers {
                if let version = report.oathVersion {
                    let password = report.passwordSet == true ? "password set" : "no password"
                    lines.append("  \(report.reader): OATH \(version), \(password), device \(report.deviceID ?? "?")")
                } else {
                    lines.append("  \(report.reader): no OATH applet (\(report.problem ?? "unknown"))")
                }
            }
        }
        if let usbError {
            lines.append("USB: not read (\(usbError))")
        } else if usb.isEmpty {
            lines.append("USB: no Yubico device")
        } else {
            lines.append("USB:")
            for device in usb {
                let access = device.mayOpen ? "this user may open it" : "this user may not open it (\(device.problem ?? "?"))"
                lines.append(
                    "  \(device.bus)/\(device.address) \(device.model) (\(device.id)), interfaces \(device.interfaces.isEmpty ? "none" : device.interfaces.joined(separator: " ")), \(access)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

struct DeviceReport: Encodable {
    var reader: String
    var oathVersion: String?
    var passwordSet: Bool?
    var deviceID: String?
    var problem: String?

    init(_ report: ReaderReport) {
        reader = report.reader
        switch report.applet {
        case .success(let select):
            oathVersion = select.versionString
            passwordSet = select.isPasswordProtected
            deviceID = select.deviceID
        case .failure(let error):
            problem = error.description
        }
    }
}

struct USBDeviceReport: Encodable {
    /// Bus and address as lsusb prints them (`001`, `004`).
    var bus: String
    var address: String
    /// `1050:0407`.
    var id: String
    var model: String
    var interfaces: [String]
    var node: String
    var mayOpen: Bool
    var problem: String?

    init(_ report: USBKeyReport) {
        node = report.device.nodePath
        bus = USBDevice.threeDigits(report.device.bus)
        address = USBDevice.threeDigits(report.device.address)
        id = report.device.idText
        model = report.model
        interfaces = report.interfaces.map(\.rawValue)
        mayOpen = report.mayOpen
        if case .failure(let error) = report.access { problem = error.description }
    }
}
