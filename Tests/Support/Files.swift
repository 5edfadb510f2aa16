import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Creates a new, uniquely named directory `latchkey-LABEL-UUID` under the
/// system's temporary directory. The caller removes it (see
/// ``TemporaryDirectory`` for one that removes itself).
public func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A temporary directory, removed (with everything in it) when the value
/// goes away. Each test makes its own, so tests can run in parallel.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(_ label: String = "test") throws {
        url = try makeTemporaryDirectory(label)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside this directory (nothing is created).
    public func file(_ name: String) -> String { path + "/" + name }
}

/// The bytes of the file at `path`.
public func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes `bytes` to `path` (created 0600, or truncated) with plain POSIX
/// calls: Foundation's atomic writes leave `TemporaryDirectory.*` folders in /tmp.
public func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        offset += n
    }
}

/// Lowercase hex, two digits a byte.
public func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The bytes of an even-length hex string (traps on anything else: test data only).
public func bytes(fromHex text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// The uid of `nobody` (65534 where the passwd file does not say), for
/// files that must belong to another user. Tests run as root to chown.
public let nobodyUID: uid_t = getpwnam("nobody")?.pointee.pw_uid ?? 65534
