import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Another program latchkey runs (so far only `udevadm`, from `setup`).
public struct ExternalProgram {
    /// How a run ended.
    public struct Outcome {
        /// The exit status, or `nil` when it was killed by a signal or for
        /// taking longer than the time limit.
        public var status: Int32?
        /// stdout and stderr together, the last 4 KiB at most, trimmed.
        public var output: String
        public var timedOut: Bool

        /// The output's last line, for a one-line report.
        public var lastLine: String {
            output.split(separator: "\n").last.map(String.init) ?? ""
        }
    }

    public var path: String

    public init(path: String) { self.path = path }

    /// Runs the program with `arguments`, stdin from /dev/null, stdout and
    /// stderr together (the last 4 KiB kept), `environment` less latchkey's
    /// secrets, and kills it after `timeoutSeconds` (see ``Subprocess``).
    public func run(_ arguments: [String], environment: Environment, timeoutSeconds: Int = 30) throws(SystemError) -> Outcome {
        var process = Subprocess(path, arguments, environment: environment)
        process.errorOutput = .intoOutput
        process.outputLimit = 4096
        process.overflow = .keepLast
        process.timeoutSeconds = timeoutSeconds
        let outcome = try process.run()
        return Outcome(status: outcome.status, output: trimmed(String(decoding: outcome.output, as: UTF8.self)), timedOut: outcome.timedOut)
    }
}

/// `text` without leading and trailing white space and newlines.
private func trimmed(_ text: String) -> String {
    var rest = Substring(text)
    while let first = rest.first, first.isWhitespace { rest.removeFirst() }
    while let last = rest.last, last.isWhitespace { rest.removeLast() }
    return String(rest)
}
