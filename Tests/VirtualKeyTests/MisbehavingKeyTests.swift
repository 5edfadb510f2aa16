import Foundation
import OATH
import SmartCard
import TestSupport
import Testing
import VirtualKey
import YKOATH

// MARK: - What each mode sends

@Suite("A misbehaving key's answers, byte by byte")
struct MisbehavingKeyAnswerTests {
    /// The applet's answer to `command`, bent by `mode` on `targets`.
    static func answer(_ mode: Misbehaviour.Mode, on targets: [Instruction] = [], to command: [UInt8], fixture: AppletFixture = AppletFixture()) -> [UInt8]? {
        Misbehaviour(mode: mode, targets: targets).respond(to: command) { fixture.applet.process(command) }
    }

    static func calculate(_ name: String) -> [UInt8] {
        CommandAPDU(ins: 0xA2, p2: 0x01, data: TLV.serialize([TLV(OATHTag.name, Array(name.utf8)), TLV(OATHTag.challenge, [0, 0, 0, 0, 0, 0, 0, 1])])).serialize()
    }

    @Test("truncated-tlv ends SELECT's answer right after the salt's tag; length-past-end makes the version's length 65535")
    func truncatedAndLengthPastEnd() throws {
        let truncated = try #require(Self.answer(.truncatedTLV, to: AppletFixture.selectOATH))
        #expect(truncated == [0x79, 0x03, 0x05, 0x04, 0x03, 0x71, 0x90, 0x00])
        let pastEnd = try #require(Self.answer(.lengthPastEnd, to: AppletFixture.selectOATH))
        #expect(Array(pastEnd.prefix(7)) == [0x79, 0x82, 0xFF, 0xFF, 0x05, 0x04, 0x03])
        #expect(pastEnd.count == 4 + 3 + 10 + 2, "the real values stay, only the length lies")
        for answer in [truncated, pastEnd] {
            #expect(throws: TLV.ParseError.truncated) { try TLV.parseAll(Array(answer.dropLast(2))) }
        }
    }

    @Test("unknown-tags turns 79/71 into 69/61 in SELECT's answer and 76 into 66 in CALCULATE's")
    func unknownTags() throws {
        let select = try #require(Self.answer(.unknownTags, to: AppletFixture.selectOATH))
        #expect(try TLV.parseAll(Array(select.dropLast(2))).map(\.tag) == [0x69, 0x61])
        let fixture = AppletFixture()
        fixture.select()
        fixture.put("alice", secret: Array("12345678901234567890".utf8))
        let calculate = try #require(Self.answer(.unknownTags, on: [.calculate], to: Self.calculate("alice"), fixture: fixture))
        let items = try TLV.parseAll(Array(calculate.dropLast(2)))
        #expect(items.map(\.tag) == [0x66] && items[0].value.count == 5)
        #expect(Array(calculate.suffix(2)) == [0x90, 0x00])
    }

    @Test("The distorting modes leave answers without data, and error answers, as they were")
    func distortingLeavesEmptyAnswers() {
        for mode in [Misbehaviour.Mode.truncatedTLV, .lengthPastEnd, .unknownTags] {
            // Not selected yet: CALCULATE answers 6D00; after SELECT an unknown account answers 6984.
            #expect(Self.answer(mode, to: Self.calculate("nobody")) == [0x6D, 0x00])
            let fixture = AppletFixture()
            fixture.select()
            #expect(Self.answer(mode, to: Self.calculate("nobody"), fixture: fixture) == [0x69, 0x84])
        }
    }

    @Test("sw-6581 answers 6581 without running the applet: a misbehaving PUT stores nothing")
    func memoryFailure() {
        let fixture = AppletFixture()
        fixture.select()
        let put = CommandAPDU(ins: 0x01, data: TLV.serialize([TLV(OATHTag.name, Array("a".utf8)), TLV(OATHTag.key, [0x21, 6, 1, 2, 3])])).serialize()
        #expect(Self.answer(.sw6581, on: [.put], to: put, fixture: fixture) == [0x65, 0x81])
        #expect(fixture.applet.state.accounts.isEmpty && fixture.store.saved.isEmpty)
    }

