import SystemSupport

/// One `KEY op "value"` pair of a udev rule line, e.g. `ATTR{idVendor}=="1050"`.
public struct UdevPair: Equatable {
    public var key: String
    /// `==`, `!=`, `=`, `+=`, `-=` or `:=`.
    public var op: String
    public var value: String
}

/// udev rule files as udevd reads them (udev(7)): one rule a line, a
/// trailing backslash continues it, `#` starts a comment line, and a rule is
/// comma-separated `KEY op "value"` pairs.
public enum UdevRuleParser {
    /// The rule lines of a file: continuations joined, comments and blank
    /// lines left out.
    public static func ruleLines(_ text: String) -> [String] {
        var result: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(raw)
            while line.first == " " || line.first == "\t" { line.removeFirst() }
            if pending.isEmpty, line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast()
                continue
            }
            result.append(pending + line)
            pending = ""
        }
        if !pending.isEmpty { result.append(pending) }
        return result
    }

    /// The pairs of one rule line, or `nil` when it is not `KEY op "value"`
    /// pairs separated by commas.
    public static func pairs(_ line: String) -> [UdevPair]? {
        var rest = Substring(line)
        var pairs: [UdevPair] = []
        func skipBlanks() { while rest.first == " " || rest.first == "\t" { rest.removeFirst() } }
        skipBlanks()
        while !rest.isEmpty {
            // KEY or KEY{attribute}
            var key = ""
            while let c = rest.first, c.isLetter || c.isNumber || c == "_" { key.append(c); rest.removeFirst() }
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else { return nil }
                key += rest[...close]
                rest = rest[rest.index(after: close)...]
            }
            guard !key.isEmpty else { return nil }
            skipBlanks()
            guard let op = ["==", "!=", "+=", "-=", ":=", "="].first(where: { rest.hasPrefix($0) }) else { return nil }
            rest = rest.dropFirst(op.count)
            skipBlanks()
            guard rest.first == "\"" else { return nil }
            rest.removeFirst()
            var value = ""
            var closed = false
            while let c = rest.first {
                rest.removeFirst()
                if c == "\\", let next = rest.first {
                    value.append(next)
                    rest.removeFirst()
                } else if c == "\"" {
                    closed = true
                    break
                } else {
                    value.append(c)
                }
            }
            guard closed else { return nil }
            pairs.append(UdevPair(key: key, op: op, value: value))
            skipBlanks()
            if rest.first == "," {
                rest.removeFirst()
                skipBlanks()
                guard !rest.isEmpty else { return nil }
            } else if !rest.isEmpty {
                return nil
            }
        }
        return pairs
    }

    /// Whether `text` matches a udev pattern: alternatives separated by `|`,
    /// each with `*`, `?` and `[…]` as in shell globs.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        pattern.split(separator: "|", omittingEmptySubsequences: false).contains { glob(Array($0), Array(text)) }
    }

    private static func glob(_ pattern: [Character], _ text: [Character]) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        switch first {
        case "*":
            return (0...text.count).contains { glob(Array(pattern.dropFirst()), Array(text.dropFirst($0))) }
        case "?":
            return !text.isEmpty && glob(Array(pattern.dropFirst()), Array(text.dropFirst()))
        case "[":
            guard let close = pattern.firstIndex(of: "]"), close > 1, let char = text.first else { return false }
            var set = Array(pattern[1..<close])
            let negated = set.first == "!" || set.first == "^"
            if negated { set.removeFirst() }
            var found = false
            var index = 0
            while index < set.count {
                if index + 2 < set.count, set[index + 1] == "-" {
                    if set[index] <= char && char <= set[index + 2] { found = true }
                    index += 3
                } else {
                    if set[index] == char { found = true }
                    index += 1
                }
            }
            return found != negated && glob(Array(pattern[(close + 1)...]), Array(text.dropFirst()))
        default:
            return text.first == first && glob(Array(pattern.dropFirst()), Array(text.dropFirst()))
        }
    }
}

/// What the udev rule files below a root directory grant YubiKey CCID devices.
public struct UdevFindings {
    /// For each CCID product id, the groups that get read/write access
    /// (GROUP= with a MODE giving the group rw, or no MODE), and where.
    public var groupAccess: [String: [(group: String, file: String)]] = [:]
    /// Files with a rule tagging some of those devices `uaccess`.
    public var uaccessFiles: Set<String> = []
    /// The files that were read.
    public var filesRead = 0

    /// The directories udevd reads, highest priority first: a file in an
    /// earlier one hides a file of the same name in a later one.
    public static let directories = [
        "/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d", "/usr/lib/udev/rules.d",
        "/lib/udev/rules.d",
    ]

    /// The product ids of ``DeviceRules/ccidProductIDs`` that no rule gives a group.
    public var productsWithoutGroup: [String] {
        DeviceRules.ccidProductIDs.filter { (groupAccess[$0] ?? []).isEmpty }
    }

