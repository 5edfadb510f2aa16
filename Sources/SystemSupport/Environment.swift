#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process environment as a value, so commands and tests can pass their own.
///
/// The process's own (``process``) is read where it is asked: taking it
/// copies `environ`'s list of entries (pointers, not strings), and a lookup
/// compares names against those entries. No dictionary and no Swift string
/// is built for the dozens of variables a short run never asks about.
/// Later `setenv` and `unsetenv` calls do not show: they replace entries in
/// `environ`, and glibc never frees a string an entry pointed to, so the
/// copy stays as it was taken.
/// (musl frees strings its own `setenv` made when they are replaced;
/// latchkey calls `setenv` only in `exec`, just before it runs the command.)
public struct Environment: Sendable {
    private var storage: Storage

    private enum Storage: Sendable {
        case entries(ProcessEntries)
        case values([String: String])
    }

    public init(_ variables: [String: String]) { storage = .values(variables) }

    /// Every variable, by name.
    public var variables: [String: String] {
        get {
            switch storage {
            case .values(let values): values
            case .entries(let entries): entries.all()
            }
        }
        set { storage = .values(newValue) }
    }

    /// The environment this process was started with (as it is when this is
    /// first read).
    public static var process: Environment {
        Environment(storage: .entries(ProcessEntries()))
    }

    private init(storage: Storage) { self.storage = storage }

    /// An environment read from `entries` (`NAME=value` C strings that
    /// outlive it), as ``process`` reads `environ`'s.
    init(entries: [UnsafePointer<CChar>]) { storage = .entries(ProcessEntries(entries)) }

    public subscript(name: String) -> String? {
        get {
            switch storage {
            case .values(let values): values[name]
            case .entries(let entries): entries.value(of: name)
            }
        }
        set { variables[name] = newValue }
    }

    /// A variable's value when it is set and not empty.
    public func nonEmpty(_ name: String) -> String? {
        guard let value = self[name], !value.isEmpty else { return nil }
        return value
    }

    /// `$HOME`, or the passwd entry's home directory when `HOME` is unset.
    public var homeDirectory: String? {
        if let home = nonEmpty("HOME") { return home }
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    /// An XDG base directory: the variable when it holds an absolute path
    /// (relative values are ignored, as the XDG spec requires), else
    /// `$HOME/<fallback>`.
    public func xdgDirectory(_ variable: String, fallback: String) -> String? {
        if let value = nonEmpty(variable), value.hasPrefix("/") { return value }
        guard let home = homeDirectory else { return nil }
        return home + "/" + fallback
    }
}

extension Environment {
    /// Whether `name` is one of latchkey's own secret variables
    /// (`LATCHKEY_PASSPHRASE`, `LATCHKEY_OATH_PASSWORD`, a later
    /// `LATCHKEY_TPM_PIN`, …): never handed to another program.
    public static func isLatchkeySecret(_ name: String) -> Bool {
        guard name.hasPrefix("LATCHKEY_") else { return false }
        return ["PASSPHRASE", "PASSWORD", "PIN", "SECRET"].contains { name.contains($0) }
    }

    /// This environment as a child of latchkey's gets it: without
    /// latchkey's secret variables.
    public var forChild: Environment {
        Environment(variables.filter { !Environment.isLatchkeySecret($0.key) })
    }
}

/// The process's `environ` list as it was when taken: `NAME=value` C
/// strings that live as long as the process.
private struct ProcessEntries: @unchecked Sendable {
    // @unchecked: the strings are never written or freed (see Environment).
    private let entries: [UnsafePointer<CChar>]

    init() {
        var list: [UnsafePointer<CChar>] = []
        var cursor = environ
        while let entry = cursor.pointee {
            list.append(UnsafePointer(entry))
            cursor += 1
        }
        entries = list
    }

    init(_ entries: [UnsafePointer<CChar>]) { self.entries = entries }

    /// The value of the first entry named `name`, as getenv finds it.
    func value(of name: String) -> String? {
        guard !name.isEmpty, !name.utf8.contains(0x3D) else { return nil }
        var name = name
        return name.withUTF8 { wanted -> String? in
            for entry in entries {
                var index = 0
                while index < wanted.count, UInt8(bitPattern: entry[index]) == wanted[index] { index += 1 }
                if index == wanted.count, entry[index] == 0x3D {  // "="
                    return String(cString: entry + index + 1)
                }
            }
            return nil
        }
    }

    /// Every entry with an `=`, the first of a repeated name winning.
    func all() -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            let pair = String(cString: entry)
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals])
            if result[name] == nil { result[name] = String(pair[pair.index(after: equals)...]) }
        }
        return result
    }
}

/// This machine's name (`gethostname`), as a client names itself to the
/// agent; "unknown" when it has none.
public func currentHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "unknown" : name
}