    @Test("endless-61xx: 16 bytes + 61 10, and the same to every SEND REMAINING after it; any other command ends the chain")
    func endless() {
        let misbehaviour = Misbehaviour(mode: .endless61xx, targets: [.list])
        let fixture = AppletFixture()
        let piece = [UInt8](repeating: 0, count: 16) + [0x61, 0x10]
        #expect(misbehaviour.respond(to: AppletFixture.selectOATH) { fixture.applet.process(AppletFixture.selectOATH) }?.suffix(2) == [0x90, 0x00])
        #expect(misbehaviour.respond(to: [0x00, 0xA1, 0x00, 0x00]) { [0x90, 0x00] } == piece)
        for _ in 0..<1_000 {
            #expect(misbehaviour.respond(to: [0x00, 0xA5, 0x00, 0x00]) { [0x90, 0x00] } == piece)
        }
        #expect(misbehaviour.respond(to: AppletFixture.selectOATH) { [0x90, 0x00] } == [0x90, 0x00])
        #expect(misbehaviour.respond(to: [0x00, 0xA5, 0x00, 0x00]) { [0x90, 0x00] } == [0x90, 0x00], "SEND REMAINING outside the chain is answered normally")
    }

    @Test("garbage is 1 to 32 bytes that never end in a status word; silence is no answer at all")
    func garbageAndSilence() {
        let misbehaviour = Misbehaviour(mode: .garbage)
        var lengths: Set<Int> = []
        for _ in 0..<2_000 {
            guard let answer = misbehaviour.respond(to: AppletFixture.selectOATH, normal: { [0x90, 0x00] }) else {
                Issue.record("garbage must answer")
                continue
            }
            lengths.insert(answer.count)
            #expect((1...32).contains(answer.count))
            #expect(ResponseAPDU(parsing: answer) == nil, "\(answer)")
        }
        #expect(lengths.contains(1) && lengths.contains(32))
        #expect(Self.answer(.silence, to: AppletFixture.selectOATH) == nil)
    }

    @Test("Untargeted instructions get the applet's own answer; --misbehave-on names are the log's names in lower case with dashes")
    func targets() throws {
        let normal = AppletFixture().applet.process(AppletFixture.selectOATH)
        for mode in Misbehaviour.Mode.allCases {
            #expect(Self.answer(mode, on: [.calculate, .list], to: AppletFixture.selectOATH) == normal, "\(mode)")
        }
        #expect(Instruction(optionName: "select") == .select)
        #expect(Instruction(optionName: "CALCULATE-ALL") == .calculateAll)
        #expect(Instruction(optionName: "send-remaining") == .sendRemaining)
        #expect(Instruction(optionName: "calculate_all") == nil)
        #expect(Instruction(optionName: "unknown-c0") == nil)
    }
}

// MARK: - What latchkey's session layer makes of it, in-process

/// The applet behind a misbehaviour, as a card an `OATHSession` talks to
/// directly; a silent answer would block a real reader, so it is left out.
final class MisbehavingCard: SmartCardConnection {
    let fixture = AppletFixture()
    let misbehaviour: Misbehaviour

    init(_ mode: Misbehaviour.Mode, on targets: [Instruction]) {
        misbehaviour = Misbehaviour(mode: mode, targets: targets)
        fixture.select()
        fixture.put("alice", secret: Array("12345678901234567890".utf8))
    }

    struct Silent: Error {}

    func transmit(_ command: [UInt8]) throws -> [UInt8] {
        guard let answer = misbehaviour.respond(to: command, normal: { fixture.applet.process(command) }) else { throw Silent() }
        return answer
    }
}

@Suite("The OATH session against a misbehaving key, in-process")
struct MisbehavingKeySessionTests {
    /// What the session throws for `mode` on `instruction`, in words.
    static func expected(_ mode: Misbehaviour.Mode, _ instruction: Instruction) -> String {
        switch mode {
        case .truncatedTLV, .lengthPastEnd: "a TLV item runs past the end of the data"
        case .unknownTags:
            switch instruction {
            case .select: "the version or salt is missing"
            case .calculate: "no truncated response"
            case .list: "an item that is not a name-list entry (tag 62)"
            default: "expected a name"
            }
        case .sw6581: instruction == .select ? "the key refused SELECT with status 6581" : "memory error (6581)"
        case .endless61xx: "61xx (more data) without end"
        case .garbage: "without a status word"
        case .silence: "never asked"
        }
    }

    @Test(
        "Every mode on SELECT, CALCULATE, LIST and CALCULATE ALL ends in one error of one line naming the fault; the untargeted commands still work",
        arguments: Misbehaviour.Mode.allCases.filter { $0 != .silence })
    func everyMode(_ mode: Misbehaviour.Mode) throws {
        let instructions: [Instruction] = [.select, .calculate, .list, .calculateAll]
        for instruction in instructions {
            let card = MisbehavingCard(mode, on: [instruction])
            var thrown: (any Error)?
            do {
                let session = try OATHSession(connection: card)
                for other in instructions.dropFirst() where other != instruction {
                    try Self.send(other, on: session)
                }
                try Self.send(instruction, on: session)
            } catch {
                thrown = error
            }
            let text = thrown.map { "\($0)" } ?? "no error"
            #expect(text.contains(Self.expected(mode, instruction)), "\(mode) on \(instruction): \(text)")
            #expect(!text.contains("\n"), "\(mode) on \(instruction): \(text)")
        }
    }

