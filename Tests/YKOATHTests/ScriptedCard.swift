import SmartCard
import Testing

/// A card double that answers from a script: each exchange names the exact
/// command bytes it expects and the response to give. A command the script
/// did not expect, or one sent after the script ran out, fails the test.
final class ScriptedCard: SmartCardConnection {
    struct Exchange {
        var command: [UInt8]?  // nil: accept any command
        var response: [UInt8]
    }

    private var script: [Exchange]
    private(set) var sent: [[UInt8]] = []

    init(_ script: [Exchange]) { self.script = script }

    struct Unscripted: Error {}

    func transmit(_ command: [UInt8]) throws -> [UInt8] {
        sent.append(command)
        guard !script.isEmpty else {
            Issue.record("unscripted command \(hex(command))")
            throw Unscripted()
        }
        let next = script.removeFirst()
        if let expected = next.command, expected != command {
            Issue.record("expected \(hex(expected)), got \(hex(command))")
        }
        return next.response
    }

    var isFinished: Bool { script.isEmpty }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ") }

func bytes(_ text: String) -> [UInt8] {
    text.split(separator: " ").compactMap { UInt8($0, radix: 16) }
}
