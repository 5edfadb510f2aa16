import ArgumentParser

/// `latchkey doctor`: checks pcscd, readers, rules, clock and profiles (placeholder until written).
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the key, pcscd, the rules and the clock are in order.")

    func run() throws {
        throw CLIError(.failure, "doctor is not written yet")
    }
}
