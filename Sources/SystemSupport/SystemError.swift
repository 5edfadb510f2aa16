#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX error number, as `errno` reports it.
public struct Errno: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno`, read right after a failing call.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let noEntry = Errno(rawValue: ENOENT)
    public static let exists = Errno(rawValue: EEXIST)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let loop = Errno(rawValue: ELOOP)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let accessDenied = Errno(rawValue: EACCES)
    public static let notPermitted = Errno(rawValue: EPERM)

    /// The C library's text for this error (`strerror`).
    public var description: String { String(cString: strerror(rawValue)) }
}

/// A failed system call: which operation, on which path, and the errno it set.
///
/// The description never contains file contents, only the path, so it is safe
/// to print for files that hold secrets.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String?
    public var errno: Errno
    /// Said instead of the errno's text when the C library's words would
    /// mislead (a lock timeout is not "Connection timed out").
    public var detail: String?

    public init(_ operation: String, path: String? = nil, errno: Errno = .current, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let reason = detail ?? errno.description
        if let path { return "\(operation) \(path): \(reason)" }
        return "\(operation): \(reason)"
    }
}

/// Calls `body` again while it fails with `EINTR`; throws any other failure.
@discardableResult
func retryingOnInterrupt<T: BinaryInteger>(
    _ operation: @autoclosure () -> String, path: String? = nil, _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = Errno.current
        if err == .interrupted { continue }
        throw SystemError(operation(), path: path, errno: err)
    }
}