    static func send(_ instruction: Instruction, on session: OATHSession) throws {
        switch instruction {
        case .calculate: _ = try session.calculate(idBytes: Array("alice".utf8), challenge: [0, 0, 0, 0, 0, 0, 0, 1])
        case .list: _ = try session.list()
        case .calculateAll: _ = try session.calculateAll(challenge: [0, 0, 0, 0, 0, 0, 0, 1])
        default: break
        }
    }
}

// MARK: - latchkey through pcscd

/// The real `latchkey` against the misbehaving key through pcscd and vpcd:
/// every mode must end in exit 13 with one `latchkey: ` line on stderr and
/// nothing on stdout, within a bound — no hang, no crash.
///
/// Every key session is short (one or two commands): runs on vpcd's port
/// take turns, and another worktree's test waits at most 60 s for its turn.
@Suite(
    "latchkey against a misbehaving virtual key on pcscd", .serialized,
    .enabled(if: Tools.pcscdInstalled, "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd pcsc-tools)"))
struct MisbehavingKeyTests {
    /// The modes that answer at once answer in about 0.1 s; this leaves room for a loaded machine.
    static let quickBound = 10.0
    /// pcsc-lite waits for a silent card without end; latchkey stops waiting
    /// after `PCSCContext.defaultCallLimitSeconds` (25 s).
    static let callLimit = 25.0

    static let code = ["code", "alice", "--yubikey"]
    static let partialCode = ["code", "ali", "--yubikey"]
    static let list = ["accounts", "list", "--yubikey"]

    /// A key holding alice and bob, misbehaving as told while `body` runs.
    func withMisbehavingKey(_ mode: Misbehaviour.Mode, on targets: String, _ body: (VirtualKeySession) async throws -> Void) async throws {
        let session = try VirtualKeySession(directory: try VirtualKeySession.temporaryDirectory())
        let binary = try #require(Tools.virtualKey)
        for name in ["alice", "bob"] {
            let added = try await runProgram(binary, ["add", "--state", session.state, name, "--secret-base32", LatchkeyOnKeyTests.randomBase32()], timeout: 10)
            try #require(added.status == 0, "\(added)")
        }
        try await session.withKey(["--misbehave", mode.rawValue, "--misbehave-on", targets]) { try await body(session) }
    }

    func latchkey(_ session: VirtualKeySession, _ arguments: [String]) async throws -> ProcessResult {
        try await LatchkeyOnKeyTests.latchkey(home: session.home, arguments, timeout: 45)
    }

    /// Exit 13, stdout empty, one `latchkey: ` line ending stderr that
    /// contains `message`, within `bound` seconds. A silent CALCULATE looks
    /// from outside like a key waiting for a touch, so there the touch
    /// prompt may come first.
    func expectCleanFailure(
        _ result: ProcessResult, _ message: String, within bound: Double = quickBound, touchPrompt: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 13, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "stdout must be empty on error: \(result)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let errors = lines.filter { $0.hasPrefix("latchkey: ") }
        let prompt = touchPrompt && lines.count == 2 && lines[0] == "Touch your YubiKey…"
        #expect(errors.count == 1 && lines.last == errors.first && (lines.count == 1 || prompt), "one error line: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasSuffix("\n"), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result)", sourceLocation: sourceLocation)
        #expect(result.seconds < bound, "finished within \(bound) s: \(result)", sourceLocation: sourceLocation)
    }

    /// The message for a mode's failure at an instruction, as latchkey words it.
    static func message(_ mode: Misbehaviour.Mode, at instruction: String) -> String {
        switch mode {
        case .truncatedTLV, .lengthPastEnd: "the key sent a malformed response (\(instruction): a TLV item runs past the end of the data)"
        case .unknownTags:
            switch instruction {
            case "SELECT": "the key sent a malformed response (SELECT: the version or salt is missing)"
            case "CALCULATE": "the key sent a malformed response (CALCULATE: no truncated response)"
            case "LIST": "the key sent a malformed response (LIST: an item that is not a name-list entry (tag 62))"
            default: "the key sent a malformed response (CALCULATE ALL: expected a name)"
            }
        case .sw6581: instruction == "SELECT" ? "the key refused SELECT with status 6581" : "the key reported a memory error (6581)"
        case .endless61xx: "the card kept answering 61xx (more data) without end"
        case .garbage: "the card sent a response without a status word"
        case .silence: "the key stopped answering (no answer to a command)"
        }
    }

