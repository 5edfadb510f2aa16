import Glibc

/// The `--log` file: one line per command APDU the key received, written
/// (unbuffered, `O_APPEND`) once the response is ready:
///
///     CALCULATE_ALL 00a40001 9000
///     SELECT 00a40400 a0000005272101 9000
///
/// First the instruction's name (see `Instruction`), then CLA INS P1 P2 in
/// hex, for SELECT the AID, last the status word. Nothing else of the data
/// is written: PUT and SET CODE carry secrets.
public final class InstructionLog {
    private let fd: Int32

    public init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateFile.Failure.system(call: "open", path: path, errno: errno) }
    }

    deinit { close(fd) }

    /// The line for `command` answered by `response` (without the newline).
    public static func line(command: [UInt8], response: [UInt8]) -> String {
        let instruction = Instruction(apdu: command)
        var line = "\(instruction) " + Hex.encode(command.prefix(4))
        if instruction == .select, command.count > 5 { line += " " + Hex.encode(command.dropFirst(5)) }
        line += " " + Hex.encode(response.suffix(2))
        return line
    }

    public func record(command: [UInt8], response: [UInt8]) {
        let bytes = Array((Self.line(command: command, response: response) + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + written }, $0.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            written += n
        }
    }
}
