import Foundation
import Synchronization
import SystemSupport
import TestSupport
import Testing

@testable import SessionCache

@Suite("SpentCodes: each TOTP step and typed code goes to AWS once")
struct SpentCodesTests {
    /// 15 s into a 30-second step.
    static let now: UInt64 = 1_800_000_015
    static let step = now / 30
    static let bob = "arn:aws:iam::123456789012:mfa/bob"

    func ledger(_ temporary: TemporaryDirectory) -> SpentCodes {
        SpentCodes(cache: SessionCache(directory: temporary.file("cache")))
    }

    func ledgerLines(_ codes: SpentCodes) throws -> [String] {
        String(decoding: try readBytes(codes.path), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("The first reservation is the current step, with no wait")
    func firstReservation() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        #expect(codes.path == temporary.file("cache/mfa-steps"))
        let reservation = try codes.reserveStep(serial: aliceSerial, now: Self.now)
        #expect(reservation == SpentCodes.Reservation(step: Self.step, waitSeconds: 0, period: 30))
        #expect(reservation.codeTime == Self.step * 30)
        #expect(PrivateFiles.permissions(of: codes.path) == 0o600)
        #expect(PrivateFiles.permissions(of: temporary.file("cache")) == 0o700)
    }

    @Test("Later reservations in the same step get the next steps, with the wait until each begins")
    func nextSteps() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        _ = try codes.reserveStep(serial: aliceSerial, now: Self.now)
        #expect(
            try codes.reserveStep(serial: aliceSerial, now: Self.now)
                == .init(step: Self.step + 1, waitSeconds: 15, period: 30))
        // Both this step and the next are taken: nothing further ahead is
        // handed out; the caller waits for the next step and asks again.
        #expect(
            try codes.reserveStep(serial: aliceSerial, now: Self.now + 5)
                == .init(step: Self.step + 2, waitSeconds: 10, period: 30, isReserved: false))
        #expect(
            try codes.reserveStep(serial: aliceSerial, now: (Self.step + 1) * 30)
                == .init(step: Self.step + 2, waitSeconds: 30, period: 30))
        // Once time passes the spent steps, the current step is free again.
        #expect(
            try codes.reserveStep(serial: aliceSerial, now: (Self.step + 3) * 30 + 1)
                == .init(step: Self.step + 3, waitSeconds: 0, period: 30))
        // A value made by another process reads the same file.
        #expect(
            try ledger(temporary).reserveStep(serial: aliceSerial, now: (Self.step + 3) * 30 + 2).step == Self.step + 4)
    }

    @Test("A spent step far in the future (a planted or damaged line) is ignored and dropped: no wait beyond the next step")
    func poisonedLedger() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        try PrivateFiles.ensurePrivateDirectory(temporary.file("cache"))
        let id = SpentCodes.hash(aliceSerial)
        try writeBytes(codes.path, Array("step \(id) 99999999999 \(Self.now)\nstep \(id) \(Self.step + 2) \(Self.now)\n".utf8))
        #expect(
            try codes.reserveStep(serial: aliceSerial, now: Self.now)
                == .init(step: Self.step, waitSeconds: 0, period: 30))
        #expect(try ledgerLines(codes) == ["step \(id) \(Self.step) \(Self.now)"])
        // Bob's entries are not judged by Alice's reservation.
        let bob = SpentCodes.hash(Self.bob)
        try writeBytes(codes.path, Array("step \(bob) 99999999999 \(Self.now)\n".utf8))
        _ = try codes.reserveStep(serial: aliceSerial, now: Self.now)
        #expect(try ledgerLines(codes).first == "step \(bob) 99999999999 \(Self.now)")
    }

    @Test("Serials are independent, and the ledger holds only their hashes")
    func serialsIndependent() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        _ = try codes.reserveStep(serial: aliceSerial, now: Self.now)
        #expect(
            try codes.reserveStep(serial: Self.bob, now: Self.now) == .init(step: Self.step, waitSeconds: 0, period: 30)
        )
        #expect(try codes.reserveStep(serial: Self.bob, now: Self.now).step == Self.step + 1)
        #expect(try codes.reserveStep(serial: aliceSerial, now: Self.now).step == Self.step + 1)
        let text = String(decoding: try readBytes(codes.path), as: UTF8.self)
        #expect(!text.contains("arn:aws"))
        #expect(!text.contains("alice"))
        #expect(try ledgerLines(codes).count == 4)
    }

    @Test("A 60-second period counts its own steps")
    func otherPeriod() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        let first = try codes.reserveStep(serial: aliceSerial, now: 1_800_000_010, period: 60)
        #expect(first == .init(step: 30_000_000, waitSeconds: 0, period: 60))
        let second = try codes.reserveStep(serial: aliceSerial, now: 1_800_000_010, period: 60)
        #expect(second == .init(step: 30_000_001, waitSeconds: 50, period: 60))
        #expect(second.codeTime == 1_800_000_060)
    }

    @Test("Entries older than 10 minutes are pruned; those of exactly 10 minutes stay")
    func pruning() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        _ = try codes.reserveStep(serial: aliceSerial, now: Self.now)
        #expect(try codes.spendTyped(serial: aliceSerial, code: "123456", now: Self.now))
        _ = try codes.reserveStep(serial: Self.bob, now: Self.now + 600)
        #expect(try ledgerLines(codes).count == 3)
        _ = try codes.reserveStep(serial: Self.bob, now: Self.now + 601)
        let lines = try ledgerLines(codes)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasSuffix(" \(Self.now + 600)") || $0.hasSuffix(" \(Self.now + 601)") })
    }

    @Test("A spent typed code stops counting after 10 minutes, the first time it is typed again")
    func typedCodeExpires() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        #expect(try codes.spendTyped(serial: aliceSerial, code: "123456", now: Self.now))
        let accepted = try codes.spendTyped(serial: aliceSerial, code: "123456", now: Self.now + 601)
        #expect(accepted)
    }

    @Test("Steps recorded under a clock that was far ahead do not delay reservations once it is set back")
    func clockSetBack() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        // The clock ran two hours fast, a code was made, then NTP fixed it.
        _ = try codes.reserveStep(serial: aliceSerial, now: Self.now + 7_200)
        let reservation = try codes.reserveStep(serial: aliceSerial, now: Self.now)
        #expect(reservation.waitSeconds < 60)
    }

    @Test("A damaged ledger costs nothing: bad lines are dropped, good ones still count")
    func damagedLedger() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        try PrivateFiles.ensurePrivateDirectory(temporary.file("cache"))
        try writeBytes(codes.path, [0xFF, 0x00, 0x0A] + Array("step\nstep a b notanumber\nfoo a b 1\nstep  x\n".utf8))
        #expect(
            try codes.reserveStep(serial: aliceSerial, now: Self.now)
                == .init(step: Self.step, waitSeconds: 0, period: 30))
        #expect(try ledgerLines(codes).count == 1)
        var bytes = try readBytes(codes.path)
        bytes += Array("typed a b c d e\n\u{1}\u{2}\u{3}".utf8)
        try writeBytes(codes.path, bytes)
        #expect(try codes.reserveStep(serial: aliceSerial, now: Self.now).step == Self.step + 1)
        #expect(try ledgerLines(codes).count == 2)
    }

    @Test("A typed code is refused the second time, a different code or device is not")
    func typedCodes() throws {
        let temporary = try TemporaryDirectory("spent")
        let codes = ledger(temporary)
        #expect(try codes.spendTyped(serial: aliceSerial, code: "123456", now: Self.now))
        #expect(try !codes.spendTyped(serial: aliceSerial, code: "123456", now: Self.now + 45))
        #expect(try codes.spendTyped(serial: aliceSerial, code: "654321", now: Self.now + 45))
        #expect(try codes.spendTyped(serial: Self.bob, code: "123456", now: Self.now + 45))
        #expect(try !ledger(temporary).spendTyped(serial: Self.bob, code: "123456", now: Self.now + 50))
        let text = String(decoding: try readBytes(codes.path), as: UTF8.self)
        #expect(!text.contains("123456"))
        // Typed codes and reserved steps do not mix.
        #expect(try codes.reserveStep(serial: aliceSerial, now: Self.now).waitSeconds == 0)
    }

    /// The steps handed out, gathered from several threads.
    final class Handouts: Sendable {
        private let state = Mutex((steps: [UInt64](), failures: 0))

        func add(_ step: UInt64) { state.withLock { $0.steps.append(step) } }
        func fail() { state.withLock { $0.failures += 1 } }
        var steps: [UInt64] { state.withLock { $0.steps } }
        var failures: Int { state.withLock { $0.failures } }
    }

    @Test("Concurrent reservations from 8 threads, each with its own SpentCodes, never share a step")
    func concurrentReservations() throws {
        let temporary = try TemporaryDirectory("spent")
        let path = ledger(temporary).path
        let handouts = Handouts()
        // 48 callers within one step: the current and the next step go out
        // once each; everyone else is told to wait for the next step.
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let codes = SpentCodes(path: path)
            for _ in 0..<6 {
                do {
                    let reservation = try codes.reserveStep(serial: aliceSerial, now: Self.now)
                    if reservation.isReserved { handouts.add(reservation.step) } else { #expect(reservation.waitSeconds == 15) }
                } catch {
                    handouts.fail()
                }
            }
        }
        #expect(handouts.failures == 0)
        #expect(handouts.steps.sorted() == [Self.step, Self.step + 1])
    }
}
