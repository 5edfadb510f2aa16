import Foundation
import TestSupport
import Testing

/// latchkey over direct CCID, end to end without hardware: an emulated
/// YubiKey on a umockdev USB bus (`scripts/umockdev-yubikey-env`, fixture
/// `Tests/Support/Fixtures/umockdev_yubikey.c`) whose CCID slot holds the
/// virtual key. latchkey runs as a child under libumockdev's preload and
/// reaches the key through libusb only: pcscd's socket points nowhere.
/// Runs share nothing (no pcscd, a port per run), so these need no turn.
@Suite("Direct CCID over an emulated USB YubiKey")
struct CCIDOverUSBTests {
    static let script = Tools.repoRoot.appendingPathComponent("scripts/umockdev-yubikey-env").path

    /// A HOME and the key's state file, kept across runs of the fixture.
    struct Bench {
        let directory: URL
        var home: String { directory.path + "/home" }
        var state: String { directory.path + "/key.json" }
        var log: String { directory.path + "/apdu.log" }

        init() throws {
            directory = try VirtualKeySession.temporaryDirectory()
            try FileManager.default.createDirectory(atPath: directory.path + "/home", withIntermediateDirectories: true)
        }

        /// `latchkey ARGS` under the emulated key, with `fixture` options for
        /// the script; pcscd unreachable unless `environment` says otherwise.
        func latchkey(
            _ arguments: [String], fixture: [String] = [], input: String = "", environment: [String: String] = [:],
            timeout: Double = 60
        ) async throws -> ProcessResult {
            let binary = try #require(LatchkeyOnKeyTests.latchkey, "latchkey was not built beside the tests")
            return try await shell("exec \"$LATCHKEY\" \"$@\"", arguments, fixture: fixture, input: input, environment: environment.merging(["LATCHKEY": binary]) { $1 }, timeout: timeout)
        }

        /// A shell `script` (with `arguments` as "$@") under the emulated key.
        func shell(
            _ script: String, _ arguments: [String] = [], fixture: [String] = [], input: String = "",
            environment: [String: String] = [:], timeout: Double = 60
        ) async throws -> ProcessResult {
            let virtualKey = try #require(Tools.virtualKey, "latchkey-virtual-key was not built beside the tests")
            _ = try Tools.require("umockdev-run", package: "umockdev")
            _ = try Tools.require("gcc", package: "gcc")
            return try await runProgram(
                CCIDOverUSBTests.script, ["--state", state, "--log", log] + fixture + ["--", "sh", "-c", script, "sh"] + arguments,
                environment: [
                    "HOME": home, "LATCHKEY_VKEY_BIN": virtualKey, "LATCHKEY_PASSPHRASE": "", "LATCHKEY_OATH_PASSWORD": "",
                    "PCSCLITE_CSOCK_NAME": directory.path + "/no-pcscd.comm",
                ].merging(environment) { $1 }, stdin: Array(input.utf8), newSession: true, timeout: timeout)
        }

        /// The APDU instructions the key received (one log line each).
        func instructions() -> [String] {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        }

        func clearLog() { try? FileManager.default.removeItem(atPath: log) }
    }

    @Test("accounts add and code over CCID: the code is oathtool's, and costs SELECT + CALCULATE")
    func addAndCode() async throws {
        let bench = try Bench()
        let secret = LatchkeyOnKeyTests.randomBase32()
        let add = try await bench.latchkey(["accounts", "add", "alice", "--yubikey", "--transport", "ccid"], input: secret)
        #expect(add.status == 0, "\(add)")
        #expect(add.stderr.contains("to the key in USB 001/002 YubiKey 4/5 OTP+FIDO+CCID"), "\(add)")

        bench.clearLog()
        let before = unixTime()
        let code = try await bench.latchkey(["code", "alice", "--yubikey", "--transport", "ccid"], fixture: ["--verbose"])
        let after = unixTime()
        #expect(code.status == 0, "\(code)")
        let expected = try await oathtoolCodes(base32: secret, at: [before, after])
        #expect(expected.contains(code.stdout.trimmingCharacters(in: .newlines)), "\(code) vs oathtool \(expected)")
        #expect(bench.instructions() == ["SELECT", "CALCULATE"], "\(bench.instructions())")
        // On the wire: PowerOn (62), two XfrBlocks (6F), PowerOff (63), each
        // served, then the interface released.
        let served = code.stderr.split(separator: "\n").filter { $0.contains("host -> key: ") }.map {
            $0.components(separatedBy: "host -> key: ")[1].prefix(2)
        }
        #expect(served == ["62", "6F", "6F", "63"], "\(code.stderr)")
        #expect(code.stderr.contains("ioctl 0x80045510 -> 0"), "released: \(code.stderr)")
    }

