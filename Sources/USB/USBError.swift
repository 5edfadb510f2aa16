/// A libusb failure, with the call that failed and libusb's name for it.
public enum USBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libusb-1.0.so.0 (or one of its functions) could not be loaded.
    case libraryMissing(String)
    /// A libusb call returned a negative `libusb_error`.
    case call(function: String, code: Int32, name: String)

    /// The `libusb_error` codes a caller acts on (libusb.h's values).
    public enum Kind: Sendable, Equatable {
        /// LIBUSB_ERROR_ACCESS: the device node is not readable and writable
        /// by this user (no udev rule gives it to them).
        case access
        /// LIBUSB_ERROR_NO_DEVICE: unplugged.
        case noDevice
        /// LIBUSB_ERROR_NOT_FOUND: no such device, interface or endpoint.
        case notFound
        /// LIBUSB_ERROR_BUSY: another program (pcscd, scdaemon) claimed the
        /// interface.
        case busy
        /// LIBUSB_ERROR_TIMEOUT.
        case timeout
        /// LIBUSB_ERROR_PIPE: the endpoint halted.
        case pipe
        /// LIBUSB_ERROR_INTERRUPTED: a signal arrived during the call.
        case interrupted
        case other
    }

    public var kind: Kind {
        guard case .call(_, let code, _) = self else { return .other }
        switch code {
        case -3: return .access
        case -4: return .noDevice
        case -5: return .notFound
        case -6: return .busy
        case -7: return .timeout
        case -9: return .pipe
        case -10: return .interrupted
        default: return .other
        }
    }

    public var description: String {
        switch self {
        case .libraryMissing(let what):
            "cannot load \(what): install libusb (Debian: `sudo apt-get install libusb-1.0-0`)"
        case .call(let function, _, let name):
            "\(function): \(name)"
        }
    }
}
