import AWSSigning
import Foundation
import LatchkeyCore
import STS
import SmartCard
import SystemSupport
import TestSupport
import VirtualKey
import YKOATH
import YubiKey

#if canImport(Glibc)
import Glibc
#endif

/// A ``World`` for in-process tests: a HOME of the test's own, the virtual
/// key's applet behind an in-memory connection, a scripted STS, a clock that
/// moves only when told (or when latchkey waits), a person who answers from
/// a script, and the standard streams captured.
///
///     let world = try TestWorld()
///     world.key.put(...)
///     world.sts.answer("GetSessionToken", ...)
///     try CredentialService(world: world.world).obtain(request)
public final class TestWorld: @unchecked Sendable {
    // @unchecked: a test owns its world and uses it from one task (the touch
    // prompt's timer only appends to `errors` under `lock`).
    private let directory: TemporaryDirectory
    public let home: String
    public let key: MemoryKey
    public let sts = ScriptedHTTP()
    public let clock: ManualClock
    public let person = ScriptedPerson()
    private let lock = SmallLock()
    private var outText = ""
    private var errText = ""
    public var environment: [String: String]
    public var standardInput: [UInt8] = []
    public var inputIsTerminal = false

    /// `unixTime`: where the clock starts (a fixed instant, so codes are known).
    public init(unixTime: UInt64 = 1_800_000_015, touch: any TouchSensor = AlwaysTouched()) throws {
        directory = try TemporaryDirectory("world")
        home = directory.path
        key = MemoryKey(touch: touch)
        clock = ManualClock(unixTime)
        environment = ["HOME": home, "PATH": "/usr/bin:/bin"]
    }

    /// The world a command or the core runs in.
    public var world: World {
        World(
            environment: Environment(environment), clock: clock, prompter: person, http: sts,
            keys: MemoryKeyConnector(key: key),
            output: OutputStreams(
                write: { [self] text in lock.locked { outText += text } },
                writeError: { [self] text in lock.locked { errText += text } },
                readInput: { [self] in standardInput }, inputIsTerminal: inputIsTerminal))
    }

    public var standardOutput: String { lock.locked { outText } }
    public var standardError: String { lock.locked { errText } }

    /// Writes `text` to `relativePath` below HOME, making directories.
    public func write(_ relativePath: String, _ text: String) throws {
        let path = home + "/" + relativePath
        let parent = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try PrivateFiles.writeAtomically(path, Array(text.utf8))
    }
}

/// A small mutex that can return a value.
final class SmallLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

// MARK: - The key

/// The virtual key's OATH applet with no pcscd and no vpcd: APDUs go straight
/// to `OATHApplet.process`. Counts the instructions it was sent.
///
/// Each APDU is processed as pcscd's transmits are, on ``BoundedCall``'s
/// worker while the caller waits: so a touch wait here shows the touch
/// prompt, which ticks from inside that wait.
public final class MemoryKey: KeyConnection, @unchecked Sendable {
    // @unchecked: used from the test's task only.
    public let applet: OATHApplet
    /// Each command's INS byte, in order.
    public private(set) var instructions: [UInt8] = []
    public private(set) var connections = 0

    init(touch: any TouchSensor) {
        applet = OATHApplet(
            state: KeyState(salt: [0x5A, 0x17, 0x9C, 0x01, 0x44, 0xE0, 0x3B, 0x72]), random: SystemRandomSource(), touch: touch,
            store: DiscardingStore())
    }

    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        if command.count > 1 { instructions.append(command[1]) }
        // The caller waits for the answer: the applet is never used by two threads at once.
        nonisolated(unsafe) let applet = applet
        guard let answer = BoundedCall.run(within: 60, { applet.process(command) }) else {
            throw SmartCardError.malformedResponse
        }
        return answer
    }

    public func withExclusiveAccess<T>(_ body: () throws -> T) throws -> T { try body() }
    public func relockWhenDone() {}
    public var stopsOnInterrupt: Bool { false }

    /// How many CALCULATEs (`A2`) the key was sent.
    public var calculateCount: Int { instructions.filter { $0 == 0xA2 }.count }

    /// A new card session, as a reader gives one to each program.
    func connect() {
        connections += 1
        applet.resetCard()
    }

    /// Opens a session of the test's own (to put accounts, set a password).
    public func session() throws -> OATHSession {
        connect()
        return try OATHSession(connection: self)
    }
}

