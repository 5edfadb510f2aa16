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

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        guard DeviceRules.isValidGroupName(group) else {
            throw LatchkeyError(
                .invalidInput,
                "\"\(printableName(group))\" is not a valid group name: use lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters")
        }
        let installer = RuleInstaller(world: world, root: try RuleInstaller.resolve(root: root), group: group, dryRun: dryRun)
        try installer.run()
    }
}
