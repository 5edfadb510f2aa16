import PCSC
import SystemSupport
import USB
import YubiKey

/// What pcscd said when `latchkey doctor` asked: the context, the readers,
/// and each reader's OATH applet (or why there is none). Gathered once, read
/// by several checks.
public struct PCSCFindings {
    /// Why `SCardEstablishContext` failed, or `nil` when it worked.
    public var establishError: PCSCError?
    /// Why listing the readers failed, or `nil`.
    public var readersError: PCSCError?
    public var readers: [String] = []
    /// One per reader, when there were readers to try.
    public var reports: [ReaderReport] = []

    public static func gather() -> PCSCFindings {
        var findings = PCSCFindings()
        let context: PCSCContext
        do {
            context = try PCSCContext()
        } catch {
            findings.establishError = error
            return findings
        }
        do {
            findings.readers = try context.readers()
        } catch {
            findings.readersError = error
            return findings
        }
        guard !findings.readers.isEmpty else { return findings }
        do {
            findings.reports = try KeyFinder.survey(context: context, listingAccounts: true)
        } catch {
            if case .pcsc(let inner) = error { findings.readersError = inner }
        }
        return findings
    }

    /// The PC/SC error a reader's connection failed with, if that is what failed.
    public static func connectError(_ report: ReaderReport) -> PCSCError? {
        if case .failure(.pcsc(let error)) = report.applet { return error }
        return nil
    }

    /// Readers whose card `SCardConnect` reached (the applet answered, or
    /// failed after the connection was made).
    public var connectedReaders: [String] {
        reports.filter { report in
            if case .failure(.pcsc) = report.applet { return false }
            return true
        }.map(\.reader)
    }
}

/// `SCardEstablishContext: Service not available (0x8010001D)`: the call,
/// pcsc-lite's words and the code, without ``PCSCError``'s advice (a check
/// gives its own fix).
public func shortText(_ error: PCSCError) -> String {
    let code = String(UInt32(truncatingIfNeeded: error.code), radix: 16, uppercase: true)
    return "\(error.function): \(error.libraryText) (0x\(code))"
}

/// The checks that talk to pcscd or read the machine's rule files and
/// processes. `root` is `/` except in tests (`doctor --root`).
public struct DeviceChecks {
    public var root: String
    public var pcsc: PCSCFindings
    public var user: CurrentUser
    public var environment: Environment

    public init(root: String, pcsc: PCSCFindings, user: CurrentUser, environment: Environment) {
        self.root = root
        self.pcsc = pcsc
        self.user = user
        self.environment = environment
    }

    public static let setupFix = "run `sudo latchkey setup`, add yourself to its group, and log in again"

    // MARK: - pcscd and polkit (real PC/SC calls)

    public func pcscd() -> DoctorCheck {
        let title = "pcscd reachable"
        guard let error = pcsc.establishError else {
            return .ok("pcscd", title, "pcscd answered SCardEstablishContext")
        }
        switch error.kind {
        case .securityViolation:
            return .ok("pcscd", title, "pcscd answered, and refused this process (see the polkit check)")
        case .noService:
            return .fail(
                "pcscd", title, "nothing answers on pcscd's socket [\(shortText(error))]",
                fix: "start pcscd: `sudo systemctl start pcscd.socket` (or `sudo pcscd`); install it with `sudo apt-get install pcscd` if it is missing")
        default:
            return .fail("pcscd", title, shortText(error), fix: "see pcscd's log: `journalctl -u pcscd`")
        }
    }

    public func polkit() -> DoctorCheck {
        let title = "polkit allows this user"
        if let error = pcsc.establishError {
            guard error.kind == .securityViolation else { return .skip("polkit", title, because: "pcscd is not reachable") }
            return .fail(
                "polkit", title, "pcscd's polkit policy refused access_pcsc to this process [\(shortText(error))]",
                fix: Self.setupFix)
        }
        let refused = pcsc.reports.filter { PCSCFindings.connectError($0)?.kind == .securityViolation }
        if let first = refused.first, let error = PCSCFindings.connectError(first) {
            return .fail(
                "polkit", title,
                "pcscd's polkit policy refused access_card for \(refused.map(\.reader).joined(separator: ", ")) [\(shortText(error))]",
                fix: Self.setupFix)
        }
        let connected = pcsc.connectedReaders
        if connected.isEmpty {
            return .ok("polkit", title, "access_pcsc allowed (access_card not tried: no card could be reached)")
        }
        return .ok("polkit", title, "access_pcsc allowed; access_card allowed for \(connected.joined(separator: ", "))")
    }

