import Glibc

/// Writes one line to standard error (fd 2), prefixed with the program's
/// name. Unbuffered: the harness and tests read it after a kill.
func reportLine(_ message: String) {
    let bytes = Array("latchkey-virtual-key: \(message)\n".utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress.map { $0 + written }, $0.count - written) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { return }
        written += n
    }
}