    @Test("--transport auto without pcscd falls back to USB; LATCHKEY_TRANSPORT=ccid and --reader by USB name work")
    func autoFallback() async throws {
        let bench = try Bench()
        let secret = LatchkeyOnKeyTests.randomBase32()
        #expect(try await bench.latchkey(["accounts", "add", "bob", "--yubikey", "--transport", "ccid"], input: secret).status == 0)
        for (arguments, environment) in [
            (["code", "bob", "--yubikey"], [:]),
            (["code", "bob", "--yubikey"], ["LATCHKEY_TRANSPORT": "ccid"]),
            (["code", "bob", "--yubikey", "--reader", "usb 001/002"], ["LATCHKEY_TRANSPORT": "auto"]),
        ] as [([String], [String: String])] {
            // The codes of the steps the run may fall in (a loaded machine
            // can take seconds per run).
            let started = unixTime()
            let result = try await bench.latchkey(arguments, environment: environment)
            let expected = try await oathtoolCodes(base32: secret, at: [started, unixTime()])
            #expect(result.status == 0 && expected.contains(result.stdout.trimmingCharacters(in: .newlines)), "\(arguments) \(environment): \(result)")
        }
        let wrongReader = try await bench.latchkey(["code", "bob", "--yubikey", "--transport", "ccid", "--reader", "NEO"])
        #expect(wrongReader.status == 11 && wrongReader.stderr.contains("USB 001/002 YubiKey 4/5 OTP+FIDO+CCID"), "\(wrongReader)")
    }

    @Test("devices and doctor see the key on USB with its interfaces, and a FIDO-only key beside it")
    func devicesAndDoctor() async throws {
        let bench = try Bench()
        let devices = try await bench.latchkey(["devices"], fixture: ["--also-non-ccid"])
        #expect(devices.status == 0, "\(devices)")
        #expect(devices.stdout.contains("\nUSB:\n  001/002 YubiKey 4/5 OTP+FIDO+CCID (1050:0407), interfaces OTP FIDO CCID, this user may open it\n  001/003 YubiKey 4/5 FIDO (1050:0402), interfaces FIDO, this user may open it\n"), "\(devices)")
        let json = try await bench.latchkey(["devices", "--json"], fixture: ["--product", "0116"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdoutBytes)) as? [String: Any], "\(json)")
        let usb = try #require(object["usb"] as? [[String: Any]])
        #expect(usb.count == 1 && usb.first?["id"] as? String == "1050:0116" && usb.first?["node"] as? String == "/dev/bus/usb/001/002", "\(json)")
        #expect(usb.first?["interfaces"] as? [String] == ["OTP", "FIDO", "CCID"] && usb.first?["mayOpen"] as? Bool == true, "\(json)")

        let doctor = try await bench.latchkey(["doctor", "--json"], fixture: ["--product", "0402"])
        let checks = (try JSONSerialization.jsonObject(with: Data(doctor.stdoutBytes)) as? [String: Any])?["checks"] as? [[String: Any]] ?? []
        let check = try #require(checks.first { $0["name"] as? String == "usb" }, "\(doctor)")
        #expect(check["status"] as? String == "fail" && (check["fix"] as? String)?.contains("ykman config usb --enable CCID") == true, "\(check)")

