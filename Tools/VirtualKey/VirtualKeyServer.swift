/// Plugs an `OATHApplet` into pcscd through vpcd: connects to vpcd's port
/// (35963 is reader "Virtual PCD 00 00", 35964 "Virtual PCD 00 01"),
/// answers its messages, and connects again when the connection drops
/// (pcscd restarted) unless told to stop after one connection.
///
/// Facts about vpcd (vsmartcard 3.3, pcsc-lite 1.9.9) this relies on:
/// - vpcd listens on all interfaces with a backlog of 0 and accepts the
///   card only when pcscd next polls the reader (every 400 ms or so), so
///   `connect` succeeds before pcscd sees the card.
/// - It serves one card per port: a second card's connection stays in the
///   backlog, unanswered, until the first one goes.
/// - On power-up it sends `01` then `04` (get ATR); presence polling is `04`
///   again; it never waits for an answer to `00`, `01` or `02`.
public final class VirtualKeyServer {
    public struct Endpoint: Sendable, CustomStringConvertible {
        public var host: String
        public var port: UInt16

        public init(host: String = "127.0.0.1", port: UInt16 = 35963) {
            self.host = host
            self.port = port
        }

        public var description: String { "\(host):\(port)" }
    }

    private let applet: OATHApplet
    private let endpoint: Endpoint
    private let shutdown: ShutdownSignal
    private let log: InstructionLog?
    private let reconnect: Bool
    private let misbehaviour: Misbehaviour?
    private let report: (String) -> Void

    public init(
        applet: OATHApplet, endpoint: Endpoint, shutdown: ShutdownSignal, log: InstructionLog?,
        reconnect: Bool = true, misbehaviour: Misbehaviour? = nil, report: @escaping (String) -> Void
    ) {
        self.applet = applet
        self.endpoint = endpoint
        self.shutdown = shutdown
        self.log = log
        self.reconnect = reconnect
        self.misbehaviour = misbehaviour
        self.report = report
    }

    /// Runs until SIGTERM/SIGINT (or, without `reconnect`, until the first
    /// connection ends). Throws only for failures other than vpcd being
    /// absent or going away.
    public func run() throws {
        var waitingReported = false
        while !shutdown.isRequested {
            let socket: VPCDSocket
            do {
                socket = try VPCDSocket(host: endpoint.host, port: endpoint.port)
            } catch {
                if case .resolve = error { throw error }
                if !waitingReported {
                    report("waiting for vpcd at \(endpoint) (is pcscd running with vsmartcard-vpcd?): \(error)")
                    waitingReported = true
                }
                if !shutdown.sleep(0.25) { break }
                continue
            }
            waitingReported = false
            report("connected to vpcd at \(endpoint)")
            let ended = try serve(socket)
            applet.resetCard()
            misbehaviour?.resetCard()
            if ended == .shutdown || !reconnect { break }
            report("vpcd closed the connection; connecting again")
            if !shutdown.sleep(0.25) { break }
        }
    }

    private enum End { case closed, shutdown }

    /// The applet's answer, bent by the misbehaviour if there is one; `nil`
    /// for no answer at all.
    private func answer(_ command: [UInt8]) -> [UInt8]? {
        guard let misbehaviour else { return applet.process(command) }
        return misbehaviour.respond(to: command) { applet.process(command) }
    }

    private func serve(_ socket: VPCDSocket) throws -> End {
        while true {
            let payload: [UInt8]
            switch try socket.receive(shutdown: shutdown) {
            case .closed: return .closed
            case .shutdown: return .shutdown
            case .message(let bytes): payload = bytes
            }
            if payload.isEmpty { continue }
            switch VPCDMessage(payload: payload) {
            case .powerOff, .powerOn, .reset:
                applet.resetCard()
                misbehaviour?.resetCard()
            case .getATR:
                try socket.send(VPCDMessage.yubiKey5ATR)
            case .unknownControl(let byte):
                report("ignoring unknown vpcd control message \(Hex.encode([byte]))")
            case .apdu(let command):
                // Silence: vpcd (and pcscd's reader with it) now waits for
                // an answer until this connection closes.
                guard let response = answer(command) else {
                    log?.record(command: command, response: [])
                    continue
                }
                log?.record(command: command, response: response)
                if shutdown.isRequested { return .shutdown }
                do {
                    try socket.send(response)
                } catch {
                    return .closed
                }
            }
        }
    }
}
