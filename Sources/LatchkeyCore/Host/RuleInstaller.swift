import SystemSupport
import TPM

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `latchkey setup` does: writes the udev and polkit rules (0644,
/// missing directories 0755) below `root` for `group`, says whether the
/// group exists and how to create it and add users (it never changes
/// accounts itself), and on the running system asks udev to apply the new
/// rule. Each step is one line on standard output; `dryRun` changes nothing
/// and says what it would do.
public struct RuleInstaller {
    public var world: World
    /// An absolute directory (``resolve(root:)``); `/` is the running system.
    public var root: String
    public var group: String
    public var dryRun: Bool

    public init(world: World, root: String, group: String, dryRun: Bool) {
        self.world = world
        self.root = root
        self.group = group
        self.dryRun = dryRun
    }

    /// Where udevadm may be: setup runs as root, so a program that PATH (or
    /// sudo's secure_path gone wrong) would find elsewhere is never run.
    public static let udevadmPaths = ["/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm", "/usr/sbin/udevadm"]

    public static let udevReload = ["control", "--reload-rules"]
    public static let udevTrigger = ["trigger", "--subsystem-match=usb", "--attr-match=idVendor=\(DeviceRules.vendorID)"]

    public func run() throws {
        let user = CurrentUser.live
        let sudo = user.uid == 0 ? "" : "sudo "
        for rule in [DeviceRules.udevRule, DeviceRules.polkitRule] {
            try install(rule)
        }
        reportGroup(GroupDatabase(root: root), user: user, sudo: sudo)
        if root == "/" { reportTPM(user: user, sudo: sudo) }
        reloadUdev(sudo: sudo)
    }

    /// On the running system with a TPM: whether the user is in the group
    /// its device belongs to (Debian: /dev/tpmrm0, group tss), and the
    /// usermod line when not, for `--tpm`. Nothing is changed.
    private func reportTPM(user: CurrentUser, sudo: String) {
        guard let path = TPMConnection.standard(in: world.environment).devicePath else { return }
        guard let group = TPMChecks.deviceNode(path)?.group else { return }
        let member = user.userToAdd(environment: world.environment)
        if GroupDatabase.system.group(named: group)?.members.contains(member) == true {
            world.standardOutput("the TPM \(path) belongs to group \(group), which has \(member) in it\n")
        } else {
            world.standardOutput(
                "the TPM \(path) belongs to group \(group); for --tpm add each user: `\(sudo)usermod -aG \(group) \(member)` (it takes effect at their next login)\n")
        }
    }

    /// Writes one rule file below `root`, creating its directories, or says
    /// that it is already in place.
    private func install(_ rule: DeviceRules.RuleFile) throws {
        let path = (root == "/" ? "" : root) + "/" + rule.relativePath
        let bytes = Array(rule.text(group: group).utf8)
        if root != "/", let link = SystemFiles.firstSymbolicLink(from: root, to: path) {
            throw LatchkeyError(
                .invalidInput,
                "\(link) is a symbolic link inside --root \(root): latchkey will not follow it (it may lead out of the image); replace it with a directory or file")
        }
        do throws(SystemError) {
            for directory in SystemFiles.missingDirectories(for: path, below: root) {
                if !dryRun { try SystemFiles.makeDirectory(directory) }
                world.standardOutput("\(dryRun ? "would create" : "created") directory \(directory) (0755)\n")
            }
            let existing = try? PrivateFiles.read(path, limit: 1 << 20, followLinks: true)
            if existing == bytes, PrivateFiles.permissions(of: path) == 0o644 {
                world.standardOutput("\(path) is already up to date (group \(group))\n")
                return
            }
            if !dryRun { try SystemFiles.writeAtomically(path, bytes) }
            let action = dryRun ? (existing == nil ? "would write" : "would replace") : (existing == nil ? "wrote" : "replaced")
            world.standardOutput("\(action) \(path) (0644, group \(group))\n")
        } catch {
            throw Self.explained(error)
        }
    }

    /// A failure to write below the root, with the likely fix when it is a
    /// matter of permissions.
    private static func explained(_ error: SystemError) -> LatchkeyError {
        let permission = [Errno.accessDenied, Errno(rawValue: EPERM), Errno(rawValue: EROFS)].contains(error.errno)
        return LatchkeyError(.failure, permission ? "\(error): installing system rules needs root (`sudo latchkey setup`)" : "\(error)")
    }

    /// Says whether the group exists and how to create it and add users.
    private func reportGroup(_ database: GroupDatabase, user: CurrentUser, sudo: String) {
        let rootOption = database.commandRootOption
        let member = user.userToAdd(environment: world.environment)
        let addCommand = "\(sudo)usermod\(rootOption) -aG \(group) \(member)"
        guard let entry = database.group(named: group) else {
            world.standardOutput("group \(group) does not exist: create it with `\(sudo)groupadd\(rootOption) --system \(group)`\n")
            world.standardOutput("then add each user of the key: `\(addCommand)` (it takes effect at their next login)\n")
            return
        }
        if entry.members.contains(member) {
            world.standardOutput("group \(group) exists (gid \(entry.gid)) and has \(member) in it\n")
        } else {
            world.standardOutput("group \(group) exists (gid \(entry.gid)); add each user of the key: `\(addCommand)` (it takes effect at their next login)\n")
        }
    }

    /// Asks the running udev to reread its rules and apply them to YubiKeys
    /// already plugged in; only for the running system (`--root /`).
    private func reloadUdev(sudo: String) {
        let byHand = "`\(sudo)udevadm \(Self.udevReload.joined(separator: " ")) && \(sudo)udevadm \(Self.udevTrigger.joined(separator: " "))`"
        guard root == "/" else {
            world.standardOutput("udev left alone (--root is not /); on that system run \(byHand)\n")
            return
        }
        guard let udevadm = Self.udevadmPaths.first(where: SystemFiles.isExecutableFile).map(ExternalProgram.init(path:)) else {
            world.standardOutput("udevadm not found: reload udev's rules with \(byHand)\n")
            return
        }
        for arguments in [Self.udevReload, Self.udevTrigger] {
            let command = "udevadm \(arguments.joined(separator: " "))"
            if dryRun {
                world.standardOutput("would run \(command)\n")
            } else if let problem = Self.problem(running: udevadm, arguments, environment: world.environment) {
                world.standardOutput("\(command) failed (\(problem)); once udevd runs, run \(byHand)\n")
                return
            } else {
                world.standardOutput("ran \(command)\n")
            }
        }
    }

    /// Runs `program`; `nil` when it exits 0, else what went wrong in a few words.
    private static func problem(running program: ExternalProgram, _ arguments: [String], environment: Environment) -> String? {
        let outcome: ExternalProgram.Outcome
        do {
            outcome = try program.run(arguments, environment: environment)
        } catch {
            return "\(error)"
        }
        guard outcome.status != 0 else { return nil }
        let ending = outcome.timedOut ? "took too long" : outcome.status.map { "exit \($0)" } ?? "killed"
        return outcome.lastLine.isEmpty ? ending : "\(ending): \(printableName(outcome.lastLine, limit: 200))"
    }

    /// `root` as an absolute path without trailing slashes (`/` stays `/`);
    /// it must be an existing directory.
    public static func resolve(root: String) throws -> String {
        var path = root
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: 4096)
            guard getcwd(&buffer, buffer.count) != nil else {
                throw LatchkeyError(.failure, "cannot find the current directory to resolve --root \(root)")
            }
            path = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
        }
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        guard SystemFiles.isDirectory(path) else {
            throw LatchkeyError(.invalidInput, "--root \(printableName(root)) is not an existing directory")
        }
        return path
    }
}