        // Without pcscd, doctor claims and releases the CCID interface to
        // learn whether another program holds it.
        for (fixture, status, text) in [([], "ok", "; CCID interface free"), (["--busy"], "fail", "most likely GnuPG's scdaemon")] {
            let result = try await bench.latchkey(["doctor", "--json"], fixture: fixture)
            let checks = (try JSONSerialization.jsonObject(with: Data(result.stdoutBytes)) as? [String: Any])?["checks"] as? [[String: Any]] ?? []
            let usbCheck = try #require(checks.first { $0["name"] as? String == "usb" }, "\(result)")
            #expect(usbCheck["status"] as? String == status && (usbCheck["detail"] as? String)?.contains(text) == true, "\(fixture): \(usbCheck)")
        }
    }

    @Test("A key another program has claimed (LIBUSB_ERROR_BUSY): one line naming pcscd, scdaemon and --transport pcsc; exit 13")
    func busy() async throws {
        let bench = try Bench()
        let result = try await bench.latchkey(["code", "alice", "--yubikey", "--transport", "ccid"], fixture: ["--busy"])
        #expect(result.status == 13, "\(result)")
        #expect(result.stdout.isEmpty && result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(result.stderr.contains("another program holds the USB 001/002 YubiKey 4/5 OTP+FIDO+CCID's CCID interface"), "\(result)")
        #expect(result.stderr.contains("--transport pcsc") && result.stderr.contains("gpgconf --kill scdaemon"), "\(result)")
    }

    @Test("No card in the slot, and a key with CCID turned off: one-line errors, non-zero exits")
    func emptySlotAndNoCCID() async throws {
        let bench = try Bench()
        let empty = try await bench.latchkey(["code", "alice", "--yubikey", "--transport", "ccid"], fixture: ["--no-key"])
        #expect(empty.status != 0 && empty.stdout.isEmpty && empty.stderr.split(separator: "\n").count == 1, "\(empty)")
        #expect(empty.stderr.hasPrefix("latchkey: "), "\(empty)")
        let fidoOnly = try await bench.latchkey(["code", "alice", "--yubikey", "--transport", "ccid"], fixture: ["--product", "0402"])
        #expect(fidoOnly.status == 11, "\(fidoOnly)")
        #expect(fidoOnly.stderr == "latchkey: the YubiKey 4/5 FIDO on USB has its CCID interface turned off, which the OATH applet needs: `ykman config usb --enable CCID`\n", "\(fidoOnly)")
    }

    @Test("A touch-required account: time extensions while the key waits, the prompt on stderr, then the code")
    func touchWithTimeExtensions() async throws {
        let bench = try Bench()
        let secret = LatchkeyOnKeyTests.randomBase32()
        let add = try await bench.latchkey(["accounts", "add", "carol", "--touch", "--yubikey", "--transport", "ccid"], input: secret)
        #expect(add.status == 0, "\(add)")
        let before = unixTime()
        let code = try await bench.latchkey(
            ["code", "carol", "--yubikey", "--transport", "ccid"],
            fixture: ["--touch-delay", "2", "--time-extension", "300", "--verbose"])
        let after = unixTime()
        #expect(code.status == 0, "\(code)")
        #expect(code.stderr.contains("Touch your YubiKey"), "\(code)")
        // The key asked for more time (a DataBlock with bStatus 0x80) while
        // it waited, and latchkey kept waiting through those frames.
        let extensions = code.stderr.split(separator: "\n").filter { line in
            guard let frame = line.components(separatedBy: "key -> host: ").dropFirst().first else { return false }
            let bytes = frame.split(separator: " ")
            return bytes.count == 10 && bytes[0] == "80" && bytes[7] == "80"
        }
        #expect(extensions.count >= 3, "2 s at one frame per 300 ms: \(code.stderr)")
        let expected = try await oathtoolCodes(base32: secret, at: [before, after])
        #expect(expected.contains(code.stdout.trimmingCharacters(in: .newlines)), "\(code)")

        let never = try await bench.latchkey(
            ["code", "carol", "--yubikey", "--transport", "ccid"],
            fixture: ["--touch", "never", "--touch-timeout", "6", "--time-extension", "300"])
        #expect(never.status == 10, "touch timed out: \(never)")
    }

    @Test("Ctrl-C during a touch wait over USB: exit 130 within 3 s, a power-off sent to the key and the interface released")
    func interruptedTouchWait() async throws {
        let bench = try Bench()
        let add = try await bench.latchkey(["accounts", "add", "dave", "--touch", "--yubikey", "--transport", "ccid"], input: LatchkeyOnKeyTests.randomBase32())
        #expect(add.status == 0, "\(add)")
        let binary = try #require(LatchkeyOnKeyTests.latchkey)
        // latchkey in the background, SIGINT after 1.5 s, its status printed.
        let result = try await bench.shell(
            """
            "$LATCHKEY" code dave --yubikey --transport ccid & pid=$!
            sleep 1.5; start=$(date +%s%N); kill -INT $pid; wait $pid; status=$?
            echo "status=$status ms=$((($(date +%s%N) - start) / 1000000))"
            """, fixture: ["--touch", "never", "--touch-timeout", "30", "--time-extension", "300", "--verbose"],
            environment: ["LATCHKEY": binary], timeout: 60)
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.hasPrefix("status=130 "), "\(result)")
        let milliseconds = Int(line.split(separator: "=").last ?? "") ?? .max
        #expect(milliseconds < 3000, "the read slice (1 s) and the power-off's limit (1.5 s) bound it: \(result)")
        // The fixture's log: after the CALCULATE (an XfrBlock, 6F), a
        // PowerOff (63) reached the key (the slot is still busy with the
        // touch wait, so it is not served), then the interface was released
        // (USBDEVFS_RELEASEINTERFACE, ioctl 0x80045510).
        let log = result.stderr.split(separator: "\n").map(String.init)
        let lastXfr = log.lastIndex { $0.contains("received: 6F ") }
        let powerOff = log.lastIndex { $0.contains("received: 63 ") }
        let release = log.lastIndex { $0.contains("ioctl 0x80045510 -> 0") }
        #expect(lastXfr != nil && powerOff != nil && release != nil, "\(result.stderr)")
        if let lastXfr, let powerOff, let release { #expect(lastXfr < powerOff && powerOff < release, "\(result.stderr)") }
    }

    @Test("Garbage from the card over USB ends in one line and exit 13, not a crash or a hang")
    func garbage() async throws {
        let bench = try Bench()
        let result = try await bench.latchkey(
            ["code", "alice", "--yubikey", "--transport", "ccid"], fixture: ["--misbehave", "garbage"], timeout: 60)
        #expect(result.status == 13 && result.stdout.isEmpty && result.stderr.split(separator: "\n").count == 1, "\(result)")
    }
}
