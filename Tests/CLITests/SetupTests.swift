import Foundation
import TestSupport
import Testing

@Suite("latchkey setup")
struct SetupTests {
    /// A directory holding a fake `udevadm` that appends its arguments to a
    /// log file and exits with `status` (printing `message` first).
    final class FakeUdevadm {
        let directory: TemporaryDirectory
        var log: String { directory.file("udevadm.log") }

        init(status: Int = 0, message: String = "") throws {
            directory = try TemporaryDirectory("fake-udevadm")
            let script = """
                #!/bin/sh
                echo "$*" >> '\(directory.file("udevadm.log"))'
                \(message.isEmpty ? "" : "echo '\(message)' >&2")
                exit \(status)
                """
            try writeBytes(directory.file("udevadm"), Array(script.utf8))
            chmod(directory.file("udevadm"), 0o755)
        }

        /// The argument lists it was called with, in order.
        var calls: [String] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    @Test("setup --root writes both rules with mode 0644 in 0755 directories, the group filled in, byte for byte the udev/ files")
    func writesBothFiles() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        let result = try home.run(["setup", "--root", root.path, "--group", "yubikey-users"])
        #expect(result.status == 0, "\(result)")

        let udev = try root.read(RepositoryRules.udevInstallPath)
        let polkit = try root.read(RepositoryRules.polkitInstallPath)
        // The embedded texts are the repository's files with the group substituted.
        #expect(udev == (try RepositoryRules.udevTemplate()).replacingOccurrences(of: RepositoryRules.placeholder, with: "yubikey-users"))
        #expect(polkit == (try RepositoryRules.polkitTemplate()).replacingOccurrences(of: RepositoryRules.placeholder, with: "yubikey-users"))
        #expect(!udev.contains("@") && !polkit.contains("@"), "no placeholder left")
        #expect(polkit.contains("subject.isInGroup(\"yubikey-users\")"))

