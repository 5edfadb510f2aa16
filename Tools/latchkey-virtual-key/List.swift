import ArgumentParser
import VirtualKey

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the accounts a state file holds (never the secrets).",
        discussion: "Example:\n  latchkey-virtual-key list --state key.json"
    )

    @Option(help: "The state file (JSON).")
    var state: String

    func run() throws {
        let keyState = try StateFile(path: state).loadOrCreate(random: SystemRandomSource())
        print("salt \(Hex.encode(keyState.salt)), password \(keyState.accessKey == nil ? "not set" : "set")")
        for account in keyState.accounts {
            var line = "\(account.displayName)\t\(account.type.rawValue)\t\(account.algorithm.rawValue)\t\(account.digits) digits"
            if account.type == .hotp { line += "\tcounter \(account.counter)" }
            if account.requiresTouch { line += "\ttouch" }
            print(line)
        }
    }
}
