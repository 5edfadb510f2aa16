import AWSSigning
import SystemSupport

/// The TOTP time steps latchkey has already sent to AWS, per MFA device,
/// shared by every latchkey process of this user (`mfa-steps` in the cache
/// directory, under its own lock).
///
/// AWS accepts each code once: a second GetSessionToken with the same code
/// fails with "invalid MFA one time pass code". So before a code is made the
/// caller reserves a step: the current one when it is unspent, else the next
/// one, which the caller waits for (``Reservation/waitSeconds``, never more
/// than one period). Nothing further ahead is handed out, so a step in the
/// ledger beyond the next one cannot be latchkey's: it is ignored and
/// dropped (a planted or damaged line must not stall every later call).
/// Codes typed by a person have no known step; their hashes are kept for a
/// few minutes so the same code is not sent twice.
///
/// Lines: `step SERIAL-HASH STEP TIME` or `typed SERIAL-HASH CODE-HASH TIME`,
/// hashes being truncated SHA-256 (the serial is not secret; a spent code is
/// worthless, but neither needs to sit in a file in clear).
public struct SpentCodes: Sendable {
    public var path: String

    public init(path: String) { self.path = path }

    public init(cache: SessionCache) { self.init(path: cache.directory + "/mfa-steps") }

    /// How long an entry is kept: long enough to outlive AWS's acceptance
    /// window around a step (a few steps either side).
    static let retentionSeconds: UInt64 = 600

    public struct Reservation: Sendable, Equatable {
        /// The time step to make the code for.
        public var step: UInt64
        /// Seconds to wait before that step begins (0 when it is current).
        public var waitSeconds: UInt64
        /// The Unix time at which to compute the code.
        public var codeTime: UInt64 { step * period }
        public var period: UInt64
        /// False when the current step and the next are both spent: then
        /// nothing is reserved, and the caller waits ``waitSeconds`` (until
        /// the next step begins) and asks again.
        public var isReserved = true
    }

    /// Reserves the step to use for `serial` at `now`: the current step when
    /// no process spent it, else the next one when that is unspent, else
    /// nothing (``Reservation/isReserved``). Steps in the ledger beyond the
    /// next one are dropped unread.
    public func reserveStep(serial: String, now: UInt64, period: UInt64 = 30) throws(SystemError) -> Reservation {
        try withLedger(now: now) { entries in
            let id = Self.hash(serial)
            let current = now / period
            let next = current + 1
            func spentStep(_ entry: Entry) -> UInt64? { entry.kind == "step" && entry.serial == id ? UInt64(entry.value) : nil }
            entries.removeAll { spentStep($0).map { $0 > next } ?? false }
            let lastSpent = entries.compactMap(spentStep).max()
            let step = lastSpent.map { max(current, $0 + 1) } ?? current
            guard step <= next else {
                return Reservation(step: step, waitSeconds: next * period - now, period: period, isReserved: false)
            }
            entries.append(Entry(kind: "step", serial: id, value: String(step), time: now))
            let start = step * period
            return Reservation(step: step, waitSeconds: start > now ? start - now : 0, period: period)
        }
    }

    /// Records a typed `code` for `serial`; false when that very code was
    /// already sent in the last few minutes (then it must not be sent again).
    public func spendTyped(serial: String, code: String, now: UInt64) throws(SystemError) -> Bool {
        try withLedger(now: now) { entries in
            let id = Self.hash(serial)
            let codeID = Self.hash(serial + "\n" + code)
            if entries.contains(where: { $0.kind == "typed" && $0.serial == id && $0.value == codeID }) { return false }
            entries.append(Entry(kind: "typed", serial: id, value: codeID, time: now))
            return true
        }
    }

    struct Entry: Equatable {
        var kind: String
        var serial: String
        var value: String
        var time: UInt64
    }

    /// Reads the ledger under its lock, lets `body` change it, drops stale
    /// entries, and writes it back atomically.
    private func withLedger<T>(now: UInt64, _ body: (inout [Entry]) throws(SystemError) -> T) throws(SystemError) -> T {
        let directory = PrivateFiles.parentDirectory(of: path)
        try PrivateFiles.ensurePrivateDirectory(directory)
        let lock = try FileLock(exclusive: path + ".lock", timeoutSeconds: 30, purpose: "latchkey recording a spent MFA code")
        defer { withExtendedLifetime(lock) {} }
        var entries = Self.parse((try? PrivateFiles.read(path, limit: 1 << 20)) ?? nil)
        // Stale entries go before `body` sees them, and so do entries from
        // the future (the clock was set back): either would hold a step or
        // a code for far longer than AWS remembers it.
        let isStale = { (entry: Entry) in entry.time + Self.retentionSeconds < now || entry.time > now + Self.retentionSeconds }
        entries.removeAll(where: isStale)
        let result = try body(&entries)
        let text = entries.map { "\($0.kind) \($0.serial) \($0.value) \($0.time)\n" }.joined()
        try PrivateFiles.writeAtomically(path, Array(text.utf8))
        return result
    }

    /// Lines that do not parse are dropped: a damaged ledger only costs a
    /// wait, never a failure.
    static func parse(_ bytes: [UInt8]?) -> [Entry] {
        guard let bytes else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count == 4, fields[0] == "step" || fields[0] == "typed", let time = UInt64(fields[3]) else {
                return nil
            }
            return Entry(kind: fields[0], serial: fields[1], value: fields[2], time: time)
        }
    }

    static func hash(_ text: String) -> String {
        lowercaseHex(SHA256Digest.hash(Array(text.utf8)).prefix(12))
    }
}
