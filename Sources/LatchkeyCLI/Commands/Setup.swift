import LatchkeyCore
import ArgumentParser
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `latchkey setup`: installs the udev and polkit rules that let members of
/// a group use the key from SSH sessions, cron jobs and services.
///
/// It writes two files and, on the running system, asks udev to apply the
/// new rule. It never creates groups or changes users: account management
/// stays with the administrator's own tools (and sites whose groups live in
/// LDAP or sssd could not use `groupadd` anyway), so it prints those commands
/// instead.
struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install the udev and polkit rules that let a group use the key.",
        discussion: """
            Writes two files (0644, missing directories 0755), the group's name filled in:
              DIR/etc/udev/rules.d/70-latchkey-yubikey.rules
                  YubiKeys with CCID: uaccess for the desktop user, and the group
                  (mode 0660) for SSH sessions, cron jobs and services. The mode is
                  on the whole USB device: it reaches the OTP and FIDO interfaces
                  too. Desktop-only machines are better off with uaccess alone
                  (see udev/README.md).
              DIR/etc/polkit-1/rules.d/50-latchkey-pcscd.rules
                  pcscd's two polkit actions for the group
            On the running system (DIR is /) it then runs
              udevadm control --reload-rules
              udevadm trigger --subsystem-match=usb --attr-match=idVendor=1050
            or, when that cannot be done, prints those commands. udevadm is taken from
            /usr/bin, /bin, /sbin or /usr/sbin, never from PATH. It does not create the
            group or add users to it: it prints the groupadd and usermod commands.
            Below a --root other than /, a symbolic link on the way to either file is
            refused: an image's absolute links would lead into this system's /etc.

            Examples:
              sudo latchkey setup --dry-run
              sudo latchkey setup
              sudo latchkey setup --group yubikey-users
              latchkey setup --root /srv/image --group latchkey
            """)

    @Option(help: ArgumentHelp("The group whose members may use the key.", valueName: "name"))
    var group = DeviceRules.defaultGroup

    @Option(help: ArgumentHelp("Install below this directory instead of / (an image or a chroot); udev is left alone.", valueName: "dir"))
    var root = "/"

    @Flag(help: "Print what would be written and run, and change nothing.")
    var dryRun = false

    /// Where udevadm may be: setup runs as root, so a program that PATH (or
    /// sudo's secure_path gone wrong) would find elsewhere is never run.
    static let udevadmPaths = ["/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm", "/usr/sbin/udevadm"]

    static let udevReload = ["control", "--reload-rules"]
    static let udevTrigger = ["trigger", "--subsystem-match=usb", "--attr-match=idVendor=\(DeviceRules.vendorID)"]

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        guard DeviceRules.isValidGroupName(group) else {
            throw LatchkeyError(
                .invalidInput,
                "\"\(printableName(group))\" is not a valid group name: use lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters")
        }
        let root = try Self.resolve(root: root)
        let user = CurrentUser.live
        let sudo = user.uid == 0 ? "" : "sudo "
        for rule in [DeviceRules.udevRule, DeviceRules.polkitRule] {
            try install(rule, root: root, world: world)
        }
        reportGroup(GroupDatabase(root: root), user: user, sudo: sudo, world: world)
        reloadUdev(root: root, sudo: sudo, world: world)
    }

    /// Writes one rule file below `root`, creating its directories, or says
    /// that it is already in place.
    private func install(_ rule: DeviceRules.RuleFile, root: String, world: World) throws {
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
    private func reportGroup(_ database: GroupDatabase, user: CurrentUser, sudo: String, world: World) {
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
    private func reloadUdev(root: String, sudo: String, world: World) {
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
    static func resolve(root: String) throws -> String {
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
