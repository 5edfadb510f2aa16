import CLibUSB

#if canImport(Glibc)
import Glibc
#endif

/// libusb-1.0's functions, found with dlopen/dlsym the first time a command
/// needs USB. Linking libusb instead would make the dynamic loader map it
/// (and libudev under it) into every latchkey process, `credential-process`
/// included, which never touches USB.
///
/// The types come from libusb's header (CLibUSB); pointers to its opaque
/// structs (`libusb_context`, `libusb_device`, `libusb_device_handle`)
/// import as `OpaquePointer`.
struct LibUSB: @unchecked Sendable {
    typealias Context = OpaquePointer
    typealias Device = OpaquePointer
    typealias Handle = OpaquePointer

    let initialize: @convention(c) (UnsafeMutablePointer<Context?>?) -> Int32
    let exit: @convention(c) (Context?) -> Void
    let getDeviceList: @convention(c) (Context?, UnsafeMutablePointer<UnsafeMutablePointer<Device?>?>?) -> Int
    let freeDeviceList: @convention(c) (UnsafeMutablePointer<Device?>?, Int32) -> Void
    let getDeviceDescriptor: @convention(c) (Device?, UnsafeMutablePointer<libusb_device_descriptor>?) -> Int32
    let getConfigDescriptor:
        @convention(c) (Device?, UInt8, UnsafeMutablePointer<UnsafeMutablePointer<libusb_config_descriptor>?>?) -> Int32
    let getActiveConfigDescriptor:
        @convention(c) (Device?, UnsafeMutablePointer<UnsafeMutablePointer<libusb_config_descriptor>?>?) -> Int32
    let freeConfigDescriptor: @convention(c) (UnsafeMutablePointer<libusb_config_descriptor>?) -> Void
    let getBusNumber: @convention(c) (Device?) -> UInt8
    let getDeviceAddress: @convention(c) (Device?) -> UInt8
    let open: @convention(c) (Device?, UnsafeMutablePointer<Handle?>?) -> Int32
    let close: @convention(c) (Handle?) -> Void
    let claimInterface: @convention(c) (Handle?, Int32) -> Int32
    let releaseInterface: @convention(c) (Handle?, Int32) -> Int32
    let bulkTransfer:
        @convention(c) (Handle?, UInt8, UnsafeMutablePointer<UInt8>?, Int32, UnsafeMutablePointer<Int32>?, UInt32) -> Int32
    let errorName: @convention(c) (Int32) -> UnsafePointer<CChar>?

    /// The library, loaded once per process; a failure to load is kept and
    /// reported the same way to every caller.
    static let shared: Result<LibUSB, USBError> = load()

    /// Where Debian (libusb-1.0-0) installs the runtime library; the plain
    /// name lets the loader search its usual path.
    static let libraryName = "libusb-1.0.so.0"

    private static func load() -> Result<LibUSB, USBError> {
        guard let library = dlopen(libraryName, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(.libraryMissing(libraryName))
        }
        // Each function's type is the field's it initializes.
        func symbol<F>(_ name: String) throws(USBError) -> F {
            guard let address = dlsym(library, name) else { throw .libraryMissing("\(libraryName) without \(name)") }
            return unsafeBitCast(address, to: F.self)
        }
        do throws(USBError) {
            return .success(
                LibUSB(
                    initialize: try symbol("libusb_init"),
                    exit: try symbol("libusb_exit"),
                    getDeviceList: try symbol("libusb_get_device_list"),
                    freeDeviceList: try symbol("libusb_free_device_list"),
                    getDeviceDescriptor: try symbol("libusb_get_device_descriptor"),
                    getConfigDescriptor: try symbol("libusb_get_config_descriptor"),
                    getActiveConfigDescriptor: try symbol("libusb_get_active_config_descriptor"),
                    freeConfigDescriptor: try symbol("libusb_free_config_descriptor"),
                    getBusNumber: try symbol("libusb_get_bus_number"),
                    getDeviceAddress: try symbol("libusb_get_device_address"),
                    open: try symbol("libusb_open"),
                    close: try symbol("libusb_close"),
                    claimInterface: try symbol("libusb_claim_interface"),
                    releaseInterface: try symbol("libusb_release_interface"),
                    bulkTransfer: try symbol("libusb_bulk_transfer"),
                    errorName: try symbol("libusb_error_name")))
        } catch {
            return .failure(error)
        }
    }

    /// libusb's name for an error code (`LIBUSB_ERROR_BUSY`).
    func name(of code: Int32) -> String {
        errorName(code).map { String(cString: $0) } ?? "libusb error \(code)"
    }
}
