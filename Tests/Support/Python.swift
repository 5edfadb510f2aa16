import Foundation
import Testing

/// A python3 run that did not exit 0.
public struct PythonFailed: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Runs `script` with `python3`, `input` in a file named by argv[1];
/// returns its standard output. Output goes through files (no pipe fills
/// up) and a run still going after `timeout` seconds is killed.
public func runPython(
    script: String, input: Data, timeout: Double = 120, sourceLocation: SourceLocation = #_sourceLocation
) throws -> Data {
    let scratch = try TemporaryDirectory("python")
    try writeBytes(scratch.file("script.py"), Array(script.utf8))
    try writeBytes(scratch.file("input.json"), Array(input))
    let result = try withExtendedLifetime(scratch) {
        try runProgram(
            "/usr/bin/env", ["python3", scratch.file("script.py"), scratch.file("input.json")], timeout: timeout,
            sourceLocation: sourceLocation)
    }
    guard result.status == 0 else {
        throw PythonFailed(description: "python3 exited \(result.status): \(result.stderr.suffix(2000))")
    }
    return Data(result.stdoutBytes)
}
