import ArgumentParser

/// `latchkey setup`: installs the udev and polkit rules (placeholder until written).
struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install the udev and polkit rules that let a group use the key.")

    func run() throws {
        throw CLIError(.failure, "setup is not written yet")
    }
}
