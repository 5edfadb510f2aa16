#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Bytes that must not outlive their use: a passphrase, a TOTP secret, a
/// decrypted vault payload.
///
/// The buffer is wiped with `explicit_bzero` when the last reference goes away.
/// Swift may still have copied the bytes elsewhere (an `Array` that was
/// mutated while shared is copied), so code that holds a `SecretBytes` should
/// read it through ``withUnsafeBytes(_:)`` rather than copying it out.
public final class SecretBytes: @unchecked Sendable {
    // @unchecked: `storage` is written only in `init` and `deinit`; every other
    // access reads it, so sharing across threads is safe.
    private var storage: [UInt8]

    public init(_ bytes: [UInt8]) { storage = bytes }

    /// Takes ownership of `bytes` and wipes the caller's copy.
    public init(consuming bytes: inout [UInt8]) {
        storage = bytes
        bytes.wipe()
        bytes = []
    }

    deinit { storage.wipe() }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// A copy of the bytes. The caller owns the copy and should wipe it.
    public var bytes: [UInt8] { storage }

    /// Compares in time that depends only on the lengths.
    public func constantTimeEquals(_ other: [UInt8]) -> Bool {
        constantTimeEqual(storage, other)
    }
}

extension Array where Element == UInt8 {
    /// Overwrites the buffer with zeros in a way the optimiser may not remove.
    public mutating func wipe() {
        withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { explicit_bzero(base, raw.count) }
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}

/// Keeps the pages under `buffer` in RAM (`mlock`), never written to swap.
/// Best effort: beyond RLIMIT_MEMLOCK the call fails and nothing changes.
/// Pages are not unlocked again (another secret may share them); they go
/// with the process.
@discardableResult
public func lockPages(_ buffer: UnsafeRawBufferPointer) -> Bool {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return true }
    return mlock(base, buffer.count) == 0
}
