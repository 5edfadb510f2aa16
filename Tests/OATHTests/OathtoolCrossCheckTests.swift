import Foundation
import TestSupport
import Testing

@testable import OATH

/// Random secrets checked against Debian's `oathtool` (OATH Toolkit).
///
/// One shell script runs every `oathtool` invocation, so the ~2,600 runs cost
/// a few seconds; `-w 2` makes each run print three consecutive steps.
@Suite("Cross-check against oathtool")
struct OathtoolCrossCheckTests {
    static let oathtool = "/usr/bin/oathtool"
    static let seed: UInt64 = 0x1A7C_4E11_2026_0001
    static let secretCount = 200
    /// Lengths that matter: 1 byte, around the 14-byte device minimum, the
    /// usual 20/32/64, and either side of both block sizes (64 and 128).
    static let interestingLengths = [1, 2, 10, 13, 14, 15, 20, 32, 63, 64, 65, 70, 127, 128, 129, 130, 200, 255, 256, 300]
    static let fixedTimes: [UInt64] = [
        0, 1, 29, 30, 59, 60, 61, 1_111_111_109, 1_111_111_111, 1_234_567_890, 2_000_000_000, 4_294_967_296,
        20_000_000_000,
    ]

    struct Case {
        var secret: [UInt8]
        var algorithm: OATHAlgorithm
        var digits: Int
        var period: Int
        var time: UInt64
    }

    static func makeCases() -> [Case] {
        var random = SplitMix64(seed: seed)
        var cases: [Case] = []
        for index in 0..<secretCount {
            let length = index < interestingLengths.count * 3
                ? interestingLengths[index % interestingLengths.count]
                : Int.random(in: 1...300, using: &random)
            let secret = random.bytes(length)
            for algorithm in OATHAlgorithm.allCases {
                for digits in [6, 8] {
                    for period in [30, 60] {
                        let time = Bool.random(using: &random)
                            ? fixedTimes.randomElement(using: &random)!
                            : UInt64.random(in: 0...40_000_000_000, using: &random)
                        cases.append(Case(secret: secret, algorithm: algorithm, digits: digits, period: period, time: time))
                    }
                }
            }
        }
        return cases
    }

    /// Runs `lines` (shell commands) split over two shells at once; returns
    /// each command's output lines, in order.
    static func runBatched(_ lines: [String]) throws -> [[String]] {
        let half = (lines.count + 1) / 2
        let chunks = [Array(lines[..<half]), Array(lines[half...])]
        let scratch = try TemporaryDirectory("oathtool")
        defer { withExtendedLifetime(scratch) {} }  // the scripts must outlast the shells

        var programs: [RunningProgram] = []
        for (n, chunk) in chunks.enumerated() {
            let script = scratch.file("batch\(n).sh")
            var text = ""
            for (i, line) in chunk.enumerated() { text += "echo '#\(i)'\n\(line) || echo FAILED\n" }
            try writeBytes(script, Array(text.utf8))
            programs.append(try RunningProgram("/bin/sh", [script], mergingStandardError: true, timeout: 90))
        }
        var results: [[String]] = []
        for program in programs {
            let result = program.wait()
            #expect(result.status == 0, "the oathtool batch exited with \(result.status)")
            var current: [String] = []
            var started = false
            for line in result.stdout.split(separator: "\n") {
                if line.hasPrefix("#") {
                    if started { results.append(current) }
                    current = []
                    started = true
                } else {
                    current.append(String(line))
                }
            }
            if started { results.append(current) }
        }
        return results
    }

    @Test(
        "TOTP matches oathtool for 200 random secrets (1 to 300 bytes) × SHA1/256/512 × 6/8 digits × 30/60 s, three steps each",
        .enabled(if: FileManager.default.isExecutableFile(atPath: oathtool)))
    func totpMatchesOathtool() throws {
        let cases = Self.makeCases()
        #expect(cases.count == Self.secretCount * 12)
        #expect(Set(cases.map(\.secret.count)).isSuperset(of: [1, 64, 65, 70, 128, 129, 130]))
        let commands = cases.map { c in
            "\(Self.oathtool) --totp=\(c.algorithm.rawValue) -d \(c.digits) -s \(c.period) -N @\(c.time) -w 2 \(hex(c.secret))"
        }
        let outputs = try Self.runBatched(commands)
        try #require(outputs.count == cases.count)
        var mismatches = 0
        for (c, output) in zip(cases, outputs) {
            let ours = (0..<3).map { step in
                OTP.totp(
                    secret: c.secret, at: c.time + UInt64(step * c.period), period: c.period,
                    algorithm: c.algorithm, digits: c.digits)
            }
            if ours != output {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record(
                        "\(c.algorithm.rawValue) \(c.digits) digits, \(c.period) s, t=\(c.time), \(c.secret.count)-byte secret \(hex(c.secret)): latchkey \(ours), oathtool \(output)"
                    )
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) cases differ from oathtool (seed \(Self.seed))")
    }

    @Test(
        "HOTP matches oathtool for 200 random secrets at random counters, three counters each",
        .enabled(if: FileManager.default.isExecutableFile(atPath: oathtool)))
    func hotpMatchesOathtool() throws {
        var random = SplitMix64(seed: Self.seed ^ 0xFFFF)
        let cases: [([UInt8], UInt64)] = (0..<Self.secretCount).map { index in
            let length = Self.interestingLengths[index % Self.interestingLengths.count]
            let counter = index < 10 ? UInt64(index) : UInt64.random(in: 0...UInt64(Int64.max) - 3, using: &random)
            return (random.bytes(length), counter)
        }
        let outputs = try Self.runBatched(cases.map { secret, counter in
            "\(Self.oathtool) --hotp -d 6 -c \(counter) -w 2 \(hex(secret))"
        })
        try #require(outputs.count == cases.count)
        for ((secret, counter), output) in zip(cases, outputs) {
            let ours = (0..<3).map { OTP.hotp(secret: secret, counter: counter + UInt64($0), algorithm: .sha1, digits: 6) }
            #expect(ours == output, "counter \(counter), secret \(hex(secret))")
        }
    }

    @Test("The device key (hashed or padded secret) gives the same codes as the raw secret for every random case")
    func deviceKeyAgreesWithRawSecret() {
        for c in Self.makeCases() {
            let key = c.algorithm.deviceKey(for: c.secret)
            #expect(key.count >= 14)
            #expect(
                OTP.totp(secret: key, at: c.time, period: c.period, algorithm: c.algorithm, digits: c.digits)
                    == OTP.totp(secret: c.secret, at: c.time, period: c.period, algorithm: c.algorithm, digits: c.digits),
                "\(c.algorithm.rawValue), \(c.secret.count)-byte secret")
        }
    }

    @Test("oathtool agrees with the RFC 6238 table, so the cross-check's flags mean what we think",
          .enabled(if: FileManager.default.isExecutableFile(atPath: oathtool)))
    func oathtoolFlagsSanity() throws {
        for row in Vectors.rfc6238 {
            let result = try runProgram(
                Self.oathtool,
                ["--totp=\(row.algorithm.rawValue)", "-d", "8", "-s", "30", "-N", "@\(row.time)", hex(Vectors.rfc6238Seed(row.algorithm))])
            #expect(result.status == 0)
            #expect(result.stdout == row.code + "\n", "\(row)")
        }
    }
}