    public func readers() -> DoctorCheck {
        let title = "readers found"
        guard pcsc.establishError == nil else { return .skip("readers", title, because: "no connection to pcscd") }
        if let error = pcsc.readersError {
            return .fail("readers", title, shortText(error), fix: "see pcscd's log: `journalctl -u pcscd`")
        }
        guard !pcsc.readers.isEmpty else {
            return .fail(
                "readers", title, "pcscd sees no smart-card reader",
                fix: "plug in the YubiKey; if it is in, check that its CCID interface is on: `ykman config usb --list`")
        }
        return .ok("readers", title, "\(pcsc.readers.count): \(pcsc.readers.joined(separator: ", "))")
    }

    public func oathApplets() -> DoctorCheck {
        let title = "OATH applets found"
        guard pcsc.establishError == nil, pcsc.readersError == nil, !pcsc.readers.isEmpty else {
            return .skip("oath", title, because: "no reader to ask")
        }
        var found: [String] = []
        var problems: [String] = []
        for report in pcsc.reports {
            switch report.applet {
            case .success(let select):
                let password = select.isPasswordProtected ? "password-protected" : "no password"
                found.append("\(report.reader): OATH \(select.versionString), \(password)")
            case .failure(let error):
                let reason = PCSCFindings.connectError(report).map(shortText) ?? error.description
                problems.append("\(report.reader) (\(reason))")
            }
        }
        guard !found.isEmpty else {
            return .fail(
                "oath", title, "no OATH applet answered: \(problems.joined(separator: "; "))",
                fix: "insert the YubiKey; if it is in, check that its OATH application is on: `ykman config usb --list`")
        }
        return .ok("oath", title, found.joined(separator: "; "))
    }

    // MARK: - Other programs holding the key

    /// Programs that open YubiKeys through pcscd and may keep them to
    /// themselves (GnuPG's scdaemon without `pcsc-shared`; yubikey-agent).
    public static let exclusiveHolders = ["scdaemon", "yubikey-agent"]

    public func keyHolders() -> DoctorCheck {
        let title = "no other program holding the key"
        let busy = pcsc.reports.filter { PCSCFindings.connectError($0)?.kind == .sharingViolation }
        let processes = runningPrograms()
        let holders = (processes ?? []).filter { Self.exclusiveHolders.contains($0.name) }
        let holderText = holders.map { "\($0.name) (pid \($0.pid))" }.joined(separator: ", ")
        let fix = "`gpgconf --kill scdaemon` (or stop yubikey-agent); to keep scdaemon from taking the key, add `pcsc-shared` to ~/.gnupg/scdaemon.conf"
        if !busy.isEmpty {
            let who = holders.isEmpty ? "" : "; running: \(holderText)"
            return .fail(
                "key-holders", title,
                "another program holds \(busy.map(\.reader).joined(separator: ", ")) exclusively (SCardConnect: sharing violation)\(who)",
                fix: fix)
        }
        guard let processes else {
            return pcsc.reports.isEmpty
                ? .skip("key-holders", title, because: "\(prefixed(root, "/proc")) cannot be read and no reader was tried")
                : .ok("key-holders", title, "every reader could be opened (\(prefixed(root, "/proc")) cannot be read)")
        }
        let tried = pcsc.reports.isEmpty ? " (no reader was tried)" : ""
        if holders.isEmpty {
            let agents = processes.filter { $0.name == "gpg-agent" }
            let note = agents.isEmpty ? "" : "; gpg-agent (pid \(agents[0].pid)) may start scdaemon when GnuPG needs a card"
            return .ok("key-holders", title, "no scdaemon or yubikey-agent running\(note)\(tried)")
        }
        if holders.allSatisfy({ $0.name == "scdaemon" }), scdaemonSharesTheKey() {
            return .ok("key-holders", title, "\(holderText) running with pcsc-shared: it shares the key\(tried)")
        }
        return .warn("key-holders", title, "\(holderText) running: it may take the key for itself\(tried)", fix: fix)
    }

