import FoundationEssentials
import Glibc

/// The state file: `KeyState` as JSON at `path`, created when absent and
/// replaced atomically (write a temporary file beside it, fsync, rename)
/// after every change, so a crash leaves the old or the new state, never
/// half of one. Mode 0600: it holds secrets.
public final class StateFile: StateStore {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public enum Failure: Error, CustomStringConvertible {
        case system(call: String, path: String, errno: Int32)
        case invalid(path: String, reason: String)

        public var description: String {
            switch self {
            case .system(let call, let path, let code):
                "\(call) \(path): \(String(cString: strerror(code)))"
            case .invalid(let path, let reason):
                "\(path) is not a virtual key state file: \(reason)"
            }
        }
    }

    /// Reads the state; when the file does not exist, makes a fresh key
    /// and writes it.
    public func loadOrCreate(random: some RandomSource) throws -> KeyState {
        if let bytes = try read() {
            do {
                return try JSONDecoder().decode(KeyState.self, from: Data(bytes))
            } catch {
                throw Failure.invalid(path: path, reason: "\(error)")
            }
        }
        let state = KeyState.fresh(random: random)
        try save(state)
        return state
    }

    public func save(_ state: KeyState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var bytes = Array(try encoder.encode(state))
        bytes.append(UInt8(ascii: "\n"))
        defer { for i in bytes.indices { bytes[i] = 0 } }
        try writeAtomically(bytes)
    }

    // MARK: - POSIX

    /// The file's bytes, or `nil` when it does not exist.
    private func read() throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Failure.system(call: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.system(call: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            out += buffer[0..<n]
            guard out.count <= 16 << 20 else { throw Failure.invalid(path: path, reason: "larger than 16 MiB") }
        }
        return out
    }

    private func writeAtomically(_ bytes: [UInt8]) throws {
        let temporary = path + ".tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.system(call: "open", path: temporary, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + written }, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw Failure.system(call: "write", path: temporary, errno: code)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            unlink(temporary)
            throw Failure.system(call: "fsync", path: temporary, errno: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Failure.system(call: "rename", path: path, errno: code)
        }
    }
}
