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
              latchkey-virtual-key serve --state key.json \\
                  --misbehave truncated-tlv --misbehave-on calculate,list

            A misbehaving key (--misbehave MODE) answers the instructions named by \
            --misbehave-on (default: all) as no working key does, the others normally:
              truncated-tlv    the answer stops after its last item's tag
              length-past-end  the first item's length says 65535 (82 FF FF)
              unknown-tags     each tag becomes one YKOATH lacks (71 → 61, 76 → 66)
              sw-6581          status 6581 (memory failure), no data
              endless-61xx     16 bytes + 61 10, and again to every SEND REMAINING
              garbage          1 to 32 random bytes that end in no status word
              silence          no answer at all: vpcd, and pcscd's reader with it,
                               wait until the key stops
            The first three change only answers with data and status 9000. \
            Instructions, as the --log names them: select, put, delete, set-code, \
            reset, rename, list, calculate, validate, calculate-all, send-remaining.
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

    @Option(help: "Answer wrongly on purpose, in this mode (see the modes above).")
    var misbehave: Misbehaviour.Mode?

    @Option(help: "With --misbehave: the instructions that misbehave, comma-separated (default: all).")
    var misbehaveOn: String?

    func validate() throws {
        if let chunk, !(1...65_535).contains(chunk) { throw ValidationError("--chunk must be 1 to 65535") }
        guard touchDelay >= 0, touchTimeout >= 0 else { throw ValidationError("touch times must not be negative") }
        if misbehaveOn != nil, misbehave == nil { throw ValidationError("--misbehave-on needs --misbehave") }
        _ = try misbehaviourTargets()
    }

    /// `--misbehave-on` as instructions; empty means every instruction.
    func misbehaviourTargets() throws -> [Instruction] {
        guard let misbehaveOn else { return [] }
        return try misbehaveOn.split(separator: ",").map { name in
            guard let instruction = Instruction(optionName: String(name)) else {
                throw ValidationError("--misbehave-on: unknown instruction '\(name)'")
            }
            return instruction
        }
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
            log: instructionLog, reconnect: !once,
            misbehaviour: try misbehave.map { Misbehaviour(mode: $0, targets: try misbehaviourTargets(), random: random) },
            report: reportLine)
        reportLine("\(keyState.accounts.count) account(s) from \(state)")
        if let misbehave { reportLine("misbehaving: \(misbehave.rawValue) on \(misbehaveOn ?? "every instruction")") }
        try server.run()
        reportLine("stopped")
    }
}

extension Misbehaviour.Mode: ExpressibleByArgument {}