    static let quickModes = Misbehaviour.Mode.allCases.filter { $0 != .silence }

    @Test("A misbehaving SELECT: code and accounts list exit 13 with the fault, not \"no key found\"", arguments: quickModes)
    func select(_ mode: Misbehaviour.Mode) async throws {
        try await withMisbehavingKey(mode, on: "select") { session in
            expectCleanFailure(try await latchkey(session, Self.code), Self.message(mode, at: "SELECT"))
            expectCleanFailure(try await latchkey(session, Self.list), Self.message(mode, at: "SELECT"))
            #expect(session.instructions().filter { $0 != "SEND_REMAINING" } == ["SELECT", "SELECT"], "\(session.instructions())")
        }
    }

    @Test("A misbehaving CALCULATE (code) and CALCULATE ALL (accounts list): exit 13 with the fault", arguments: quickModes)
    func calculate(_ mode: Misbehaviour.Mode) async throws {
        try await withMisbehavingKey(mode, on: "calculate,calculate-all") { session in
            expectCleanFailure(try await latchkey(session, Self.code), Self.message(mode, at: "CALCULATE"))
            expectCleanFailure(try await latchkey(session, Self.list), Self.message(mode, at: "CALCULATE ALL"))
        }
    }

    @Test("A misbehaving LIST (accounts list, and code with part of a name): exit 13 with the fault, never an empty list", arguments: quickModes)
    func list(_ mode: Misbehaviour.Mode) async throws {
        try await withMisbehavingKey(mode, on: "list") { session in
            expectCleanFailure(try await latchkey(session, Self.list), Self.message(mode, at: "LIST"))
            expectCleanFailure(try await latchkey(session, Self.partialCode), Self.message(mode, at: "LIST"))
        }
    }

    @Test("A silent SELECT: latchkey gives up when its 25 s call limit ends, instead of waiting on pcscd forever")
    func silentSelect() async throws {
        try await withMisbehavingKey(.silence, on: "select") { session in
            let result = try await latchkey(session, Self.code)
            expectCleanFailure(result, "[latchkey stopped waiting for SCardTransmit after 25 s]", within: Self.callLimit + 5)
            #expect(result.seconds >= Self.callLimit - 0.5, "it waited the whole limit: \(result)")
        }
    }

    @Test("A silent CALCULATE: the touch prompt, then the same one-line error after 25 s")
    func silentCalculate() async throws {
        try await withMisbehavingKey(.silence, on: "calculate") { session in
            let result = try await latchkey(session, Self.code)
            expectCleanFailure(result, Self.message(.silence, at: "CALCULATE"), within: Self.callLimit + 5, touchPrompt: true)
            #expect(session.instructions() == ["SELECT", "CALCULATE"])
        }
    }

    @Test("A silent CALCULATE ALL: accounts list gives up after 25 s with one line")
    func silentCalculateAll() async throws {
        try await withMisbehavingKey(.silence, on: "calculate-all") { session in
            let result = try await latchkey(session, Self.list)
            expectCleanFailure(result, Self.message(.silence, at: "CALCULATE ALL"), within: Self.callLimit + 5)
            #expect(session.instructions() == ["SELECT", "LIST", "CALCULATE_ALL"])
        }
    }

    @Test("After a silent key, pcscd holds the reader's SCardConnect too: the next latchkey gives up there after 25 s")
    func wedgedReader() async throws {
        try await withMisbehavingKey(.silence, on: "select") { session in
            // Started directly (not under setsid), so killing the process kills latchkey itself.
            let binary = try #require(LatchkeyOnKeyTests.latchkey)
            let first = try RunningProgram(binary, Self.code, environment: [
                "HOME": session.home, "LATCHKEY_READER": VirtualKeySession.reader,
            ], timeout: 40)
            try await Task.sleep(for: .seconds(2))
            killProcess(first.process)
            #expect(await first.wait().seconds < 5, "the first latchkey was killed while it waited")
            let second = try await latchkey(session, Self.code)
            expectCleanFailure(second, "[latchkey stopped waiting for SCardConnect after 25 s]", within: Self.callLimit + 5)
            #expect(session.instructions() == ["SELECT"], "the second latchkey never got to send: \(session.instructions())")
        }
    }
}