    /// The programs running, from `/proc/PID/comm`, or `nil` when `/proc`
    /// cannot be read.
    public func runningPrograms() -> [(pid: Int, name: String)]? {
        let proc = prefixed(root, "/proc")
        guard SystemFiles.isDirectory(proc) else { return nil }
        return SystemFiles.names(in: proc).compactMap { entry in
            guard let pid = Int(entry), let comm = SystemFiles.readText("\(proc)/\(entry)/comm", limit: 256) else {
                return nil
            }
            return (pid, String(comm.prefix { $0 != "\n" }))
        }
    }

    /// Whether the user's scdaemon.conf has `pcsc-shared` (GnuPG 2.2.28+ then
    /// opens the reader shared).
    private func scdaemonSharesTheKey() -> Bool {
        guard let home = environment.nonEmpty("GNUPGHOME") ?? environment.homeDirectory.map({ $0 + "/.gnupg" }),
            let text = SystemFiles.readText(home + "/scdaemon.conf")
        else { return false }
        return text.split(separator: "\n").contains { $0.split(separator: " ").first == "pcsc-shared" }
    }

    // MARK: - Rules and the group

    public func udevRule(_ udev: UdevFindings) -> DoctorCheck {
        let title = "udev rule for YubiKey CCID devices"
        let groups = udev.groupsCoveringAll
        if !groups.isEmpty {
            let files = Set(DeviceRules.ccidProductIDs.flatMap { (udev.groupAccess[$0] ?? []).map(\.file) }).sorted()
            return .ok("udev-rule", title, "group \(groups.joined(separator: ", ")) gets every CCID product id (\(files.joined(separator: ", ")))")
        }
        let missing = udev.productsWithoutGroup
        let desktop = udev.uaccessFiles.isEmpty ? "" : "; uaccess (desktop user only) in \(udev.uaccessFiles.sorted().joined(separator: ", "))"
        let partly = missing.count < DeviceRules.ccidProductIDs.count ? "some" : "no"
        return .fail(
            "udev-rule", title,
            "\(partly) rule gives a group read/write access to product ids \(missing.joined(separator: " ")) of vendor \(DeviceRules.vendorID) (\(udev.filesRead) rule files read\(desktop))",
            fix: Self.setupFix)
    }

    public func polkitRule(_ polkit: PolkitFindings) -> DoctorCheck {
        let title = "polkit rule for pcscd"
        if !polkit.files.isEmpty {
            let groups = polkit.groups.isEmpty ? "" : " for group \(polkit.groups.joined(separator: ", "))"
            return .ok("polkit-rule", title, "\(polkit.files.joined(separator: ", ")) grants access_pcsc and access_card\(groups)")
        }
        guard polkit.pcscPolicyInstalled else {
            return .warn(
                "polkit-rule", title,
                "none installed; not needed now: pcscd here has no polkit policy (\(prefixed(root, PolkitFindings.policyFile)) is absent), so it refuses nobody",
                fix: "run `sudo latchkey setup` so that a pcscd built with polkit will not refuse SSH sessions either")
        }
        return .fail(
            "polkit-rule", title,
            "no rule grants org.debian.pcsc-lite.access_pcsc and access_card: pcscd refuses SSH sessions, cron jobs and services",
            fix: Self.setupFix)
    }

    /// Whether this user is in the groups the installed rules name.
    public func groupMembership(_ udev: UdevFindings, _ polkit: PolkitFindings) -> DoctorCheck {
        let title = "this user in the rules' group"
        var groups = udev.groupsCoveringAll
        for group in polkit.groups where !groups.contains(group) { groups.append(group) }
        guard !groups.isEmpty else { return .skip("group", title, because: "no installed rule names a group") }
        let database = GroupDatabase(root: root)
        let name = user.name ?? "uid \(user.uid)"
        var fine: [String] = []
        for group in groups {
            guard let entry = database.group(named: group) else {
                return .fail(
                    "group", title, "group \(group), named by the installed rules, does not exist",
                    fix: "`sudo groupadd\(database.commandRootOption) --system \(group)`, then `sudo usermod\(database.commandRootOption) -aG \(group) \(name)` and log in again")
            }
            if user.uid == 0 {
                fine.append("\(group) exists; running as root, which needs no group")
                continue
            }
            let listed = entry.members.contains(name)
            let inSession: Bool
            switch database {
            case .system: inSession = user.processGroups.contains(entry.gid)
            case .groupFile: inSession = listed
            }
            if inSession {
                fine.append("\(name) is in \(group)")
            } else if listed {
                return .fail(
                    "group", title, "\(name) was added to group \(group) after this session started",
                    fix: "log in again (or run `newgrp \(group)`)")
            } else {
                return .fail(
                    "group", title, "\(name) is not in group \(group)",
                    fix: "`sudo usermod\(database.commandRootOption) -aG \(group) \(name)`, then log in again")
            }
        }
        return .ok("group", title, fine.joined(separator: "; "))
    }