struct MemoryKeyConnector: KeyConnector {
    let key: MemoryKey

    func connect(_ request: KeyRequest, isCancelled: @escaping @Sendable () -> Bool) throws -> FoundKey {
        key.connect()
        return FoundKey(reader: "Memory Key 00 00", connection: key, session: try OATHSession(connection: key))
    }
}

struct DiscardingStore: StateStore {
    func save(_ state: KeyState) throws {}
}

/// Touched at once.
public struct AlwaysTouched: TouchSensor {
    public init() {}
    public func awaitTouch() -> Bool { true }
}

/// Nobody touches the key: after `seconds` (real time) it gives up and the
/// CALCULATE answers 6982, as a YubiKey does after about 15 s.
public struct NeverTouched: TouchSensor {
    public var seconds: Double
    public init(givingUpAfter seconds: Double) { self.seconds = seconds }
    public func awaitTouch() -> Bool {
        usleep(UInt32(seconds * 1_000_000))
        return false
    }
}

// MARK: - Time and the person

/// Unix time that moves only when a test moves it, or when latchkey sleeps.
public final class ManualClock: RequestClock, @unchecked Sendable {
    // @unchecked: used from the test's task only.
    public var unixTime: UInt64
    public init(_ unixTime: UInt64) { self.unixTime = unixTime }
    public func now() -> Date { Date(timeIntervalSince1970: Double(unixTime)) }
    public func sleep(for duration: Duration) { unixTime += UInt64(max(0, duration.components.seconds)) }
}

/// A person at a terminal who answers from a script (or nobody, with
/// `present = false`). Every question is recorded.
public final class ScriptedPerson: Prompter, @unchecked Sendable {
    // @unchecked: asked from the test's task; `shown` is appended under `lock`
    // (the touch prompt's timer runs on its own queue).
    public var present = false
    public var answers: [String] = []
    public private(set) var questions: [String] = []
    private let lock = SmallLock()
    private var shownText: [String] = []

    public var canAsk: Bool { present }

    public func ask(_ prompt: String, secret: Bool) throws -> SecretBytes? {
        guard present else { return nil }
        questions.append(prompt)
        guard !answers.isEmpty else { return nil }
        return SecretBytes(Array(answers.removeFirst().utf8))
    }

    public func show(_ text: String) { lock.locked { shownText.append(text) } }
    public var shown: [String] { lock.locked { shownText } }
}

// MARK: - STS

/// STS and IAM as a script of answers by `Action`; every request is kept
/// with its form body decoded. A request with no answer scripted throws.
public final class ScriptedHTTP: HTTPTransport, @unchecked Sendable {
    // @unchecked: used from the test's task only.
    public struct Unscripted: Error {}
    public private(set) var calls: [[String: String]] = []
    private var answers: [(action: String, response: TransportResponse)] = []

    public func answer(_ action: String, _ response: TransportResponse) { answers.append((action, response)) }

    public func post(url: String, headers: [HTTPField], body: [UInt8]) throws -> TransportResponse {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            fields[Self.decoded(halves[0])] = halves.count > 1 ? Self.decoded(halves[1]) : ""
        }
        fields["X-Amz-Date"] = headers.value(of: "X-Amz-Date")
        calls.append(fields)
        guard let index = answers.firstIndex(where: { $0.action == fields["Action"] }) else { throw Unscripted() }
        return answers.remove(at: index).response
    }

    private static func decoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? 0x20 : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// GetSessionToken's answer in AWS's XML.
    public static func sessionToken(keyID: String, expiration: UInt64) -> TransportResponse {
        let expires = UTCDateTime(secondsSince1970: Int64(expiration)).iso8601
        let xml =
            "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetSessionTokenResult>"
            + "<Credentials><AccessKeyId>\(keyID)</AccessKeyId><SecretAccessKey>secret-of-\(keyID)</SecretAccessKey>"
            + "<SessionToken>token-of-\(keyID)</SessionToken><Expiration>\(expires)</Expiration></Credentials>"
            + "</GetSessionTokenResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetSessionTokenResponse>"
        return TransportResponse(status: 200, headers: [HTTPField("Content-Type", "text/xml")], body: Array(xml.utf8))
    }
}
