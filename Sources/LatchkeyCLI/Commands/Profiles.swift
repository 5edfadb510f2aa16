import LatchkeyCore
import AWSConfig
import ArgumentParser
import FoundationEssentials

/// `latchkey profiles [--json]`: the merged AWS profiles, secrets redacted.
struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the AWS profiles latchkey sees (config and credentials merged, secrets redacted).",
        discussion: """
            Reads ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE and
            AWS_SHARED_CREDENTIALS_FILE) by the AWS SDKs' shared-config rules; values from
            the credentials file win. Secret keys and tokens print as <redacted>.

            Examples:
              latchkey profiles
              latchkey profiles --json
            """)

    @Flag(help: "Print JSON: {\"profiles\": {name: {key: value}}, \"sso_sessions\": {…}}.")
    var json = false

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        let config = try SharedConfig.load(environment: world.environment)
        let document = config.document(redactingSecrets: true)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            world.standardOutput(String(decoding: try encoder.encode(document), as: UTF8.self) + "\n")
            return
        }
        for name in document.profiles.keys.sorted() {
            world.standardOutput("[\(name)]\n")
            for (key, value) in (document.profiles[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                world.standardOutput("  \(key) = \(Self.text(value))\n")
            }
        }
    }

    static func text(_ value: ConfigValue) -> String {
        if let text = value.text { return text }
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
