import CredentialFlow
import SystemSupport
import Testing

@testable import LatchkeyCore

@Suite("Argument pieces: the warm credential-process parse and --duration")
struct ArgumentPiecesTests {
    /// What the warm path reads for the session it looks up: the profile
    /// and the duration (the other options choose how a new session would
    /// be made, not which one is wanted).
    struct Request: Equatable {
        var profile: String?
        var durationSeconds: Int?
    }

    static func parse(_ arguments: [String]) -> Request? {
        CredentialOption.parse(arguments[...]).map { Request(profile: $0.profile, durationSeconds: $0.durationSeconds) }
    }

    @Test("Profile and duration, as separate or inline values; the last one wins")
    func profileAndDuration() {
        #expect(Self.parse([]) == Request())
        #expect(Self.parse(["--profile", "dev"]) == Request(profile: "dev"))
        #expect(Self.parse(["--profile=dev"]) == Request(profile: "dev"))
        #expect(Self.parse(["--duration", "1h"]) == Request(durationSeconds: 3_600))
        #expect(
            Self.parse(["--duration=1h30m", "--profile", "a=b"]) == Request(profile: "a=b", durationSeconds: 5_400))
        #expect(Self.parse(["--profile", "a", "--profile=b"]) == Request(profile: "b"))
    }

    @Test("--refresh is read, and the request is one the warm path never answers from the cache")
    func refresh() throws {
        // (CredentialServiceTests.coldThenWarm checks the other half: with a
        // fresh session in the cache, cachedSession returns nil for it.)
        let alone = try #require(CredentialOption.parse(["--refresh"]))
        #expect(alone.refresh)
        let withProfile = try #require(CredentialOption.parse(["--profile", "dev", "--refresh"]))
        #expect(withProfile.refresh && withProfile.profile == "dev")
        #expect(CredentialService.cachedSession(for: withProfile, environment: Environment(["HOME": "/nonexistent"]), unixTime: 0) == nil)
    }

    @Test("Flags and options that do not change the session are skipped, with their values")
    func ignored() {
        #expect(Self.parse(["--yubikey", "--profile", "dev"]) == Request(profile: "dev"))
        #expect(Self.parse(["--sealed", "--remember"]) == Request())
        #expect(Self.parse(["--reader", "Yubico YubiKey 00 00", "--profile", "dev"]) == Request(profile: "dev"))
        #expect(
            Self.parse([
                "--reader=Yubico", "--oath-password-file", "/p", "--passphrase-file=/q", "--mfa-code", "123456",
            ]) == Request())
    }

    @Test(
        "Anything not understood falls through to the full command",
        arguments: [
            ["--help"], ["-h"], ["--verbose"], ["extra"], ["--profile"], ["--duration"],
            ["--duration", "soon"], ["--duration=0"], ["--reader"], ["--mfa-code"], ["--yubikey=yes"],
            // Two sources for one code: the full command refuses them, so the warm path must not answer.
            ["--sealed", "--prompt"], ["--yubikey", "--yubikey"], ["--yubikey", "--mfa-code", "123456"],
        ])
    func fallsThrough(_ arguments: [String]) {
        #expect(Self.parse(arguments) == nil)
    }

    @Test("Each code source's option is named as its latchkey_mfa value, and is a flag")
    func sourceNames() {
        for source in MFASource.allCases {
            let option = CredentialOption.allCases.first { $0.name == source.rawValue }
            #expect(option != nil, "\(source)")
            #expect(option?.takesValue == false, "\(source)")
            var request = CredentialRequest()
            #expect(option?.apply(nil, to: &request) == true)
            #expect(request.mfaSource == source)
        }
    }

    @Test(
        "--duration: seconds, or hours, minutes and seconds",
        arguments: [
            ("3600", 3_600), ("3600s", 3_600), ("90m", 5_400), ("12h", 43_200), ("1h30m", 5_400), ("1h30m15s", 5_415),
            ("900", 900), ("0h15m", 900),
        ])
    func durations(_ text: String, _ seconds: Int) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(
        "Bad durations are nil",
        arguments: [
            "", "0", "-60", "0m", "0h0m0s", "h", "m30", "1x", "1h30", "1.5h", " 90m", "90 m", "1H", "½h", "٣m",
            "99999999999999999999",
        ])
    func badDurations(_ text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test("A duration too large to count in seconds is refused, not a crash")
    func hugeDuration() async {
        // Run in a child process: a trap would kill the test runner otherwise.
        await #expect(processExitsWith: .success) {
            #expect(DurationText.seconds("99999999999999999h") == nil)
        }
    }
}
