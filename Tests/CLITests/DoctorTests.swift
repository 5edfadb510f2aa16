import Foundation
import TestSupport
import Testing

/// `latchkey doctor` without a key: pcscd is never reachable here (see
/// ``runDoctor(_:home:root:environment:sourceLocation:)``); the rule files,
/// /proc and etc/group come from a test root; STS is a local clock server.
/// VirtualKeyTests' DoctorTests covers pcscd, readers and applets.
@Suite("latchkey doctor")
struct DoctorTests {
    /// A root where setup has installed the rules for group latchkey, which
    /// exists, and a HOME with profiles for every MFA source.
    static func preparedRoot(_ home: TestHome) throws -> TestRoot {
        let root = try TestRoot()
        #expect(try home.run(["setup", "--root", root.path]).status == 0)
        try root.write("etc/group", "root:x:0:\nlatchkey:x:990:\n")
        try FileManager.default.createDirectory(atPath: home.home + "/.aws", withIntermediateDirectories: true)
        try writeBytes(home.home + "/.aws/config", Array(mfaProfilesConfig.utf8))
        return root
    }

    @Test("Without pcscd: ✗ on the pcscd line with one fix, the reader checks not run, exit 1 with one stderr line")
    func pcscdNotRunning() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let clock = try ClockServer(offset: 0)
        let result = try runDoctor(home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": clock.url])
        #expect(result.status == 1, "\(result)")
        let lines = doctorLines(result.stdout)
        let failed = lines.filter { $0.symbol == "✗" && $0.title != Self.usbTitle }
        #expect(failed.map(\.title) == ["pcscd reachable"], "\(lines)")
        Self.expectUSBLine(lines)
        #expect(failed.first?.detail.contains("SCardEstablishContext: Service not available") == true, "\(lines)")
        #expect(failed.first?.fix?.contains("systemctl start pcscd.socket") == true, "\(lines)")
        #expect(result.stdout.components(separatedBy: "fix:").count - 1 == 1 + Self.usbFailures, "one fix line per failure: \(result)")
        for title in ["polkit allows this user", "readers found", "OATH applets found"] {
            #expect(lines.line(title)?.symbol == "–", "\(title) cannot be checked without pcscd: \(lines)")
        }
        #expect(result.stderr == "latchkey: \(1 + Self.usbFailures) of \(lines.count) checks failed: pcscd\(Self.usbFailures == 1 ? ", usb" : "")\n", "\(result)")
        // The rest of this machine-in-a-directory is in order.
        #expect(lines.line("udev rule for YubiKey CCID devices")?.symbol == "✓", "\(lines)")
        #expect(lines.line("polkit rule for pcscd")?.symbol == "✓", "\(lines)")
        #expect(lines.line("clock in step with STS")?.symbol == "✓", "\(lines)")
        #expect(lines.line("AWS profiles with mfa_serial")?.symbol == "✓", "\(lines)")
    }

