import Foundation
import Testing

/// `--transport` and LATCHKEY_TRANSPORT as a user meets them on a machine
/// without pcscd (its socket moved where nothing listens) and, on CI,
/// without any USB device. With a Yubico device on USB the tests about the
/// machine without one are reported as skipped.
@Suite("Transport choice without pcscd")
struct TransportTests {
    static let noPCSCD = ["PCSCLITE_CSOCK_NAME": "/nonexistent/latchkey-test-pcscd.comm"]

    static var noYubicoOnUSB: Bool { !DoctorTests.yubicoOnUSB }

    @Test("--transport ccid with no YubiKey on USB: exit 11, one line naming lsusb", .enabled(if: noYubicoOnUSB, "a Yubico device is on this machine's USB"))
    func ccidWithoutKey() throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["code", "alice", "--yubikey", "--transport", "ccid"], environment: Self.noPCSCD)
        #expect(result.status == 11, "\(result)")
        #expect(result.stderr == "latchkey: no YubiKey on USB: plug it in (`lsusb -d 1050:` lists it once the machine sees it)\n", "\(result)")
        let viaEnvironment = try home.run(["code", "alice", "--yubikey"], environment: Self.noPCSCD.merging(["LATCHKEY_TRANSPORT": "ccid"]) { $1 })
        #expect(viaEnvironment.status == 11 && viaEnvironment.stderr == result.stderr, "\(viaEnvironment)")
    }

    @Test(
        "auto without pcscd and without a USB key reports pcscd (the usual fix); --transport pcsc the same",
        .enabled(if: noYubicoOnUSB, "a Yubico device is on this machine's USB"))
    func autoFallsBackThenReportsPCSCD() throws {
        try requireBinary()
        let home = try TestHome()
        for extra in [[], ["--transport", "auto"], ["--transport", "pcsc"]] {
            let result = try home.run(["code", "alice", "--yubikey"] + extra, environment: Self.noPCSCD)
            #expect(result.status == 13, "\(extra): \(result)")
            #expect(result.stderr.hasPrefix("latchkey: pcscd is not running"), "\(extra): \(result)")
        }
    }

    @Test("An unknown transport: usage error 64, from the option and from LATCHKEY_TRANSPORT")
    func unknownTransport() throws {
        try requireBinary()
        let home = try TestHome()
        let option = try home.run(["code", "alice", "--yubikey", "--transport", "bluetooth"])
        #expect(option.status == 64, "\(option)")
        let environment = try home.run(["code", "alice", "--yubikey"], environment: ["LATCHKEY_TRANSPORT": "bluetooth"])
        #expect(environment.status == 64, "\(environment)")
        #expect(environment.stderr == "latchkey: LATCHKEY_TRANSPORT must be auto, pcsc or ccid, not 'bluetooth'\n", "\(environment)")
    }

    @Test("devices without pcscd still lists USB (exit 0); --json has both sections and pcscd's error")
    func devicesWithoutPCSCD() throws {
        try requireBinary()
        let home = try TestHome()
        let text = try home.run(["devices"], environment: Self.noPCSCD)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.hasPrefix("Readers: not read (pcscd is not running"), "\(text)")
        if Self.noYubicoOnUSB { #expect(text.stdout.hasSuffix("\nUSB: no Yubico device\n"), "\(text)") }
        let json = try home.run(["devices", "--json"], environment: Self.noPCSCD)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json)")
        #expect((object["pcscError"] as? String)?.hasPrefix("pcscd is not running") == true, "\(json)")
        #expect(object["readers"] as? [Any] != nil && object["usb"] as? [Any] != nil, "\(json)")
        #expect(object["usbError"] == nil, "\(json)")
    }
}