    // MARK: - USB (libusb)

    /// Yubico devices on USB, and whether this user may open them: what the
    /// direct CCID transport needs, and what pcscd needs too (it opens the
    /// device as its own user, but a desktop session or SSH user running
    /// latchkey without pcscd needs the node).
    public func usbDevices(_ usb: Result<[USBKeyReport], USBError>) -> DoctorCheck {
        let title = "YubiKeys on USB, and this user may open them"
        let keys: [USBKeyReport]
        switch usb {
        case .failure(let error):
            return .warn(
                "usb", title, "USB not read, so no direct CCID (without pcscd): \(error)",
                fix: "install libusb: `sudo apt-get install libusb-1.0-0`")
        case .success(let found):
            keys = found
        }
        guard !keys.isEmpty else {
            if pcsc.reports.contains(where: { (try? $0.applet.get()) != nil }) {
                return .ok("usb", title, "no Yubico device on USB; the OATH key above is reached through pcscd only")
            }
            return .fail(
                "usb", title, "no Yubico device (vendor \(DeviceRules.vendorID)) on any USB bus",
                fix: "plug in the YubiKey; `lsusb -d \(DeviceRules.vendorID):` lists it once the machine sees it")
        }
        let described = keys.map(Self.describe).joined(separator: "; ")
        let withCCID = keys.filter(\.hasCCID)
        guard !withCCID.isEmpty else {
            return .fail(
                "usb", title, "\(described): no CCID interface, so no OATH applet can be reached",
                fix: "turn CCID on: `ykman config usb --enable CCID` (on a YubiKey NEO: `ykman config mode OTP+FIDO+CCID`)")
        }
        let refused = withCCID.filter { !$0.mayOpen }
        if let first = refused.first, case .failure(let error) = first.access {
            if error.kind == .access {
                return .fail(
                    "usb", title,
                    "\(described): this user may not open \(refused.map(\.device.nodePath).joined(separator: ", ")) (\(error))",
                    fix: Self.setupFix)
            }
            return .fail("usb", title, "\(described): \(error)", fix: "unplug the key and plug it in again")
        }
        let held = withCCID.filter { $0.claim.map(Self.isBusy) ?? false }
        if !held.isEmpty {
            return .fail(
                "usb", title,
                "\(described): another program has claimed the CCID interface of \(held.map(\.device.nodePath).joined(separator: ", ")) while pcscd has no reader for it, most likely GnuPG's scdaemon with its own CCID driver",
                fix: "`gpgconf --kill scdaemon`; to keep it from taking the key, add `disable-ccid` to ~/.gnupg/scdaemon.conf (it then goes through pcscd)")
        }
        let probed = withCCID.allSatisfy { $0.claim.map { (try? $0.get()) != nil } ?? false }
        return .ok("usb", title, described + (probed ? "; CCID interface free" : ""))
    }

    public static func isBusy(_ claim: Result<Void, USBError>) -> Bool {
        if case .failure(let error) = claim { return error.kind == .busy }
        return false
    }

    /// `YubiKey 4/5 OTP+FIDO+CCID (1050:0407) at /dev/bus/usb/001/004,
    /// interfaces OTP FIDO CCID, may open`.
    public static func describe(_ key: USBKeyReport) -> String {
        let interfaces = key.interfaces.isEmpty ? "no interfaces read" : "interfaces " + key.interfaces.map(\.rawValue).joined(separator: " ")
        let access: String
        switch key.access {
        case .success: access = "may open"
        case .failure(let error): access = error.kind == .access ? "may not open" : "cannot open (\(error))"
        }
        return "\(key.model) (\(key.device.idText)) at \(key.device.nodePath), \(interfaces), \(access)"
    }
}