    @Test("A clock 5 minutes slow or fast against STS is ✗ with the offset; the true time is ✓; no credentials are sent",
          arguments: [(-300.0, "ahead of"), (300.0, "behind")])
    func clockOffset(offset: Double, direction: String) throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let skewed = try ClockServer(offset: offset)
        let result = try runDoctor(home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": skewed.url])
        let clock = doctorLines(result.stdout).line("clock in step with STS")
        #expect(clock?.symbol == "✗", "\(result)")
        let detail = clock?.detail ?? ""
        #expect(["299", "300", "301"].contains { detail.contains("this clock is \($0) s \(direction) STS at \(skewed.url)/") }, "\(detail)")
        #expect(clock?.fix?.contains("timedatectl set-ntp true") == true, "\(result)")
        #expect(result.stderr.contains("clock"), "\(result)")
        #expect(skewed.requests.hasPrefix("GET / HTTP/1.1"), "\(skewed.requests)")
        #expect(!skewed.requests.lowercased().contains("authorization"), "\(skewed.requests)")

        let right = try ClockServer(offset: 0)
        let fine = try runDoctor(home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": right.url])
        let line = doctorLines(fine.stdout).line("clock in step with STS")
        #expect(line?.symbol == "✓" && line?.detail == "within 1 s of STS at \(right.url)/ (AWS_ENDPOINT_URL_STS)", "\(fine)")
    }

    // The credentials reach STS trusting AWS_CA_BUNDLE or the profile's
    // ca_bundle; doctor's clock check goes through the same transport, so a
    // TLS-inspecting proxy's CA is trusted there too.
    @Test("The clock check trusts the CA bundle the credentials would: AWS_CA_BUNDLE, the profile's ca_bundle; without one, a self-signed STS is ⚠")
    func clockTrustsCABundle() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let identity = try TemporaryDirectory("sts-tls")
        defer { withExtendedLifetime(identity) {} }
        let certificate = try selfSignedCertificate(in: identity)
        let server = try ClockServer(offset: 0, tls: certificate)
        let inBundle = "within 1 s of STS at \(server.url)/ (AWS_ENDPOINT_URL_STS)"

        let untrusted = try runDoctor(home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": server.url])
        let warned = doctorLines(untrusted.stdout).line("clock in step with STS")
        #expect(warned?.symbol == "⚠" && warned?.detail.hasPrefix("not checked: ") == true, "\(untrusted)")

        let fromEnvironment = try runDoctor(
            home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": server.url, "AWS_CA_BUNDLE": certificate.cert])
        let line = doctorLines(fromEnvironment.stdout).line("clock in step with STS")
        #expect(line?.symbol == "✓" && line?.detail == inBundle, "\(fromEnvironment)")

        try writeBytes(home.home + "/.aws/config", Array("[default]\nca_bundle = \(certificate.cert)\n".utf8))
        let fromProfile = try runDoctor(home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": server.url])
        let profileLine = doctorLines(fromProfile.stdout).line("clock in step with STS")
        #expect(profileLine?.symbol == "✓" && profileLine?.detail == inBundle, "\(fromProfile)")
    }

    @Test("A clock 20 s off is still ✓ (within one 30 s TOTP step), with the offset shown")
    func smallOffset() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let server = try ClockServer(offset: 20)
        let result = try runDoctor(home: home, root: root.path, environment: ["AWS_ENDPOINT_URL_STS": server.url])
        let line = doctorLines(result.stdout).line("clock in step with STS")
        #expect(line?.symbol == "✓", "\(result)")
        #expect(["19", "20", "21"].contains { line?.detail.contains("this clock is \($0) s behind") == true }, "\(result)")
    }

    @Test("STS out of reach is a warning, not a failure; --json parses, one object per check with name, status, detail and fix")
    func jsonAndUnreachableSTS() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let result = try runDoctor(["--json"], home: home, root: root.path)  // AWS_ENDPOINT_URL_STS: port 1
        #expect(result.status == 1, "pcscd fails: \(result)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdoutBytes)) as? [String: Any], "\(result)")
        let checks = try #require(json["checks"] as? [[String: Any]])
        #expect(Set(json.keys) == ["checks"])
        for check in checks {
            #expect(Set(check.keys) == ["name", "status", "detail", "fix"], "\(check)")
            #expect(["ok", "fail", "warn", "skip"].contains(check["status"] as? String ?? ""), "\(check)")
            if check["status"] as? String == "fail" { #expect(check["fix"] is String, "a failure has a fix: \(check)") }
        }
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0["name"] as? String ?? "", $0) })
        #expect(Set(byName.keys) == [
            "pcscd", "polkit", "readers", "oath", "key-holders", "usb", "udev-rule", "polkit-rule", "group", "tpm", "tpm-hmac", "clock",
            "profiles", "mfa-backup",
        ])
        #expect(byName["tpm"]?["status"] as? String == "skip", "the TPM is the running system's, not --root's: \(byName["tpm"] ?? [:])")
        #expect(byName["clock"]?["status"] as? String == "warn", "\(byName["clock"] ?? [:])")
        #expect((byName["clock"]?["detail"] as? String)?.contains("cannot connect to http://127.0.0.1:1/") == true)
        #expect(byName["pcscd"]?["status"] as? String == "fail")
        #expect(byName["readers"]?["status"] as? String == "skip" && byName["readers"]?["fix"] is NSNull)
        #expect(
            result.stderr == "latchkey: \(1 + Self.usbFailures) of 14 checks failed: pcscd\(Self.usbFailures == 1 ? ", usb" : "")\n",
            "the warning is not a failure: \(result)")
    }

    static let usbTitle = "YubiKeys on USB, and this user may open them"

    /// Whether sysfs shows a Yubico device on this machine: none on CI,
    /// where the USB check must fail and say so.
    static var yubicoOnUSB: Bool { yubicoDeviceOnUSB }

    /// Without pcscd and without a YubiKey on USB, the USB check fails too.
    static var usbFailures: Int { yubicoOnUSB ? 0 : 1 }

    static func expectUSBLine(_ lines: [DoctorLine]) {
        let usb = lines.line(usbTitle)
        if yubicoOnUSB {
            #expect(usb != nil, "\(lines)")
        } else {
            #expect(usb?.symbol == "✗" && usb?.detail.contains("no Yubico device (vendor 1050) on any USB bus") == true, "\(lines)")
            #expect(usb?.fix?.contains("lsusb -d 1050:") == true, "\(lines)")
        }
    }

    @Test("Profiles: each one with mfa_serial and its MFA source (absent → prompt); an unknown source fails; without pcscd the backup-key check is – not checked")
    func profiles() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let result = try runDoctor(home: home, root: root.path)
        let line = doctorLines(result.stdout).line("AWS profiles with mfa_serial")
        #expect(line?.symbol == "✓", "\(result)")
        #expect(line?.detail == "dev: prompt (latchkey_mfa not set); ops: sealed; work: yubikey", "\(result)")
        // No pcscd here: where work's account is cannot be looked at.
        let backup = doctorLines(result.stdout).line("MFA accounts on more than one key")
        #expect(backup?.symbol == "–" && backup?.detail == "not checked: no key with an OATH applet without a password is attached through pcscd", "\(result)")

        try writeBytes(home.home + "/.aws/config", Array((mfaProfilesConfig + "\n[profile odd]\nmfa_serial = arn:aws:iam::1:mfa/x\nlatchkey_mfa = totp\n").utf8))
        let odd = doctorLines(try runDoctor(home: home, root: root.path).stdout).line("AWS profiles with mfa_serial")
        #expect(odd?.symbol == "✗" && odd?.detail == "odd has latchkey_mfa = totp", "\(String(describing: odd))")

        try writeBytes(home.home + "/.aws/config", Array("[profile plain]\nregion = eu-west-1\n".utf8))
        let none = doctorLines(try runDoctor(home: home, root: root.path).stdout).line("AWS profiles with mfa_serial")
        #expect(none?.symbol == "⚠" && none?.fix?.contains("latchkey_mfa = yubikey") == true, "\(String(describing: none))")
    }

    @Test("Rules: none installed fails with setup as the fix; Yubico-style GROUP rules count; uaccess alone or mode 0644 does not")
    func rules() throws {
        try requireBinary()
        let home = try TestHome()
        let empty = try TestRoot()
        let bare = doctorLines(try runDoctor(home: home, root: empty.path).stdout)
        #expect(bare.line("udev rule for YubiKey CCID devices")?.symbol == "✗", "\(bare)")
        #expect(bare.line("udev rule for YubiKey CCID devices")?.fix?.contains("sudo latchkey setup") == true)
        // No pcsc-lite polkit policy in this root: the missing rule refuses nobody yet.
        #expect(bare.line("polkit rule for pcscd")?.symbol == "⚠", "\(bare)")
        #expect(bare.line("this user in the rules' group")?.symbol == "–", "\(bare)")

        let policyOnly = try TestRoot()
        try policyOnly.write("usr/share/polkit-1/actions/org.debian.pcsc-lite.policy", "<policyconfig/>\n")
        let refused = doctorLines(try runDoctor(home: home, root: policyOnly.path).stdout)
        #expect(refused.line("polkit rule for pcscd")?.symbol == "✗", "\(refused)")

        let yubico = try TestRoot()
        try yubico.write("usr/lib/udev/rules.d/70-u2f-and-ccid.rules", """
            ACTION!="add|change", GOTO="end"
            ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0111|0112|0115|0116|040[4-7]", \\
                TAG+="uaccess", GROUP="plugdev", MODE="0660"
            LABEL="end"
            """)
        try yubico.write("etc/group", "plugdev:x:46:\n")
        let plugdev = doctorLines(try runDoctor(home: home, root: yubico.path).stdout)
        #expect(plugdev.line("udev rule for YubiKey CCID devices")?.symbol == "✓", "\(plugdev)")
        #expect(plugdev.line("udev rule for YubiKey CCID devices")?.detail.hasPrefix("group plugdev gets every CCID product id") == true, "\(plugdev)")
        #expect(plugdev.line("this user in the rules' group")?.detail.contains("plugdev exists") == true, "\(plugdev)")

        // The same file in /etc, linked to /dev/null, masks it.
        try FileManager.default.createDirectory(atPath: yubico.path + "/etc/udev/rules.d", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: yubico.path + "/etc/udev/rules.d/70-u2f-and-ccid.rules", withDestinationPath: "/dev/null")
        #expect(doctorLines(try runDoctor(home: home, root: yubico.path).stdout).line("udev rule for YubiKey CCID devices")?.symbol == "✗")

        let weak = try TestRoot()
        try weak.write("etc/udev/rules.d/60-weak.rules", """
            SUBSYSTEM=="usb", ATTR{idVendor}=="1050", ATTR{idProduct}=="0407", TAG+="uaccess"
            SUBSYSTEM=="usb", ATTR{idVendor}=="1050", GROUP="plugdev", MODE="0644"
            """)
        let weakLines = doctorLines(try runDoctor(home: home, root: weak.path).stdout)
        let udev = weakLines.line("udev rule for YubiKey CCID devices")
        #expect(udev?.symbol == "✗" && udev?.detail.contains("uaccess (desktop user only) in \(weak.path)/etc/udev/rules.d/60-weak.rules") == true, "\(weakLines)")

        // A group named by the rules that does not exist.
        let noGroup = try TestRoot()
        #expect(try home.run(["setup", "--root", noGroup.path]).status == 0)
        let missing = doctorLines(try runDoctor(home: home, root: noGroup.path).stdout).line("this user in the rules' group")
        #expect(missing?.symbol == "✗" && missing?.fix?.contains("groupadd --root \(noGroup.path) --system latchkey") == true, "\(String(describing: missing))")
    }

    @Test("A running scdaemon is a warning with its pid, unless scdaemon.conf has pcsc-shared; gpg-agent alone is fine")
    func keyHolders() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try Self.preparedRoot(home)
        let title = "no other program holding the key"
        #expect(doctorLines(try runDoctor(home: home, root: root.path).stdout).line(title)?.symbol == "–", "no /proc in the root, no reader")

        try root.write("proc/1/comm", "systemd\n")
        try root.write("proc/77/comm", "gpg-agent\n")
        let agentOnly = doctorLines(try runDoctor(home: home, root: root.path).stdout).line(title)
        #expect(agentOnly?.symbol == "✓" && agentOnly?.detail.contains("gpg-agent (pid 77) may start scdaemon") == true, "\(String(describing: agentOnly))")

        try root.write("proc/4242/comm", "scdaemon\n")
        let held = doctorLines(try runDoctor(home: home, root: root.path).stdout).line(title)
        #expect(held?.symbol == "⚠" && held?.detail.contains("scdaemon (pid 4242)") == true, "\(String(describing: held))")
        #expect(held?.fix?.contains("gpgconf --kill scdaemon") == true)

        try FileManager.default.createDirectory(atPath: home.home + "/.gnupg", withIntermediateDirectories: true)
        try writeBytes(home.home + "/.gnupg/scdaemon.conf", Array("disable-ccid\npcsc-shared\n".utf8))
        let shared = doctorLines(try runDoctor(home: home, root: root.path).stdout).line(title)
        #expect(shared?.symbol == "✓" && shared?.detail.contains("pcsc-shared") == true, "\(String(describing: shared))")
    }

    @Test("As another user (nobody): ✓ when the root's etc/group lists them in the rules' group, ✗ with usermod as the fix when not",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func membershipOfAnotherUser() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        chmod(root.path, 0o755)
        #expect(try home.run(["setup", "--root", root.path]).status == 0)
        func groupLine() throws -> DoctorLine? {
            let result = try runProgram(
                "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", latchkeyBinary, "doctor", "--root", root.path],
                environment: [
                    "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm",
                    "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
                ], inheritEnvironment: false, timeout: runTimeout)
            return doctorLines(result.stdout).line("this user in the rules' group")
        }
        let name = try #require(getpwuid(65534).map { String(cString: $0.pointee.pw_name) })

        try root.write("etc/group", "latchkey:x:990:alice,\(name)\n")
        let member = try groupLine()
        #expect(member?.symbol == "✓" && member?.detail == "\(name) is in latchkey", "\(String(describing: member))")

        try root.write("etc/group", "latchkey:x:990:alice\n")
        let outsider = try groupLine()
        #expect(outsider?.symbol == "✗" && outsider?.detail == "\(name) is not in group latchkey", "\(String(describing: outsider))")
        #expect(outsider?.fix == "`sudo usermod --root \(root.path) -aG latchkey \(name)`, then log in again", "\(String(describing: outsider))")
    }
}
