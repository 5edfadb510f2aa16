/// The two bulk endpoints of a USB CCID interface, as the CCID layer sees
/// them: bytes out, bytes in, each with a time limit. The USB layer (libusb)
/// provides one for a real key; tests provide a simulated endpoint.
///
/// What ``CCIDCard`` relies on: calls come from one thread, one at a time,
/// and each returns or throws within about its time limit (the card keeps
/// its reads short so that cancellation is noticed between them).
public protocol BulkPipe: AnyObject {
    /// Writes `bytes` to the bulk-OUT endpoint, all of them, or throws.
    func write(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(BulkPipeError)
    /// Reads one transfer from the bulk-IN endpoint: at most `maxLength`
    /// bytes (a device may split a message over several transfers).
    ///
    /// ``CCIDCard`` passes the device's dwMaxCCIDMessageLength as
    /// `maxLength`, so one transfer can hold any whole message. An empty
    /// result (a zero-length packet) is fine. Bytes that arrived before the
    /// time limit passed are returned, not dropped: libusb reports them with
    /// LIBUSB_ERROR_TIMEOUT and a non-zero `transferred`; `.timedOut` means
    /// that nothing came.
    func read(maxLength: Int, timeoutMilliseconds: Int) throws(BulkPipeError) -> [UInt8]
}

/// What can go wrong on the pipe itself, below CCID.
public enum BulkPipeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing arrived (or could be sent) within the time limit.
    case timedOut
    /// The device is gone: unplugged, or reset under us.
    case deviceGone
    /// Any other failure, in the USB layer's words (e.g. libusb's error name).
    case failed(String)

    public var description: String {
        switch self {
        case .timedOut: "the key did not answer in time"
        case .deviceGone: "the key was unplugged"
        case .failed(let text): "USB transfer failed: \(text)"
        }
    }
}
