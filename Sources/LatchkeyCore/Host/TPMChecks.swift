import SystemSupport
import TPM

#if canImport(Glibc)
import Glibc
#endif

/// doctor's TPM findings: whether there is a TPM and this user may open it
/// (Debian gives /dev/tpmrm0 to group tss, mode 0660, by udev rule), who
/// made it and its firmware, and whether it has HMAC with SHA-1 and SHA-256.
/// A machine without a TPM is not a failure: only `--tpm` needs one.
public struct TPMChecks {
    public var connection: TPMConnection
    public var user: CurrentUser
    public var environment: Environment

    public init(environment: Environment, user: CurrentUser) {
        self.environment = environment
        self.user = user
        connection = TPMConnection.standard(in: environment)
    }

    static let presentTitle = "TPM 2.0 usable"
    static let hmacTitle = "TPM HMAC with SHA-1 and SHA-256"

    /// Both checks, skipped for `reason`.
    public static func notChecked(because reason: String) -> [DoctorCheck] {
        [.skip("tpm", presentTitle, because: reason), .skip("tpm-hmac", hmacTitle, because: reason)]
    }

    public func all() -> [DoctorCheck] {
        if let access = deviceAccess() { return [access, .skip("tpm-hmac", Self.hmacTitle, because: "no usable TPM")] }
        let tpm: TPMDevice
        do { tpm = try TPMDevice(connection) } catch {
            return [
                .fail("tpm", Self.presentTitle, TPMFailure.explain(error, connection: connection).message, fix: "see the message; LATCHKEY_TPM_TCTI chooses the TPM"),
                .skip("tpm-hmac", Self.hmacTitle, because: "no usable TPM"),
            ]
        }
        return [identity(tpm), hmac(tpm)]
    }

    /// For a `device:` TCTI: the device's absence (skip) or this user's
    /// missing permission (fail, with the usermod line); `nil` when it opens.
    private func deviceAccess() -> DoctorCheck? {
        guard let path = connection.devicePath else { return nil }
        guard let node = Self.deviceNode(path) else {
            return .skip("tpm", Self.presentTitle, because: "no \(path): this machine shows no TPM (only --tpm needs one; LATCHKEY_TPM_TCTI names another)")
        }
        guard access(path, R_OK | W_OK) != 0 else { return nil }
        let name = user.name ?? "uid \(user.uid)"
        guard let group = node.group, node.mode & 0o060 == 0o060 else {
            return .fail(
                "tpm", Self.presentTitle, "\(name) may not open \(path) (mode \(String(node.mode & 0o777, radix: 8)))",
                fix: "install tpm-udev (its rule gives \(path) to group tss, mode 0660), then `sudo usermod -aG tss \(name)` and log in again")
        }
        return .fail(
            "tpm", Self.presentTitle, "\(path) belongs to group \(group) and \(name) is not in it (in this session)",
            fix: "`sudo usermod -aG \(group) \(name)`, then log in again")
    }

    private func identity(_ tpm: TPMDevice) -> DoctorCheck {
        let maker = (try? tpm.property(.manufacturer)).flatMap { $0 }.map(Self.vendorText) ?? "unknown maker"
        let firmware = (try? tpm.property(.firmwareVersion1)).flatMap { $0 }.map { "firmware \($0 >> 16).\($0 & 0xFFFF)" } ?? "firmware unknown"
        return .ok("tpm", Self.presentTitle, "\(maker), \(firmware), through \(connection.tcti)")
    }

    private func hmac(_ tpm: TPMDevice) -> DoctorCheck {
        do throws(TPMError) {
            let hmac = try tpm.implements(algorithm: TPMDevice.hmacAlgorithm)
            var hashes: [TPMHash] = []
            for hash in TPMHash.allCases where try tpm.implements(hash) { hashes.append(hash) }
            let names = hashes.map(\.name).joined(separator: ", ")
            guard hmac, hashes.contains(.sha1), hashes.contains(.sha256) else {
                return .fail(
                    "tpm-hmac", Self.hmacTitle, hmac ? "the TPM's hashes: \(names.isEmpty ? "none" : names)" : "the TPM has no HMAC",
                    fix: "keep these accounts on a YubiKey or in the sealed vault")
            }
            return .ok("tpm-hmac", Self.hmacTitle, "HMAC with \(names)")
        } catch {
            return .fail("tpm-hmac", Self.hmacTitle, TPMFailure.explain(error, connection: connection).message, fix: "see the message")
        }
    }

    /// A device node's group name (when the group database names it) and
    /// mode, or `nil` when there is nothing at `path`.
    static func deviceNode(_ path: String) -> (group: String?, mode: UInt32)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (getgrgid(info.st_gid).flatMap { $0.pointee.gr_name.map { String(cString: $0) } }, info.st_mode)
    }

    /// TPM_PT_MANUFACTURER: four ASCII characters ("IBM", "INTC", "MSFT", "NTC"), NULs dropped.
    static func vendorText(_ value: UInt32) -> String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }.filter { $0 >= 0x20 && $0 < 0x7F }
        return bytes.isEmpty ? "unknown maker" : "made by " + String(decoding: bytes, as: UTF8.self)
    }
}