    /// The groups that every CCID product id is given to.
    public var groupsCoveringAll: [String] {
        let perProduct = DeviceRules.ccidProductIDs.map { Set((groupAccess[$0] ?? []).map(\.group)) }
        guard var common = perProduct.first else { return [] }
        for set in perProduct.dropFirst() { common.formIntersection(set) }
        return common.sorted()
    }

    public static func scan(root: String) -> UdevFindings {
        var findings = UdevFindings()
        for path in effectiveFiles(root: root, directories: directories) {
            guard let text = SystemFiles.readText(path) else { continue }
            findings.filesRead += 1
            guard text.contains(DeviceRules.vendorID) else { continue }
            for line in UdevRuleParser.ruleLines(text) {
                guard let pairs = UdevRuleParser.pairs(line) else { continue }
                findings.add(pairs, file: path)
            }
        }
        return findings
    }

    /// Records what one rule line grants, if it matches Yubico's vendor id.
    private mutating func add(_ pairs: [UdevPair], file: String) {
        let vendorKeys = ["ATTR{idVendor}", "ATTRS{idVendor}", "ENV{ID_VENDOR_ID}"]
        let productKeys = ["ATTR{idProduct}", "ATTRS{idProduct}", "ENV{ID_MODEL_ID}"]
        guard pairs.contains(where: { vendorKeys.contains($0.key) && $0.op == "==" && UdevRuleParser.matches($0.value, DeviceRules.vendorID) })
        else { return }
        let productPatterns = pairs.filter { productKeys.contains($0.key) && $0.op == "==" }.map(\.value)
        let products = DeviceRules.ccidProductIDs.filter { id in
            productPatterns.allSatisfy { UdevRuleParser.matches($0, id) }
        }
        guard !products.isEmpty else { return }
        if pairs.contains(where: { $0.key == "TAG" && $0.op == "+=" && $0.value == "uaccess" }) {
            uaccessFiles.insert(file)
        }
        let group = pairs.last { $0.key == "GROUP" && ($0.op == "=" || $0.op == ":=") }?.value
        // Without a MODE the node keeps udev's default for USB devices, 0664
        // (50-udev-default.rules), which lets the group read and write.
        let mode = pairs.last { $0.key == "MODE" && ($0.op == "=" || $0.op == ":=") }.map { UInt32($0.value, radix: 8) ?? 0 }
        guard let group, !group.isEmpty, (mode ?? 0o664) & 0o060 == 0o060 else { return }
        for product in products { groupAccess[product, default: []].append((group, file)) }
    }
}

/// What the polkit rule files below a root directory say about pcsc-lite's actions.
public struct PolkitFindings {
    /// Files that mention both pcsc-lite actions.
    public var files: [String] = []
    /// Groups those files test with `subject.isInGroup("…")`.
    public var groups: [String] = []
    /// Whether pcsc-lite's polkit policy (its two actions) is installed: when
    /// it is not, this pcscd was built without polkit and refuses nobody.
    public var pcscPolicyInstalled = false

    public static let directories = [
        "/etc/polkit-1/rules.d", "/run/polkit-1/rules.d", "/usr/local/share/polkit-1/rules.d",
        "/usr/share/polkit-1/rules.d",
    ]
    public static let policyFile = "/usr/share/polkit-1/actions/org.debian.pcsc-lite.policy"

    public static func scan(root: String) -> PolkitFindings {
        var findings = PolkitFindings()
        findings.pcscPolicyInstalled = PrivateFiles.exists(prefixed(root, policyFile))
        for path in effectiveFiles(root: root, directories: directories) {
            guard let text = SystemFiles.readText(path),
                DeviceRules.pcscActions.allSatisfy({ text.contains($0) })
            else { continue }
            findings.files.append(path)
            var rest = Substring(text)
            while let range = rest.firstRange(of: "isInGroup(") {
                rest = rest[range.upperBound...].drop { $0 == " " }
                guard let quote = rest.first, quote == "\"" || quote == "'" else { continue }
                let name = rest.dropFirst().prefix { $0 != quote }
                if !name.isEmpty, !findings.groups.contains(String(name)) { findings.groups.append(String(name)) }
            }
        }
        return findings
    }
}

/// `path` (absolute) below `root`.
public func prefixed(_ root: String, _ path: String) -> String {
    root == "/" ? path : root + path
}

/// The `.rules` files udevd or polkitd reads from `directories` below
/// `root`: by name, a file in an earlier directory hiding one of the same
/// name in a later one, and a link to /dev/null hiding it altogether.
private func effectiveFiles(root: String, directories: [String]) -> [String] {
    var chosen: [String: String] = [:]
    for directory in directories.reversed() {
        let full = prefixed(root, directory)
        for name in SystemFiles.names(in: full) where name.hasSuffix(".rules") && !name.hasPrefix(".") {
            chosen[name] = full + "/" + name
        }
    }
    return chosen.keys.sorted().compactMap { name in
        guard let path = chosen[name] else { return nil }
        return SystemFiles.linkTarget(path) == "/dev/null" ? nil : path
    }
}
