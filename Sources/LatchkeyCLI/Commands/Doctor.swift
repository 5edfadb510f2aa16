import LatchkeyCore
import ArgumentParser
import SystemSupport
import USB
import YubiKey

import FoundationEssentials

/// `latchkey doctor`: checks pcscd, polkit, the readers and OATH applets,
/// the udev and polkit rules, other programs holding the key, the clock
/// against STS, and the profiles' MFA sources.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the key, pcscd, the rules and the clock are in order.",
        discussion: """
            One line per check: ✓ passed, ✗ failed (the fix on the next line), ⚠ worth
            knowing, – not checked (what it needs is missing). The clock is compared with
            the Date header of an unauthenticated request to STS (AWS_ENDPOINT_URL_STS and
            the other endpoint settings apply); no credentials are used.

            Exit status: 0 when no check failed (warnings allowed), 1 otherwise.

            Examples:
              latchkey doctor
              latchkey doctor --json    # status: ok, fail, warn or skip
            """)

    @Flag(help: "Print JSON: {\"checks\": [{\"name\", \"status\", \"detail\", \"fix\"}]}.")
    var json = false

    /// Where the rule files, /proc and the group file are looked for (tests).
    @Option(help: .hidden)
    var root = "/"

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let root = try RuleInstaller.resolve(root: root)
        let checks = HostChecks.doctor(root: root, world: world)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            world.standardOutput(String(decoding: try encoder.encode(["checks": checks]), as: UTF8.self) + "\n")
        } else {
            for check in checks { world.standardOutput(check.text) }
        }
        let failed = checks.filter { $0.status == .fail }
        guard failed.isEmpty else {
            throw LatchkeyError(.failure, "\(failed.count) of \(checks.count) checks failed: \(failed.map(\.name).joined(separator: ", "))")
        }
    }
}