        for file in [RepositoryRules.udevInstallPath, RepositoryRules.polkitInstallPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: root.path + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o644, "\(file): \(String(mode ?? 0, radix: 8))")
        }
        for directory in ["etc", "etc/udev", "etc/udev/rules.d", "etc/polkit-1", "etc/polkit-1/rules.d"] {
            let mode = try FileManager.default.attributesOfItem(atPath: root.path + "/" + directory)[.posixPermissions] as? Int
            #expect(mode == 0o755, "\(directory): \(String(mode ?? 0, radix: 8))")
        }
        // Nothing else: no staging files left behind.
        #expect(root.contents() == [
            "etc", "etc/polkit-1", "etc/polkit-1/rules.d", RepositoryRules.polkitInstallPath,
            "etc/udev", "etc/udev/rules.d", RepositoryRules.udevInstallPath,
        ])
        // One line per action.
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("created directory ") }.count == 5, "\(result)")
        #expect(lines.contains { $0.hasPrefix("wrote \(root.path)/\(RepositoryRules.udevInstallPath) (0644, group yubikey-users)") })
        #expect(lines.contains { $0.hasPrefix("wrote \(root.path)/\(RepositoryRules.polkitInstallPath) (0644, group yubikey-users)") })
        #expect(lines.contains { $0.contains("group yubikey-users does not exist") && $0.contains("groupadd --root \(root.path) --system yubikey-users") })
        #expect(lines.contains { $0.contains("usermod --root \(root.path) -aG yubikey-users") })
    }

    @Test("Every CCID product id has a rule line that tags it uaccess and gives the group rw; ids without CCID have none")
    func everyCCIDProductIsMatched() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        #expect(try home.run(["setup", "--root", root.path]).status == 0)
        let lines = udevRuleLines(try root.read(RepositoryRules.udevInstallPath))
        #expect(!lines.isEmpty)

        func matching(_ product: String) -> [[RulePair]] {
            lines.filter { pairs in
                pairs.contains(RulePair(key: "ATTR{idVendor}", op: "==", value: "1050"))
                    && pairs.contains { $0.key == "ATTR{idProduct}" && $0.op == "==" && $0.value.split(separator: "|").contains(Substring(product)) }
            }
        }
        for product in RepositoryRules.ccidProducts {
            let rules = matching(product)
            #expect(rules.count == 1, "product \(product): \(rules)")
            for pairs in rules {
                for expected in [
                    RulePair(key: "SUBSYSTEM", op: "==", value: "usb"),
                    RulePair(key: "ENV{DEVTYPE}", op: "==", value: "usb_device"),
                    RulePair(key: "TAG", op: "+=", value: "uaccess"),
                    RulePair(key: "GROUP", op: "=", value: "latchkey"),
                    RulePair(key: "MODE", op: "=", value: "0660"),
                ] {
                    #expect(pairs.contains(expected), "product \(product) lacks \(expected)")
                }
            }
        }
        for product in RepositoryRules.nonCCIDProducts {
            #expect(matching(product).isEmpty, "product \(product) has no CCID interface")
        }
        // The only other rule line skips remove events, and its label exists.
        let others = lines.filter { !$0.contains(RulePair(key: "ATTR{idVendor}", op: "==", value: "1050")) }
        #expect(others == [
            [RulePair(key: "ACTION", op: "!=", value: "add|change"), RulePair(key: "GOTO", op: "=", value: "latchkey_yubikey_end")],
            [RulePair(key: "LABEL", op: "=", value: "latchkey_yubikey_end")],
        ])
    }

    @Test("The rule's comment and udev/README.md say that mode 0660 reaches the OTP and FIDO interfaces, and prefer uaccess alone for desktops")
    func ruleDocumentsWholeDeviceAccess() throws {
        let rule = try RepositoryRules.udevTemplate()
        let comment = rule.split(separator: "\n").filter { $0.hasPrefix("#") }.map { $0.dropFirst(2) }.joined(separator: " ")
        #expect(comment.contains("mode 0660 on that node reaches the OTP and FIDO interfaces too"), "\(comment)")
        #expect(comment.contains("prefer uaccess alone"), "\(comment)")
        let readme = try String(contentsOf: RepositoryRules.directory.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("it reaches the\nkey's OTP and FIDO interfaces too"))
        #expect(readme.contains("Desktop users: prefer `uaccess` alone."))
        // The recipe in the README leaves every product line with uaccess and without group or mode.
        let uaccessOnly = rule.replacingOccurrences(of: ", GROUP=\"@LATCHKEY_GROUP@\", MODE=\"0660\"", with: "")
        let lines = uaccessOnly.split(separator: "\n").filter { $0.hasPrefix("SUBSYSTEM") }
        #expect(lines.count == RepositoryRules.ccidProducts.count)
        #expect(lines.allSatisfy { $0.hasSuffix("TAG+=\"uaccess\"") }, "\(lines)")
    }

    @Test("The line checker used above rejects malformed rule lines (it can fail)")
    func ruleLineCheckerCanFail() {
        for line in ["SUBSYSTEM==usb", "ATTR{idVendor}==\"1050\" TAG+=\"uaccess\"", "GARBAGE", "KEY==\"a\",, MODE=\"0660\""] {
            withKnownIssue("\(line) is malformed") {
                _ = udevRuleLines(line + "\n")
            }
        }
    }

    @Test("--dry-run writes nothing and says what it would write")
    func dryRunWritesNothing() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        let result = try home.run(["setup", "--root", root.path, "--dry-run"])
        #expect(result.status == 0, "\(result)")
        #expect(root.contents().isEmpty, "\(root.contents())")
        #expect(result.stdout.contains("would write \(root.path)/\(RepositoryRules.udevInstallPath)"), "\(result)")
        #expect(result.stdout.contains("would write \(root.path)/\(RepositoryRules.polkitInstallPath)"), "\(result)")
        #expect(result.stdout.contains("would create directory \(root.path)/etc/udev/rules.d"), "\(result)")
        #expect(!result.stdout.contains("\nwrote ") && !result.stdout.hasPrefix("wrote "), "\(result)")

        // Over an installed rule with another group: still nothing changes.
        #expect(try home.run(["setup", "--root", root.path]).status == 0)
        let before = try root.read(RepositoryRules.udevInstallPath)
        let again = try home.run(["setup", "--root", root.path, "--group", "other", "--dry-run"])
        #expect(again.stdout.contains("would replace \(root.path)/\(RepositoryRules.udevInstallPath) (0644, group other)"), "\(again)")
        #expect(try root.read(RepositoryRules.udevInstallPath) == before)
    }

    @Test("Running setup again reports the files as up to date; another group replaces them")
    func rerun() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        #expect(try home.run(["setup", "--root", root.path]).status == 0)
        let again = try home.run(["setup", "--root", root.path])
        #expect(again.stdout.contains("\(root.path)/\(RepositoryRules.udevInstallPath) is already up to date (group latchkey)"), "\(again)")
        #expect(!again.stdout.contains("created directory"), "\(again)")
        let other = try home.run(["setup", "--root", root.path, "--group", "_keys-2"])
        #expect(other.stdout.contains("replaced \(root.path)/\(RepositoryRules.polkitInstallPath) (0644, group _keys-2)"), "\(other)")
        #expect(try root.read(RepositoryRules.polkitInstallPath).contains("isInGroup(\"_keys-2\")"))
    }

    @Test("A group in the root's etc/group is reported as existing, with the user to add")
    func existingGroup() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        try root.write("etc/group", "root:x:0:\nlatchkey:x:987:alice,bob\n")
        let result = try home.run(["setup", "--root", root.path], environment: ["SUDO_USER": "carol"])
        #expect(result.stdout.contains("group latchkey exists (gid 987); add each user of the key: `usermod --root \(root.path) -aG latchkey carol`"), "\(result)")
        let member = try home.run(["setup", "--root", root.path], environment: ["SUDO_USER": "bob"])
        #expect(member.stdout.contains("group latchkey exists (gid 987) and has bob in it"), "\(member)")
    }

    @Test("A bad group name is exit 6 with one line, and nothing is written", arguments: [
        "Latchkey", "1keys", "key users", "keys;rm", "ké", "-keys", String(repeating: "a", count: 33), "a\"b",
    ])
    func badGroupName(_ name: String) throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        // `--group=NAME`, so that a name starting with `-` reaches setup's check.
        let result = try home.run(["setup", "--root", root.path, "--group=\(name)"])
        #expect(result.status == Exit.invalidInput, "\(result)")
        #expect(result.stderr.contains("not a valid group name"), "\(result)")
        #expect(root.contents().isEmpty)
    }

    @Test("An empty --group is a usage error (swift-argument-parser's: a missing value)")
    func emptyGroupName() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        let result = try home.run(["setup", "--root", root.path, "--group="])
        #expect(result.status == Exit.usage, "\(result)")
        #expect(root.contents().isEmpty)
    }

    @Test("Group names at the edges of the rule are accepted")
    func goodGroupNames() throws {
        try requireBinary()
        let home = try TestHome()
        for name in ["_", "a", "a-b_c9", String(repeating: "z", count: 32)] {
            let root = try TestRoot()
            let result = try home.run(["setup", "--root", root.path, "--group", name])
            #expect(result.status == 0, "\(result)")
        }
    }

    @Test("A --root that is not a directory is exit 6")
    func missingRoot() throws {
        try requireBinary()
        let home = try TestHome()
        let result = try home.run(["setup", "--root", home.root + "/does-not-exist"])
        #expect(result.status == Exit.invalidInput, "\(result)")
    }

    @Test("setup with --root never runs udevadm, and a dry run on / only says it would")
    func rootNeverRunsUdevadm() throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        let fake = try FakeUdevadm()
        let path = ["PATH": fake.directory.path + ":/usr/bin:/bin"]

        let installed = try home.run(["setup", "--root", root.path], environment: path)
        #expect(installed.status == 0, "\(installed)")
        #expect(fake.calls.isEmpty, "udevadm ran: \(fake.calls)")
        #expect(installed.stdout.contains("udev left alone (--root is not /); on that system run `udevadm control --reload-rules && udevadm trigger --subsystem-match=usb --attr-match=idVendor=1050`"), "\(installed)")

        let dryRun = try home.run(["setup", "--dry-run"], environment: path)
        #expect(dryRun.status == 0, "\(dryRun)")
        #expect(fake.calls.isEmpty, "udevadm ran: \(fake.calls)")
        // Which it says depends on whether this machine has udevadm at a fixed path.
        #expect(
            dryRun.stdout.contains("would run udevadm control --reload-rules\nwould run udevadm trigger --subsystem-match=usb --attr-match=idVendor=1050\n")
                || dryRun.stdout.contains("udevadm not found: reload udev's rules with"), "\(dryRun)")
    }

    @Test("setup --root refuses a symbolic link on the way to a rule file (an image's etc -> /etc), writing nothing through it",
          arguments: ["etc", "etc/udev/rules.d", "etc/udev/rules.d/70-latchkey-yubikey.rules"])
    func rootSymlinks(_ linked: String) throws {
        try requireBinary()
        let home = try TestHome()
        let root = try TestRoot()
        let outside = try TemporaryDirectory("outside")
        try FileManager.default.createDirectory(atPath: root.path + "/" + (linked as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let target = linked.hasSuffix(".rules") ? outside.file("rules") : outside.path
        if linked.hasSuffix(".rules") { try writeBytes(target, Array("host file\n".utf8)) }
        #expect(symlink(target, root.path + "/" + linked) == 0)

        let result = try home.run(["setup", "--root", root.path])
        #expect(result.status == Exit.invalidInput, "\(result)")
        #expect(result.errorLine == "latchkey: \(root.path)/\(linked) is a symbolic link inside --root \(root.path): latchkey will not follow it (it may lead out of the image); replace it with a directory or file", "\(result)")
        let left = (try? FileManager.default.subpathsOfDirectory(atPath: outside.path)) ?? []
        #expect(left == (linked.hasSuffix(".rules") ? ["rules"] : []), "\(left)")
        if linked.hasSuffix(".rules") { #expect(try readBytes(target) == Array("host file\n".utf8)) }
    }

    @Test("A user who may not write below the root gets one line that says root is needed, exit 1",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func notAllowedToWrite() throws {
        try requireBinary()
        let root = try TestRoot()
        chmod(root.path, 0o755)  // root's, and not writable by nobody
        let result = try runProgram(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", latchkeyBinary, "setup", "--root", root.path],
            environment: ["PATH": "/usr/bin:/bin"], inheritEnvironment: false, timeout: runTimeout)
        #expect(result.status == Exit.failure, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(result.stderr == "latchkey: cannot create directory \(root.path)/etc: Permission denied: installing system rules needs root (`sudo latchkey setup`)\n", "\(result)")
        #expect(root.contents().isEmpty)
    }

    // MARK: - On / inside a private mount namespace

    /// Whether this process may bind-mount in a private mount namespace
    /// (root, and a kernel and container that allow `unshare -m`).
    static let canUnshare: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
        let probe = try? runProgram("/usr/bin/unshare", ["-m", "/bin/sh", "-c", "mount --bind /tmp /tmp"], timeout: 10)
        return probe?.status == 0
    }()

    /// ``canUnshare``, with the two rule directories already in the real
    /// /etc (what `udevadm test` needs to read them where udev looks).
    static let canBindMount: Bool =
        canUnshare && ["/etc/udev/rules.d", "/etc/polkit-1/rules.d"].allSatisfy({ FileManager.default.fileExists(atPath: $0) })

    /// Runs `command` (a shell command line) in a private mount namespace
    /// where /etc/udev/rules.d and /etc/polkit-1/rules.d are `udev` and
    /// `polkit`: what it writes there never reaches the real system.
    ///
    /// With `udevadm`, that fake is the one at setup's fixed paths: its
    /// directory over /usr/sbin (so /sbin/udevadm too), and its script over
    /// /usr/bin/udevadm where a real one is installed.
    ///
    /// Where the real /etc lacks either rule directory (no udev installed),
    /// a copy of /etc that has them is mounted over /etc first: a bind mount
    /// needs a mount point, and creating one would change the real /etc.
    static func inPrivateNamespace(
        udev: String, polkit: String, udevadm: FakeUdevadm? = nil, _ command: String, environment: [String: String] = [:]
    ) throws -> ProcessResult {
        let etc = try TemporaryDirectory("etc-copy")
        let fixedPaths = udevadm.map { fake in
            """
            if [ -e /usr/bin/udevadm ]; then mount --bind '\(fake.directory.file("udevadm"))' /usr/bin/udevadm; fi
            mount --bind '\(fake.directory.path)' /usr/sbin
            """
        } ?? ""
        let script = """
            set -e
            if [ ! -d /etc/udev/rules.d ] || [ ! -d /etc/polkit-1/rules.d ]; then
                cp -a /etc/. '\(etc.path)/' 2>/dev/null || true
                mkdir -p '\(etc.path)/udev/rules.d' '\(etc.path)/polkit-1/rules.d'
                mount --bind '\(etc.path)' /etc
            fi
            mount --bind '\(udev)' /etc/udev/rules.d
            mount --bind '\(polkit)' /etc/polkit-1/rules.d
            \(fixedPaths)
            \(command)
            """
        return try runProgram("/usr/bin/unshare", ["-m", "/bin/sh", "-c", script], environment: environment, timeout: 60)
    }

    @Test("On / setup installs into /etc, runs udevadm (from its fixed paths, not a PATH decoy) control then trigger, and prints the commands when udevadm fails",
          .enabled(if: canUnshare, "needs root and unshare -m (a private mount namespace keeps /etc untouched)"))
    func onTheRunningSystem() throws {
        try requireBinary()
        let udev = try TemporaryDirectory("udev-rules")
        let polkit = try TemporaryDirectory("polkit-rules")
        let fake = try FakeUdevadm()
        let decoy = try FakeUdevadm()
        let env = ["PATH": decoy.directory.path + ":/usr/bin:/bin", "SUDO_USER": ""]
        let result = try Self.inPrivateNamespace(
            udev: udev.path, polkit: polkit.path, udevadm: fake, "'\(latchkeyBinary)' setup --group root", environment: env)
        #expect(result.status == 0, "\(result)")
        #expect(decoy.calls.isEmpty, "the udevadm first in PATH ran: \(decoy.calls)")
        #expect(fake.calls == ["control --reload-rules", "trigger --subsystem-match=usb --attr-match=idVendor=1050"])
        #expect(result.stdout.contains("wrote /etc/udev/rules.d/70-latchkey-yubikey.rules (0644, group root)"), "\(result)")
        #expect(result.stdout.contains("group root exists (gid 0)"), "\(result)")
        #expect(result.stdout.hasSuffix("ran udevadm control --reload-rules\nran udevadm trigger --subsystem-match=usb --attr-match=idVendor=1050\n"), "\(result)")
        #expect(try String(contentsOfFile: udev.file("70-latchkey-yubikey.rules"), encoding: .utf8)
            == (try RepositoryRules.udevTemplate()).replacingOccurrences(of: RepositoryRules.placeholder, with: "root"))
        #expect(FileManager.default.fileExists(atPath: polkit.file("50-latchkey-pcscd.rules")))

        // udevd not running: the reload fails, trigger is not tried, the commands are printed.
        let failing = try FakeUdevadm(status: 1, message: "Failed to send reload request: No such file or directory")
        let failed = try Self.inPrivateNamespace(
            udev: udev.path, polkit: polkit.path, udevadm: failing, "'\(latchkeyBinary)' setup --group root",
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(failed.status == 0, "\(failed)")
        #expect(failing.calls == ["control --reload-rules"])
        #expect(failed.stdout.contains("udevadm control --reload-rules failed (exit 1: Failed to send reload request: No such file or directory); once udevd runs, run `udevadm control --reload-rules && udevadm trigger --subsystem-match=usb --attr-match=idVendor=1050`"), "\(failed)")
    }

    /// Runs `udevadm test` on a harmless device with `rules` as the only file
    /// in /etc/udev/rules.d; returns what udev said about that file.
    static func udevDiagnostics(for rules: String) throws -> (read: Bool, complaints: [String]) {
        let udev = try TemporaryDirectory("udev-verify")
        let polkit = try TemporaryDirectory("polkit-unused")
        try writeBytes(udev.file("70-latchkey-yubikey.rules"), Array(rules.utf8))
        let result = try inPrivateNamespace(
            udev: udev.path, polkit: polkit.path, "udevadm test --action=add /sys/class/mem/null 2>&1 || true")
        let file = "/etc/udev/rules.d/70-latchkey-yubikey.rules"
        let lines = result.stdout.split(separator: "\n").map(String.init)
        return (lines.contains("Reading rules file: \(file)"), lines.filter { $0.hasPrefix(file + ":") })
    }

    @Test("udevadm itself parses the installed rule without a complaint (and does complain about a broken one)",
          .enabled(if: canBindMount && FileManager.default.fileExists(atPath: "/sys/class/mem/null"),
                   "needs root, unshare -m and /sys/class/mem/null"))
    func udevadmParsesTheRule() throws {
        // Debian 12's udev (systemd 252) has no `udevadm verify` (systemd 253+):
        // `udevadm test` reads every rule file and names each line it rejects.
        let rules = (try RepositoryRules.udevTemplate()).replacingOccurrences(of: RepositoryRules.placeholder, with: "root")
        let good = try Self.udevDiagnostics(for: rules)
        #expect(good.read, "udevadm did not read the file")
        #expect(good.complaints.isEmpty, "\(good.complaints)")

        let broken = try Self.udevDiagnostics(for: rules.replacingOccurrences(of: "MODE=\"0660\"", with: "MODE==\"0660\""))
        #expect(broken.complaints.count == RepositoryRules.ccidProducts.count, "\(broken.complaints)")
    }

    @Test("The polkit rule, run by node with a stand-in polkit, says YES to exactly the two pcsc-lite actions for group members",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/node"), "needs node"))
    func polkitRuleDecides() throws {
        let rule = (try RepositoryRules.polkitTemplate()).replacingOccurrences(of: RepositoryRules.placeholder, with: "keyusers")
        let scratch = try TemporaryDirectory("polkit-js")
        try writeBytes(scratch.file("rule.js"), Array(rule.utf8))
        let harness = """
            const rules = [];
            global.polkit = { Result: { YES: "yes", NO: "no" }, addRule: (f) => rules.push(f) };
            eval(require("fs").readFileSync(process.argv[2], "utf8"));
            const decide = (id, groups) => {
                for (const rule of rules) {
                    const answer = rule({ id: id }, { isInGroup: (g) => groups.includes(g), user: "alice" });
                    if (answer !== undefined) return answer;
                }
                return "none";
            };
            const results = {};
            for (const id of ["org.debian.pcsc-lite.access_pcsc", "org.debian.pcsc-lite.access_card", "org.freedesktop.login1.reboot"]) {
                results[id] = { member: decide(id, ["users", "keyusers"]), other: decide(id, ["users"]) };
            }
            console.log(JSON.stringify({ count: rules.length, results: results }));
            """
        try writeBytes(scratch.file("harness.js"), Array(harness.utf8))
        let run = try runProgram("/usr/bin/node", [scratch.file("harness.js"), scratch.file("rule.js")], timeout: 30)
        #expect(run.status == 0, "\(run)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdoutBytes)) as? [String: Any]
        #expect(json?["count"] as? Int == 1)
        let results = json?["results"] as? [String: [String: String]]
        #expect(results?["org.debian.pcsc-lite.access_pcsc"] == ["member": "yes", "other": "none"])
        #expect(results?["org.debian.pcsc-lite.access_card"] == ["member": "yes", "other": "none"])
        #expect(results?["org.freedesktop.login1.reboot"] == ["member": "none", "other": "none"])
    }
}
