import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A group as the group database has it.
public struct GroupEntry: Equatable {
    public var name: String
    public var gid: UInt32
    /// The supplementary members listed in the entry (not users whose
    /// primary group it is).
    public var members: [String]
}

/// Where groups are looked up: the running system through NSS (`getgrnam`,
/// so LDAP and sssd groups count), or the `etc/group` file below another
/// root directory (an image or chroot that `--root` names).
public enum GroupDatabase {
    case system
    case groupFile(root: String)

    /// The database for a root directory: the system's for `/`.
    public init(root: String) {
        self = root == "/" ? .system : .groupFile(root: root)
    }

    /// The group named `name`, or `nil` when there is none.
    public func group(named name: String) -> GroupEntry? {
        switch self {
        case .system:
            guard let entry = getgrnam(name) else { return nil }
            var members: [String] = []
            var cursor = entry.pointee.gr_mem
            while let member = cursor?.pointee {
                members.append(String(cString: member))
                cursor = cursor.map { $0 + 1 }
            }
            return GroupEntry(name: name, gid: entry.pointee.gr_gid, members: members)
        case .groupFile(let root):
            // name:password:gid:member,member
            for line in (SystemFiles.readText(root + "/etc/group") ?? "").split(separator: "\n") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count >= 4, fields[0] == name, let gid = UInt32(fields[2]) else { continue }
                return GroupEntry(
                    name: name, gid: gid, members: fields[3].split(separator: ",").map(String.init))
            }
            return nil
        }
    }

    /// What `groupadd` / `usermod` need to act on this database: `--root DIR`
    /// for another root directory.
    public var commandRootOption: String {
        switch self {
        case .system: ""
        case .groupFile(let root): " --root \(shellQuoted(root))"
        }
    }
}

/// The user running latchkey.
public struct CurrentUser {
    public var name: String?
    public var uid: UInt32
    /// The groups this process has now (effective and supplementary): what a
    /// device node's permissions are checked against. A user added to a group
    /// has it only in sessions started afterwards.
    public var processGroups: Set<UInt32>

    public static var live: CurrentUser {
        let uid = getuid()
        let name = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        var groups = Set([getegid()])
        let count = getgroups(0, nil)
        if count > 0 {
            var list = [gid_t](repeating: 0, count: Int(count))
            let filled = getgroups(count, &list)
            if filled > 0 { groups.formUnion(list.prefix(Int(filled))) }
        }
        return CurrentUser(name: name, uid: uid, processGroups: groups)
    }

    /// Who should be added to the group: the user who ran `sudo`, else this
    /// user unless it is root, else a placeholder for the command line.
    public func userToAdd(environment: Environment) -> String {
        if let sudoUser = environment.nonEmpty("SUDO_USER"), sudoUser != "root" { return sudoUser }
        if let name, uid != 0 { return name }
        return "USER"
    }
}

/// `text` as one shell word: as is when it is plainly safe, else in single quotes.
public func shellQuoted(_ text: String) -> String {
    let safe = !text.isEmpty && text.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "/._-+=:,@".unicodeScalars.contains($0)
    }
    return safe ? text : "'" + text.replacing("'", with: "'\\''") + "'"
}

/// `text` cut to `limit` characters, control characters as `?`: for
/// echoing input or another program's output on one line.
public func printableName(_ text: String, limit: Int = 64) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
}
