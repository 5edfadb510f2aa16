import ArgumentParser
import Glibc
import VirtualKey

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect to vpcd and act as a YubiKey until SIGTERM or SIGINT.",
        discussion: """
            Examples:
              latchkey-virtual-key serve --state key.json --log apdus.log
              latchkey-virtual-key serve --state key.json --chunk 64 --touch-delay 2
              latchkey-virtual-key serve --state key.json --touch never --touch-timeout 3
            """
    )

    enum TouchMode: String, ExpressibleByArgument, CaseIterable {
        /// Touched `--touch-delay` seconds after the key asks.
        case auto
        /// Never touched: the key gives up after `--touch-timeout` seconds.
        case never
    }

    @Option(help: "The state file (JSON); created when absent, rewritten after every change.")
    var state: String

    @Option(help: "vpcd's host.")
    var host = "127.0.0.1"

    @Option(help: "vpcd's port: 35963 is reader \"Virtual PCD 00 00\", 35964 \"Virtual PCD 00 01\".")
    var port: UInt16 = 35963

    @Option(help: "Send responses longer than N data bytes in N-byte pieces (61xx, then SEND REMAINING).")
    var chunk: Int?

    @Option(help: "Whether the simulated person touches the key: auto or never.")
    var touch: TouchMode = .auto

    @Option(help: "Seconds until the key is touched (accounts that require touch only).")
    var touchDelay: Double = 0

    @Option(help: "With --touch never: seconds until the key gives up and answers 6982.")
    var touchTimeout: Double = TouchPolicy.defaultTimeout

    @Option(help: "Append one line per received command APDU (instruction, header, status word).")
    var log: String?

    @Flag(help: "Exit when vpcd closes the connection instead of connecting again.")
    var once = false

    func validate() throws {
        if let chunk, !(1...65_535).contains(chunk) { throw ValidationError("--chunk must be 1 to 65535") }
        guard touchDelay >= 0, touchTimeout >= 0 else { throw ValidationError("touch times must not be negative") }
    }

    func run() throws {
        let shutdown = try ShutdownSignal.install()
        let random = SystemRandomSource()
        let file = StateFile(path: state)
        let keyState = try file.loadOrCreate(random: random)
        let instructionLog = try log.map { try InstructionLog(path: $0) }
        let policy: TouchPolicy = touch == .never ? .never(timeout: touchTimeout) : .after(seconds: touchDelay)
        let applet = OATHApplet(
            state: keyState, configuration: OATHApplet.Configuration(chunkSize: chunk), random: random,
            touch: SimulatedTouch(policy: policy, wait: shutdown.sleep), store: file)
        let server = VirtualKeyServer(
            applet: applet, endpoint: VirtualKeyServer.Endpoint(host: host, port: port), shutdown: shutdown,
            log: instructionLog, reconnect: !once, report: reportLine)
        reportLine("\(keyState.accounts.count) account(s) from \(state)")
        try server.run()
        reportLine("stopped")
    }
}
